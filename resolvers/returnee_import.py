"""Imports a labour office's CSV of returnees row by row, with the same rules and audit trail as registerReturnee.

Columns (a header row names them, in any order; unknown columns are carried into the rejected-rows file):

    name, sex, date_of_birth, phone, national_id, province, district, commune, village,
    skills, experience, certifications, languages, education_level, available_from,
    preferred_provinces, returned_on, consent_to_search

- sex: FEMALE or MALE (also F/M, ស្រី/ប្រុស); province, preferred_provinces and education_level: the API's
  names, in any case, with spaces or hyphens for underscores ("Banteay Meanchey").
- dates: YYYY-MM-DD or DD/MM/YYYY.
- lists (skills, certifications, languages, preferred_provinces): values separated by ';'.
- experience: occupation:years:abroad|home entries separated by ';', e.g. 8153:3:abroad;7112:1:home.
- consent_to_search: yes or no (empty means no: a profile is shown to employers only with consent).

The file is read lazily, BATCH_SIZE rows per transaction, so memory stays flat however long the file is. A
batch's good rows are written together in a savepoint; should the database refuse one of them, each is written
again in a savepoint of its own, so a bad row never aborts or half-writes the others. A row whose phone or
national id is already registered (by an earlier import, or earlier in the same file) is skipped and
counted as a duplicate, so importing a file twice imports nothing twice.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TextIO, TypeVar

from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.audit import Actor
from db.engine import Database
from db.enums import EducationLevel, Province, Sex
from resolvers.errors import UserError
from resolvers.returnees import (
    ExperienceEntry,
    Registration,
    Taxonomy,
    conflict_of,
    find_conflicts,
    normalise,
    registered,
    validate_registration,
    write_registration,
    write_registrations,
)
from resolvers.validation import today_in_cambodia

COLUMNS = (
    "name",
    "sex",
    "date_of_birth",
    "phone",
    "national_id",
    "province",
    "district",
    "commune",
    "village",
    "skills",
    "experience",
    "certifications",
    "languages",
    "education_level",
    "available_from",
    "preferred_provinces",
    "returned_on",
    "consent_to_search",
)
REQUIRED_COLUMNS = ("name", "sex", "date_of_birth", "phone", "education_level", "available_from", "returned_on")
BATCH_SIZE = 500
SHOWN_REJECTIONS = 20
# The input field a user error names, as the CSV column that holds it.
COLUMN_OF_FIELD = {
    "dateOfBirth": "date_of_birth",
    "nationalId": "national_id",
    "educationLevel": "education_level",
    "availableFrom": "available_from",
    "preferredProvinces": "preferred_provinces",
    "returnedOn": "returned_on",
}
SEXES = {"f": Sex.FEMALE, "female": Sex.FEMALE, "ស្រី": Sex.FEMALE, "m": Sex.MALE, "male": Sex.MALE, "ប្រុស": Sex.MALE}
YES, NO = {"yes", "y", "true", "1", "បាទ", "ចាស"}, {"no", "n", "false", "0", "", "ទេ"}
E = TypeVar("E", bound=StrEnum)


def _duplicate(conflict: UserError) -> Outcome:
    return Outcome(duplicate_of=conflict.field[-1] if conflict.field else None)


class ImportFileError(Exception):
    """The file cannot be imported at all (e.g. a required column is missing); nothing was written."""


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    rejected: int = 0
    duplicate_national_id: int = 0
    duplicate_phone: int = 0
    first_rejections: list[Rejection] = field(default_factory=list)
    """Only the first SHOWN_REJECTIONS; every rejected row goes to the rejected-rows CSV."""

    @property
    def duplicates(self) -> int:
        return self.duplicate_national_id + self.duplicate_phone

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "rejected": self.rejected,
            "duplicates": {
                "total": self.duplicates,
                "byNationalId": self.duplicate_national_id,
                "byPhone": self.duplicate_phone,
            },
            "firstRejections": [{"line": r.line, "reason": r.reason} for r in self.first_rejections],
        }


@dataclass(frozen=True)
class Outcome:
    """What became of one row: imported, a duplicate of an existing returnee, or rejected with a reason."""

    duplicate_of: str | None = None
    reason: str | None = None


IMPORTED = Outcome()


def _cell(row: dict[str | None, Any], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _enum(kind: type[E], text: str) -> E:
    name = "_".join(text.replace("-", " ").split()).upper()
    if name not in kind.__members__:
        raise ValueError(f"{text!r} is not one of {', '.join(kind.__members__)}")
    return kind[name]


def _sex(text: str) -> Sex:
    if text.lower() not in SEXES:
        raise ValueError(f"{text!r} is not FEMALE or MALE")
    return SEXES[text.lower()]


def _consent(text: str) -> bool:
    if text.lower() not in YES | NO:
        raise ValueError(f"{text!r} is not yes or no")
    return text.lower() in YES


def _experience(text: str) -> list[ExperienceEntry]:
    entries = []
    for part in _list(text):
        pieces = [p.strip() for p in part.split(":")]
        if len(pieces) != 3 or not pieces[1].isdigit() or pieces[2].lower() not in ("abroad", "home"):
            raise ValueError(f"{part!r} is not occupation:years:abroad|home (e.g. 8153:3:abroad)")
        entries.append(ExperienceEntry(pieces[0], int(pieces[1]), pieces[2].lower() == "abroad"))
    return entries


def registration_of(row: dict[str | None, Any], province: Province | None) -> Registration | list[str]:
    """The registration a CSV row describes, or why its cells cannot be read (one reason per column)."""
    problems: list[str] = []

    def read(column: str, parse: Callable[[str], Any], default: Any = None) -> Any:
        text = _cell(row, column)
        if not text and default is not None:
            return default
        if not text and column in (*REQUIRED_COLUMNS, "province"):
            problems.append(f"{column}: missing")
            return None
        try:
            return parse(text)
        except ValueError as error:
            problems.append(f"{column}: {error}")
            return None

    values = {
        "sex": read("sex", _sex),
        "date_of_birth": read("date_of_birth", _date),
        "province": read("province", lambda t: _enum(Province, t), default=province),
        "education_level": read("education_level", lambda t: _enum(EducationLevel, t)),
        "available_from": read("available_from", _date),
        "returned_on": read("returned_on", _date),
        "experience": read("experience", _experience),
        "preferred_provinces": read("preferred_provinces", lambda t: [_enum(Province, p) for p in _list(t)]),
        "consent_to_search": read("consent_to_search", _consent),
    }
    if None in row:
        problems.append(f"the row has {len(row[None])} more cells than the header")
    if problems:
        return problems
    # Typed as `values` is: mypy checks the value type of a ** mapping against every parameter of Registration.
    text: dict[str, Any] = {c: _cell(row, c) or None for c in ("national_id", "district", "commune", "village")}
    lists: dict[str, Any] = {c: _list(_cell(row, c)) for c in ("skills", "certifications", "languages")}
    return Registration(name=_cell(row, "name"), phone=_cell(row, "phone"), **values, **text, **lists)


def reason_of(errors: list[UserError]) -> str:
    """User errors as one line a labour officer can act on, naming CSV columns instead of API fields."""
    parts = []
    for error in errors:
        name = error.field[1] if error.field and len(error.field) > 1 else None
        column = COLUMN_OF_FIELD.get(name or "", name)
        parts.append(f"{column}: {error.message}" if column else error.message)
    return "; ".join(parts)


class ReturneeImport:
    """One import: the checks every row shares, the running report, and the rejected-rows file."""

    def __init__(
        self, actor: Actor, province: Province | None, taxonomy: Taxonomy, rejected: csv.DictWriter[str] | None
    ) -> None:
        self.actor = actor
        self.province = province
        self.taxonomy = taxonomy
        self.today = today_in_cambodia()
        self.rejected = rejected
        self.report = ImportReport()

    def checked(self, row: dict[str | None, Any]) -> Registration | Outcome:
        """The registration a row holds, ready to write, or why it is rejected."""
        parsed = registration_of(row, self.province)
        if isinstance(parsed, list):
            return Outcome(reason="; ".join(parsed))
        registration = normalise(parsed)
        if self.province is not None and registration.province != self.province:
            return Outcome(reason=f"province: this import is for {self.province.value} only")
        if errors := validate_registration(registration, self.taxonomy, self.today):
            return Outcome(reason=reason_of(errors))
        return registration

    async def import_batch(self, session: AsyncSession, rows: list[dict[str | None, Any]]) -> list[Outcome]:
        """What becomes of each row, the good ones written together: one query finds the phones and national ids
        already registered (a row repeating an earlier row's is a duplicate too), one statement per table writes
        the rest, so the profiles' triggers run once a batch rather than once a row."""
        checked = [self.checked(row) for row in rows]
        registrations = [r for r in checked if isinstance(r, Registration)]
        held = await registered(session, registrations)
        outcomes: list[Registration | Outcome] = []
        for r in checked:
            if isinstance(r, Registration) and (conflicts := held.conflicts(r)):
                outcomes.append(_duplicate(conflicts[0]))
                continue
            if isinstance(r, Registration):
                held.hold(r)
            outcomes.append(r)
        if written := [r for r in outcomes if isinstance(r, Registration)]:
            try:
                async with session.begin_nested():
                    await write_registrations(session, self.actor, written, self.taxonomy, self.today)
            except (IntegrityError, DataError):
                # The database refused one of them (a phone registered in another province, hidden from an officer
                # by row-level security; a concurrent registration of the same person; a check the import does not
                # know of): the rows then go one by one, each in a savepoint of its own, so only the refused one is
                # lost and a later row that repeated its phone or national id is imported in its place.
                return [await self.write_one(session, r) if isinstance(r, Registration) else r for r in checked]
        return [IMPORTED if isinstance(outcome, Registration) else outcome for outcome in outcomes]

    async def write_one(self, session: AsyncSession, registration: Registration) -> Outcome:
        if conflicts := await find_conflicts(session, registration):
            return _duplicate(conflicts[0])
        try:
            async with session.begin_nested():
                await write_registration(session, self.actor, registration, self.taxonomy, self.today)
        except IntegrityError as error:
            # A concurrent registration of the same person won the race: a duplicate like any other.
            if (conflict := conflict_of(error)) is not None:
                return _duplicate(conflict)
            # A constraint the validation does not know of: the savepoint keeps it to this one row.
            return Outcome(reason=f"refused by the database: {error.orig}")
        except DataError as error:
            return Outcome(reason=f"refused by the database: {error.orig}")
        return IMPORTED

    def record(self, line: int, row: dict[str | None, Any], outcome: Outcome) -> None:
        if outcome.reason is not None:
            self.report.rejected += 1
            if len(self.report.first_rejections) < SHOWN_REJECTIONS:
                self.report.first_rejections.append(Rejection(line, outcome.reason))
            if self.rejected is not None:
                cells = {k: v for k, v in row.items() if k is not None}
                self.rejected.writerow({**cells, "line": line, "reason": outcome.reason})
        elif outcome.duplicate_of == "nationalId":
            self.report.duplicate_national_id += 1
        elif outcome.duplicate_of is not None:
            self.report.duplicate_phone += 1
        else:
            self.report.imported += 1


def _numbered_batches(reader: csv.DictReader[str], size: int) -> Iterator[list[tuple[int, dict[str | None, Any]]]]:
    """Rows with the line each ends on, `size` at a time, read only as each batch is needed."""
    rows = ((reader.line_num, row) for row in reader)
    while batch := list(itertools.islice(rows, size)):
        yield batch


async def import_returnees(
    db: Database,
    lines: Iterable[str],
    *,
    actor: Actor,
    province: Province | None = None,
    rejected: TextIO | None = None,
    on_batch: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Register every good row of a CSV; `lines` is consumed lazily, one batch of rows at a time."""
    reader = csv.DictReader(lines)
    header = [c.strip() for c in reader.fieldnames or []]
    required = REQUIRED_COLUMNS if province else (*REQUIRED_COLUMNS, "province")
    missing = [c for c in required if c not in header]
    if missing:
        raise ImportFileError(f"The file has no column {', '.join(missing)} (columns: {', '.join(COLUMNS)}).")
    reader.fieldnames = header
    writer = csv.DictWriter(rejected, [*header, "line", "reason"], extrasaction="ignore") if rejected else None
    if writer is not None:
        writer.writeheader()
    async with db.read() as session:
        taxonomy = await Taxonomy.load(session)
    run = ReturneeImport(actor, province, taxonomy, writer)
    for batch in _numbered_batches(reader, batch_size):
        async with db.write() as session:
            outcomes = await run.import_batch(session, [row for _, row in batch])
        # Counted once the batch has committed, so the report never counts a row that was rolled back.
        for (line, row), outcome in zip(batch, outcomes, strict=True):
            run.record(line, row, outcome)
        if on_batch is not None:
            on_batch(len(batch))
    return run.report
