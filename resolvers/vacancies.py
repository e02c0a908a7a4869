"""Vacancy use cases: list and read with tenant scoping, create (idempotently), update, publish, close."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from db.accounts import Employer
from db.audit import append_audit_event
from db.catalog import occupations_by_codes, skills_by_codes
from db.engine import Database
from db.enums import NSSF_BENEFITS, Province, Sector, VacancyStatus
from db.pagination import Page, newest_first
from db.vacancies import Vacancy, VacancySkill, readable_vacancies, writable_vacancies
from resolvers.errors import Forbidden, Rejected, UserError, UserErrorCode
from resolvers.validation import (
    check_money,
    check_text,
    field,
    invalid,
    request_digest,
    today_in_cambodia,
)
from resolvers.wages import textile_minimum_wage

# The editable fields of a vacancy, as the API names them in snake case.
EDITABLE = (
    "title",
    "occupation_code",
    "province",
    "workplace_address",
    "description",
    "positions",
    "required_skills",
    "contract_type",
    "wage_min_usd",
    "wage_max_usd",
    "hours_per_week",
    "start_date",
    "closing_date",
    "benefits",
)
REQUIRED = (
    "title",
    "occupation_code",
    "province",
    "description",
    "positions",
    "required_skills",
    "contract_type",
    "wage_min_usd",
    "benefits",
)
CAMEL = {name: name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:]) for name in EDITABLE}
CAMEL.update(wage_min_usd="wageMinUsd", wage_max_usd="wageMaxUsd")


def require_read(principal: Principal) -> None:
    if principal.is_ministry or principal.has_scope("vacancies:read"):
        return
    raise Forbidden("This operation needs the scope vacancies:read.")


def require_write(principal: Principal) -> UserError | None:
    if principal.is_ministry:
        return UserError(UserErrorCode.FORBIDDEN, "The ministry reads vacancies but does not change them.")
    if not principal.has_scope("vacancies:write"):
        return UserError(UserErrorCode.FORBIDDEN, "This operation needs the scope vacancies:write.")
    return None


async def list_vacancies(
    db: Database,
    principal: Principal,
    *,
    statuses: list[VacancyStatus] | None = None,
    sectors: list[Sector] | None = None,
    provinces: list[Province] | None = None,
    employer_id: uuid.UUID | None = None,
    text_query: str | None = None,
    first: int,
    after: str | None,
) -> Page[Vacancy]:
    require_read(principal)
    statement = readable_vacancies(principal.employer_id, is_ministry=principal.is_ministry)
    if statuses:
        statement = statement.where(Vacancy.status.in_(statuses))
    if sectors:
        statement = statement.where(Vacancy.sector.in_(sectors))
    if provinces:
        statement = statement.where(Vacancy.province.in_(provinces))
    if employer_id is not None:
        statement = statement.where(Vacancy.employer_id == employer_id)
    if text_query and text_query.strip():
        pattern = "%" + text_query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(or_(Vacancy.title.ilike(pattern), Vacancy.description.ilike(pattern)))
    async with db.read() as session:
        return await newest_first(session, statement, Vacancy.created_at, Vacancy.id, first=first, after=after)


async def get_vacancy(db: Database, principal: Principal, vacancy_id: uuid.UUID) -> Vacancy | None:
    require_read(principal)
    statement = readable_vacancies(principal.employer_id, is_ministry=principal.is_ministry)
    async with db.read() as session:
        return await session.scalar(statement.where(Vacancy.id == vacancy_id))


async def validate(session: AsyncSession, values: dict[str, Any], sector: Sector) -> list[UserError]:
    """Every rule a vacancy must satisfy, on the values it would have after the change."""
    errors = [
        e
        for e in (
            check_text(values.get("title"), "title", max_length=200, required=True),
            check_text(values.get("description"), "description", max_length=10_000, required=True),
            check_text(values.get("workplace_address"), "workplaceAddress", max_length=500, required=False),
            check_money(values.get("wage_min_usd"), "wageMinUsd"),
            check_money(values.get("wage_max_usd"), "wageMaxUsd"),
        )
        if e is not None
    ]
    for name in REQUIRED:
        if values.get(name) is None and not any(e.field == field(CAMEL[name]) for e in errors):
            errors.append(invalid(f"{CAMEL[name]} must not be null.", CAMEL[name]))
    positions = values.get("positions")
    if positions is not None and not 1 <= positions <= 10_000:
        errors.append(invalid("positions must be between 1 and 10,000.", "positions"))
    hours = values.get("hours_per_week")
    if hours is not None and not 1 <= hours <= 72:
        errors.append(invalid("hoursPerWeek must be between 1 and 72.", "hoursPerWeek"))
    wage_min, wage_max = values.get("wage_min_usd"), values.get("wage_max_usd")
    if wage_min is not None and wage_max is not None and wage_min.is_finite() and wage_max.is_finite():
        if wage_max < wage_min:
            errors.append(invalid("wageMaxUsd must not be less than wageMinUsd.", "wageMaxUsd"))
    start, closing = values.get("start_date"), values.get("closing_date")
    if start is not None and closing is not None and closing < start:
        errors.append(invalid("closingDate must not be before startDate.", "closingDate"))
    if sector == Sector.TEXTILE and wage_min is not None and wage_min.is_finite():
        year = (start or today_in_cambodia()).year
        minimum = textile_minimum_wage(year)
        if wage_min < minimum:
            errors.append(
                UserError(
                    UserErrorCode.BELOW_MINIMUM_WAGE,
                    f"The legal minimum wage for garment, footwear and travel-goods work in {year}"
                    f" is {minimum} US dollars a month.",
                    field("wageMinUsd"),
                )
            )
    code = values.get("occupation_code")
    if code is not None and code not in await occupations_by_codes(session, [code]):
        errors.append(invalid(f"There is no ISCO-08 occupation with code {code!r}.", "occupationCode"))
    skills = values.get("required_skills") or []
    known = await skills_by_codes(session, list(skills))
    for index, skill in enumerate(skills):
        if skill not in known:
            errors.append(invalid(f"There is no skill with code {skill!r}.", "requiredSkills", str(index)))
    return errors


def normalise(values: dict[str, Any]) -> dict[str, Any]:
    """Trim text, and always include the NSSF benefits every formal job carries."""
    out = dict(values)
    for name in ("title", "description", "workplace_address"):
        if isinstance(out.get(name), str):
            out[name] = out[name].strip() or None
    if out.get("benefits") is not None:
        out["benefits"] = list(dict.fromkeys([*NSSF_BENEFITS, *out["benefits"]]))
    return out


async def _set_skills(session: AsyncSession, vacancy_id: uuid.UUID, codes: list[str]) -> None:
    await session.execute(delete(VacancySkill).where(VacancySkill.vacancy_id == vacancy_id))
    session.add_all(VacancySkill(vacancy_id=vacancy_id, skill_code=code) for code in dict.fromkeys(codes))


def _audit_change(values: dict[str, Any]) -> dict[str, Any]:
    return {CAMEL[k]: (str(v) if v is not None else None) if not isinstance(v, list) else v for k, v in values.items()}


async def create_vacancy(
    db: Database, principal: Principal, values: dict[str, Any], idempotency_key: str | None
) -> Vacancy | list[UserError]:
    if (denied := require_write(principal)) is not None:
        return [denied]
    assert principal.employer_id is not None
    values = normalise(values)
    digest = request_digest(_audit_change(values))
    try:
        async with db.write() as session:
            if idempotency_key is not None:
                if earlier := await _earlier_create(session, principal.employer_id, idempotency_key, digest):
                    return earlier
            employer = await session.get(Employer, principal.employer_id)
            assert employer is not None
            if errors := await validate(session, values, employer.sector):
                return errors
            vacancy = Vacancy(
                employer_id=employer.id,
                sector=employer.sector,
                idempotency_key=idempotency_key,
                request_digest=digest if idempotency_key else None,
                **{k: v for k, v in values.items() if k != "required_skills"},
            )
            session.add(vacancy)
            await session.flush()
            await _set_skills(session, vacancy.id, values["required_skills"])
            await append_audit_event(
                session, principal.actor, "vacancy.created", "Vacancy", vacancy.id, _audit_change(values)
            )
            await session.refresh(vacancy)
            return vacancy
    except Rejected as rejected:
        return rejected.errors


async def _earlier_create(session: AsyncSession, employer_id: uuid.UUID, key: str, digest: str) -> Vacancy | None:
    """The vacancy an earlier request with this key created; the key is bound to that request's input."""
    # Serialises concurrent retries with one key, so exactly one of them creates the vacancy.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"vacancy:{employer_id}:{key}"}
    )
    earlier = await session.scalar(
        select(Vacancy).where(Vacancy.employer_id == employer_id, Vacancy.idempotency_key == key)
    )
    if earlier is not None and earlier.request_digest != digest:
        raise Rejected(
            UserError(
                UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was already used for a different vacancy.",
                field("idempotencyKey"),
            )
        )
    return earlier


async def _own_vacancy_for_update(session: AsyncSession, principal: Principal, vacancy_id: uuid.UUID) -> Vacancy:
    assert principal.employer_id is not None
    vacancy = await session.scalar(
        writable_vacancies(principal.employer_id).where(Vacancy.id == vacancy_id).with_for_update()
    )
    if vacancy is None:
        raise Rejected(UserError(UserErrorCode.NOT_FOUND, "No vacancy of yours has this id.", field("id")))
    return vacancy


async def update_vacancy(
    db: Database, principal: Principal, vacancy_id: uuid.UUID, changes: dict[str, Any]
) -> Vacancy | list[UserError]:
    if (denied := require_write(principal)) is not None:
        return [denied]
    changes = normalise(changes)
    try:
        async with db.write() as session:
            vacancy = await _own_vacancy_for_update(session, principal, vacancy_id)
            if vacancy.status not in (VacancyStatus.DRAFT, VacancyStatus.OPEN):
                raise Rejected(
                    UserError(UserErrorCode.INVALID_STATE, f"A {vacancy.status.value} vacancy cannot be changed.")
                )
            current = {name: getattr(vacancy, name) for name in EDITABLE if name != "required_skills"}
            current["required_skills"] = list(
                await session.scalars(select(VacancySkill.skill_code).where(VacancySkill.vacancy_id == vacancy.id))
            )
            if errors := await validate(session, {**current, **changes}, vacancy.sector):
                return errors
            if "positions" in changes and changes["positions"] < vacancy.positions_filled:
                return [invalid(f"{vacancy.positions_filled} positions are already filled.", "positions")]
            for name, value in changes.items():
                if name != "required_skills":
                    setattr(vacancy, name, value)
            if "required_skills" in changes:
                await _set_skills(session, vacancy.id, changes["required_skills"])
            vacancy.updated_at = func.now()
            await append_audit_event(
                session, principal.actor, "vacancy.updated", "Vacancy", vacancy.id, _audit_change(changes)
            )
            await session.flush()
            await session.refresh(vacancy)
            return vacancy
    except Rejected as rejected:
        return rejected.errors


async def publish_vacancy(db: Database, principal: Principal, vacancy_id: uuid.UUID) -> Vacancy | list[UserError]:
    return await _transition(db, principal, vacancy_id, (VacancyStatus.DRAFT,), VacancyStatus.OPEN, "published")


async def close_vacancy(db: Database, principal: Principal, vacancy_id: uuid.UUID) -> Vacancy | list[UserError]:
    return await _transition(
        db, principal, vacancy_id, (VacancyStatus.OPEN, VacancyStatus.FILLED), VacancyStatus.CLOSED, "closed"
    )


async def _transition(
    db: Database,
    principal: Principal,
    vacancy_id: uuid.UUID,
    allowed_from: tuple[VacancyStatus, ...],
    to: VacancyStatus,
    verb: str,
) -> Vacancy | list[UserError]:
    if (denied := require_write(principal)) is not None:
        return [denied]
    try:
        async with db.write() as session:
            vacancy = await _own_vacancy_for_update(session, principal, vacancy_id)
            if vacancy.status not in allowed_from:
                allowed = " or ".join(s.value for s in allowed_from)
                raise Rejected(
                    UserError(
                        UserErrorCode.INVALID_STATE,
                        f"Only a {allowed} vacancy can be {verb}; this one is {vacancy.status.value}.",
                    )
                )
            if to == VacancyStatus.OPEN:
                if vacancy.closing_date is not None and vacancy.closing_date < today_in_cambodia():
                    raise Rejected(invalid("The closing date has passed; change it before publishing.", "closingDate"))
                vacancy.published_at = datetime.now(UTC)
            vacancy.status = to
            vacancy.updated_at = func.now()
            await append_audit_event(
                session, principal.actor, f"vacancy.{verb}", "Vacancy", vacancy.id, {"status": to.value}
            )
            await session.flush()
            await session.refresh(vacancy)
            return vacancy
    except Rejected as rejected:
        return rejected.errors
