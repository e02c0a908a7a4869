"""GET /exports/hires.csv: every hire for the ministry's auditors, as streamed CSV Excel opens with Khmer intact."""

from __future__ import annotations

import csv
import enum
import io
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Row
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from auth.middleware import AuthenticationFailed, authenticate, unauthorized_response
from db.enums import HireStatus, Province, Sector
from db.hires import HireCriteria
from resolvers.audit import is_ministry_auditor
from resolvers.hires import hires_for_export
from resolvers.validation import PHNOM_PENH
from schema.common import to_global_id, uuid_of

# Excel reads a CSV file as the machine's legacy code page unless it starts with a UTF-8 byte order mark.
BOM = "\ufeff"
ROWS_PER_CHUNK = 500
# Column name, and the type whose global id a UUID column holds. No column names or reaches the returnee.
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("hire_id", "Hire"),
    ("employer_id", "Employer"),
    ("employer_name", None),
    ("vacancy_id", "Vacancy"),
    ("vacancy_title", None),
    ("occupation_code", None),
    ("occupation_name", None),
    ("occupation_name_km", None),
    ("province", None),
    ("sector", None),
    ("profile_id", "ReturneeProfile"),
    ("start_date", None),
    ("contract_type", None),
    ("monthly_wage_usd", None),
    ("nssf_number", None),
    ("status", None),
    ("recorded_by", None),
    ("recorded_at", None),
    ("ended_on", None),
    ("end_reason", None),
    ("voided_at", None),
    ("voided_by", None),
    ("void_reason", None),
)
# A cell starting with one of these is a formula to a spreadsheet; employers write titles and names.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


E = TypeVar("E", bound=enum.Enum)


class BadExportFilter(ValueError):
    pass


def _cell(value: Any, global_type: str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, uuid.UUID):
        return to_global_id(global_type, value) if global_type else str(value)
    if isinstance(value, datetime):
        return value.astimezone(PHNOM_PENH).isoformat(timespec="seconds")
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def csv_chunks(rows: AsyncIterator[Row[Any]]) -> AsyncIterator[bytes]:
    """The export as UTF-8 bytes: a byte order mark and header first, then rows a few hundred at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(name for name, _ in COLUMNS)
    count = 0
    async for row in rows:
        writer.writerow(_cell(value, global_type) for value, (_, global_type) in zip(row, COLUMNS, strict=True))
        count += 1
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _many(values: Iterable[str]) -> list[str]:
    """Repeated parameters, each of which may also be a comma-separated list."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _moment(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 date or time; without an offset it is Phnom Penh time, as an auditor there means it."""
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadExportFilter(f"{name} must be an ISO 8601 date or date and time, e.g. 2026-11-01.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=PHNOM_PENH)


def _enums(kind: type[E], values: Iterable[str], name: str) -> list[E]:
    try:
        return [kind(v.upper()) for v in _many(values)]
    except ValueError as exc:
        raise BadExportFilter(f"{name} takes {', '.join(m.value for m in kind)}.") from exc


def criteria_from(
    *,
    statuses: Iterable[str] = (),
    provinces: Iterable[str] = (),
    sectors: Iterable[str] = (),
    employer_id: str | None = None,
    recorded_from: str | None = None,
    recorded_to: str | None = None,
) -> HireCriteria:
    """The filters of the query string or the command line; the employer by its global id or its UUID."""
    employer = None
    if employer_id:
        employer = uuid_of(employer_id, "Employer")
        if employer is None:
            try:
                employer = uuid.UUID(employer_id)
            except ValueError as exc:
                raise BadExportFilter("employerId must be the id of an employer.") from exc
    return HireCriteria(
        statuses=_enums(HireStatus, statuses, "statuses"),
        employer_id=employer,
        provinces=_enums(Province, provinces, "provinces"),
        sectors=_enums(Sector, sectors, "sectors"),
        recorded_from=_moment(recorded_from, "recordedFrom"),
        recorded_to=_moment(recorded_to, "recordedTo"),
    )


def _error(message: str, code: str, status_code: int) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status_code)


async def export_hires(request: Request) -> Response:
    try:
        principal = await authenticate(request)
    except AuthenticationFailed as failure:
        return unauthorized_response(failure)
    if principal is None:
        return unauthorized_response(None)
    if not is_ministry_auditor(principal):
        return _error("The hire export is for the ministry's auditors (scope ministry:audit).", "FORBIDDEN", 403)
    query = request.query_params
    try:
        criteria = criteria_from(
            statuses=query.getlist("statuses"),
            provinces=query.getlist("provinces"),
            sectors=query.getlist("sectors"),
            employer_id=query.get("employerId"),
            recorded_from=query.get("recordedFrom"),
            recorded_to=query.get("recordedTo"),
        )
    except BadExportFilter as exc:
        return _error(str(exc), "BAD_USER_INPUT", 400)
    return StreamingResponse(
        csv_chunks(hires_for_export(request.app.state.db.for_principal(principal), criteria)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="hires.csv"', "Cache-Control": "no-store"},
    )


routes: list[BaseRoute] = [Route("/exports/hires.csv", export_hires, methods=["GET"])]
