"""Importing returnees from a labour office's CSV: the report, the rejected rows, re-runs, and reading lazily.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from db.audit import Actor, verify_chain
from db.caller import Caller
from db.engine import Database
from db.enums import Province
from resolvers.returnee_import import ImportFileError, ImportReport, Rejection, import_returnees
from resolvers.validation import today_in_cambodia
from tests.factories import Factory, statements_sent
from tests.test_search_bitmaps import _expected_bitmaps, _stored_bitmaps

TODAY = today_in_cambodia()
SOON, LATER = (TODAY + timedelta(days=10)).isoformat(), (TODAY + timedelta(days=40)).isoformat()
TOMORROW, FOURTEEN = (TODAY + timedelta(days=1)).isoformat(), TODAY.replace(year=TODAY.year - 14).isoformat()
OFFICER = Actor(name="cli:officer.battambang", employer_id=None)
HEADER = (
    "name,sex,date_of_birth,phone,national_id,province,district,commune,village,skills,experience,"
    "certifications,languages,education_level,available_from,preferred_provinces,returned_on,consent_to_search"
)
GOOD_ROWS = [
    # line 2: a woman back from a garment factory in Thailand, with farm work at home before
    f'សុខ ដារ៉ា,F,1990-04-12,012 345 678,010203040,Battambang,"Sangkae, Ta Pon",,,'
    f"textile.single-needle-sewing;textile.overlock,8153:3:abroad;9211:1:home,,km;th,lower secondary,{SOON},"
    "Phnom Penh;Kandal,2025-07-10,yes",
    # line 3: dates written the Cambodian way, no national id, no consent
    f"ចាន់ ធី,FEMALE,12/05/1985,+855 97 123 4567,,BATTAMBANG,,,,construction.bricklaying,7112:2:abroad,,km,"
    f"PRIMARY,{SOON},,01/08/2025,no",
    # line 4: the province cell left empty: the import's province fills it
    f"ហេង សុភាព,M,1975-01-01,085 111 222,020304050,,,,,agriculture.rice-cultivation,9211:10:home,,km,NONE,"
    f"{LATER},,2026-01-15,yes",
]
BAD_ROWS = [
    (5, "name", f",F,1990-01-01,011 000 001,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,yes"),
    (6, "phone", f"ឈឹម សុខា,F,1990-01-01,12 34,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,yes"),
    (7, "skills", f"លី វណ្ណៈ,M,1990-01-01,011 000 003,,BATTAMBANG,,,,textile.knitting,,,,PRIMARY,{SOON},,2025-07-01,"),
    (8, "experience", f"គឹម ពិសី,F,1990-01-01,011 000 004,,BATTAMBANG,,,,,9999:1:abroad,,,PRIMARY,{SOON},,2025-07-01,"),
    (9, "experience", f"ម៉ៅ រតនា,M,1990-01-01,011 000 005,,BATTAMBANG,,,,,8153-3-abroad,,,PRIMARY,{SOON},,2025-07-01,"),
    (10, "date_of_birth", f"ពេជ្រ ធារី,F,31/02/1990,011 000 006,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,"),
    (11, "date_of_birth", f"សេង បុប្ផា,F,{FOURTEEN},011 000 007,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,"),
    (12, "returned_on", f"ឡុង សំណាង,M,1990-01-01,011 000 008,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,{TOMORROW},"),
    (13, "province", f"ហ៊ុន មាលា,F,1990-01-01,011 000 009,,SIEM_REAP,,,,,,,,PRIMARY,{SOON},,2025-07-01,"),
    (14, "sex", f"ខៀវ ចន្ថា,,1990-01-01,011 000 010,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,"),
    (15, "consent_to_search", f"នួន សោភា,F,1990-01-01,011 000 011,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,maybe"),
]
DUPLICATE_ROWS = [
    # line 16: line 2's national id with another phone; line 17: line 3's phone written another way
    f"សុខ ដារ៉ា,F,1990-04-12,016 999 888,010203040,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-10,yes",
    f"ចាន់ ធី,F,1985-05-12,0971234567,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-08-01,no",
]
EXTRA_CELL_ROW = (
    18,
    "the row",
    f"ទេព ស្រីពៅ,F,1990-01-01,011 000 012,,BATTAMBANG,,,,,,,,PRIMARY,{SOON},,2025-07-01,yes,oops",
)
OFFICE_CSV = (
    "\n".join([HEADER, *GOOD_ROWS, *(row for _, _, row in BAD_ROWS), *DUPLICATE_ROWS, EXTRA_CELL_ROW[2]]) + "\n"
)
REJECTED = [(line, column) for line, column, _ in [*BAD_ROWS, EXTRA_CELL_ROW]]


async def run_import(db: Database, csv_text: str = OFFICE_CSV, **options: Any) -> tuple[ImportReport, str]:
    rejected = io.StringIO()
    report = await import_returnees(
        db, io.StringIO(csv_text), actor=OFFICER, province=Province.BATTAMBANG, rejected=rejected, **options
    )
    return report, rejected.getvalue()


def rejected_where(report: ImportReport) -> list[tuple[int, str]]:
    """(line, the column or problem the reason starts with) of each rejection shown."""
    return [(r.line, r.reason.split(":")[0].split(" has ")[0]) for r in report.first_rejections]


async def count(db: Database, sql: str) -> int:
    async with db.read() as session:
        return int(await session.scalar(text(sql)) or 0)


async def test_good_rows_are_imported_bad_ones_rejected_with_reasons_and_duplicates_skipped(db: Database) -> None:
    report, _ = await run_import(db)

    assert (report.imported, report.rejected, report.duplicate_national_id, report.duplicate_phone) == (3, 12, 1, 1)
    assert rejected_where(report) == REJECTED
    assert report.first_rejections[0] == Rejection(5, "name: name must not be empty.")
    assert Rejection(13, "province: this import is for BATTAMBANG only") in report.first_rejections
    assert Rejection(11, "date_of_birth: A returnee is registered from 15 to 70 years of age; this one is 14.") in (
        report.first_rejections
    )
    assert await count(db, "SELECT count(*) FROM returnee_identities") == 3


async def test_each_imported_row_is_registered_like_register_returnee_with_one_audit_event(db: Database) -> None:
    await run_import(db)

    assert await count(db, "SELECT count(*) FROM audit_events WHERE action = 'returnee.registered'") == 3
    assert await count(db, f"SELECT count(*) FROM audit_events WHERE actor = '{OFFICER.name}'") == 3
    assert await count(db, "SELECT count(*) FROM returnee_profiles WHERE province = 'BATTAMBANG'") == 3
    assert await count(db, "SELECT count(*) FROM returnee_profiles WHERE searchable") == 2
    assert await count(db, "SELECT count(*) FROM returnee_identities WHERE phone = '+855971234567'") == 1
    assert await count(db, "SELECT count(*) FROM profile_experience") == 4


async def test_the_rejected_rows_file_holds_each_original_row_with_its_line_and_reason(db: Database) -> None:
    report, rejected_csv = await run_import(db)

    rows = list(csv.DictReader(io.StringIO(rejected_csv)))
    assert list(rows[0]) == [*HEADER.split(","), "line", "reason"]
    assert [(int(r["line"]), r["reason"]) for r in rows] == [(r.line, r.reason) for r in report.first_rejections]
    assert (rows[1]["name"], rows[1]["phone"], rows[1]["consent_to_search"]) == ("ឈឹម សុខា", "12 34", "yes")


async def test_importing_the_same_file_twice_imports_nothing_twice(db: Database) -> None:
    await run_import(db)

    again, _ = await run_import(db)

    assert (again.imported, again.rejected, again.duplicates) == (0, 12, 5)
    assert (again.duplicate_national_id, again.duplicate_phone) == (3, 2)
    assert await count(db, "SELECT count(*) FROM returnee_identities") == 3
    assert await count(db, "SELECT count(*) FROM audit_events") == 3


async def test_a_file_without_a_required_column_is_refused_before_anything_is_written(db: Database) -> None:
    without_phone = OFFICE_CSV.replace(",phone,", ",telephone,", 1)

    with pytest.raises(ImportFileError, match="phone"):
        await run_import(db, without_phone)

    assert await count(db, "SELECT count(*) FROM returnee_identities") == 0


async def test_the_importer_reads_the_file_lazily_one_batch_at_a_time(db: Database) -> None:
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for n in range(51):
            consumed += 1
            yield (
                HEADER + "\n"
                if n == 0
                else f"ស {n},F,1990-01-01,011 {n:03d} 999,,,,,,,,,,PRIMARY,{SOON},,2025-07-01,\n"
            )

    seen_at_each_batch: list[int] = []

    report = await import_returnees(
        db,
        lines(),
        actor=OFFICER,
        province=Province.BATTAMBANG,
        batch_size=10,
        on_batch=lambda size: seen_at_each_batch.append(consumed),
    )

    # Each batch is imported having read only its own rows (and, first, the header): never the whole input.
    assert seen_at_each_batch == [11, 21, 31, 41, 51]
    assert report.imported == 50


def import_command(*args: str, database_url: str) -> Any:
    """`karngar import-returnees`, run in a thread of its own since it starts its own event loop."""
    return CliRunner().invoke(
        app, ["import-returnees", *args], env={"DATABASE_URL": database_url}, catch_exceptions=False
    )


async def test_the_command_prints_a_json_report_and_writes_the_rejected_rows(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    source, rejected = tmp_path / "battambang.csv", tmp_path / "rejected.csv"
    source.write_text(OFFICE_CSV, encoding="utf-8")
    args = [str(source), "--province", "battambang", "--registered-by", "officer.battambang"]

    result = await asyncio.to_thread(
        import_command, *args, "--rejected", str(rejected), "--json", database_url=database_url
    )

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["imported"], report["rejected"], report["duplicates"]) == (
        3,
        12,
        {"total": 2, "byNationalId": 1, "byPhone": 1},
    )
    assert [(r["line"], r["reason"].split(":")[0].split(" has ")[0]) for r in report["firstRejections"]] == REJECTED
    assert len(list(csv.DictReader(rejected.open(encoding="utf-8")))) == 12
    assert await count(db, "SELECT count(*) FROM audit_events WHERE actor = 'cli:officer.battambang'") == 3


async def test_the_command_prints_the_totals_and_the_first_rejections(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "battambang.csv"
    source.write_text(OFFICE_CSV, encoding="utf-8")

    result = await asyncio.to_thread(import_command, str(source), "--province", "BATTAMBANG", database_url=database_url)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Imported 3 returnees; rejected 12 rows; skipped 2 already registered (1 by national id, 1 by phone)."
    )
    assert lines[1] == "Rejected rows:"
    assert lines[2] == "  line 5: name: name must not be empty."
    assert len(lines) == 2 + 12


async def test_the_command_refuses_a_file_without_a_province_column_unless_given_one(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "no-province.csv"
    source.write_text(OFFICE_CSV.replace(",province,", ",province_name,", 1), encoding="utf-8")

    result = await asyncio.to_thread(import_command, str(source), database_url=database_url)

    assert result.exit_code == 2
    assert "province" in result.stderr


async def test_as_an_officer_under_row_level_security_a_returnee_of_another_province_is_still_a_duplicate(
    db: Database, make: Factory
) -> None:
    """The web client imports as the officer: identities of other provinces are invisible to it, yet the
    unique phone still makes line 2 a duplicate (not an error). Line 16 (line 2's national id, another phone)
    then imports, as line 2 did not."""
    await make.profile(province=Province.SIEM_REAP, phone="+85512345678")
    officer = db.for_caller(Caller("officer", province=Province.BATTAMBANG.value))

    report, _ = await run_import(officer)

    assert (report.imported, report.rejected, report.duplicate_national_id, report.duplicate_phone) == (3, 12, 0, 2)
    async with officer.read() as session:
        provinces = (await session.scalars(text("SELECT DISTINCT province::text FROM returnee_identities"))).all()
    assert provinces == ["BATTAMBANG"]  # the Siem Reap returnee stays out of the officer's sight
    assert await count(db, "SELECT count(*) FROM returnee_identities") == 1 + 3


def office_rows(first: int, count: int) -> str:
    """`count` good rows for Battambang, numbered from `first`: varied skills, work, schooling and wishes."""
    skills = ["textile.overlock", "construction.welding", "agriculture.rice-cultivation", "textile.ironing"]
    work = ["8153:3:abroad", "7112:1:home", "9211:10:home"]
    places = ["Kandal", "Phnom Penh;Siem Reap", ""]
    rows = [HEADER]
    for n in range(first, first + count):
        rows.append(
            f"ស {n},{'FM'[n % 2]},19{60 + n % 40}-01-0{1 + n % 9},011 {n:03d} 777,{700_000_000 + n},,,,,"
            f"{';'.join(skills[n % 4 : n % 4 + 1 + n % 2])},{work[n % 3]},,km,{['PRIMARY', 'NONE'][n % 2]},"
            f"{SOON if n % 3 else LATER},{places[n % 3]},2025-0{1 + n % 9}-15,{'yes' if n % 5 else 'no'}"
        )
    return "\n".join(rows) + "\n"


async def test_a_batch_of_rows_is_written_in_as_many_statements_as_one_row_and_keeps_the_search_bitmaps(
    db: Database,
) -> None:
    """The good rows of a batch go in one INSERT per table, so the profiles' statement triggers (postings, group
    counts, search bitmaps) run once a batch: an import of 30 rows in one batch sends what an import of one does."""
    with statements_sent(db) as for_one:
        one, _ = await run_import(db, office_rows(0, 1))
    with statements_sent(db) as for_thirty:
        thirty, _ = await run_import(db, office_rows(1, 30))

    assert (one.imported, thirty.imported, one.rejected + thirty.rejected) == (1, 30, 0)
    assert len(for_thirty) == len(for_one), for_thirty
    assert await count(db, "SELECT count(*) FROM profile_experience") == 31
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)
    async with db.read() as session:
        chain = await verify_chain(session)
    assert (chain.ok, chain.events_checked) == (True, 31)
