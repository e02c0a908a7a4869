"""The ministry's CSV export of hires: its content, Khmer intact for Excel, filters, and who may download it.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from db.engine import Database
from db.enums import Province, Role, Sector
from schema.common import to_global_id, uuid_of
from tests.factories import Caller, Factory, accepted
from tests.test_hires import END, TODAY, VOID, hire, log_in
from tests.test_vacancies import CONSTRUCTION_JOB, open_vacancy

EXPORT = "/exports/hires.csv"
KHMER_EMPLOYER = "រោងចក្រកាត់ដេរ អង្គរ ឯ.ក"
KARNGAR = Path(sys.executable).with_name("karngar")


async def download(make: Factory, caller: Caller | None, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {caller.token}"} if caller else {}
    return await make.http.get(EXPORT, params=params, headers=headers)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode()), response.content[:10]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def ids(make: Factory, caller: Caller, **params: Any) -> list[str]:
    return [row["hire_id"] for row in rows_of(await download(make, caller, **params))]


# Content


async def test_the_export_names_employer_vacancy_and_occupation_in_khmer_but_never_the_returnee(
    make: Factory,
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE, name=KHMER_EMPLOYER, province=Province.KAMPONG_SPEU)
    vacancy = await open_vacancy(make, employer, title="ជាងដេរ Sewing operator", province="KAMPONG_SPEU")
    returnee = await make.profile(name="សុខ ដារ៉ា", phone="+85517654321")
    recorded = await hire(make, employer, vacancy, returnee, monthlyWageUsd="235.5")

    response = await download(make, await make.caller(None))

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    (row,) = rows_of(response)
    assert row | {"recorded_at": ""} == {
        "hire_id": recorded["id"],
        "employer_id": to_global_id("Employer", employer.employer.id),  # type: ignore[union-attr]
        "employer_name": KHMER_EMPLOYER,
        "vacancy_id": vacancy["id"],
        "vacancy_title": "ជាងដេរ Sewing operator",
        "occupation_code": "8153",
        "occupation_name": "Sewing machine operators",
        "occupation_name_km": "កម្មករដេរម៉ាស៊ីន",
        "province": "KAMPONG_SPEU",
        "sector": "TEXTILE",
        "profile_id": to_global_id("ReturneeProfile", returnee),
        "start_date": TODAY.isoformat(),
        "contract_type": "FIXED_TERM",
        "monthly_wage_usd": "235.50",
        "nssf_number": "1234567890",
        "status": "ACTIVE",
        "recorded_by": f"client:{employer.client_id}",
        "recorded_at": "",
        "ended_on": "",
        "end_reason": "",
        "voided_at": "",
        "voided_by": "",
        "void_reason": "",
    }
    assert row["recorded_at"].endswith("+07:00")
    assert "សុខ ដារ៉ា" not in response.text and "17654321" not in response.text


async def test_a_voided_hire_carries_who_voided_it_and_why(make: Factory) -> None:
    employer, auditor = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    recorded = await hire(make, employer, await open_vacancy(make, employer), await make.profile())
    await accepted(make, auditor, VOID, {"id": recorded["id"], "reason": "Worker never started, ខុស"})

    (row,) = rows_of(await download(make, auditor))

    assert (row["status"], row["void_reason"]) == ("VOIDED", "Worker never started, ខុស")
    assert row["voided_by"] == f"client:{auditor.client_id}" and row["voided_at"]


async def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_defused(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, title='=HYPERLINK("http://evil.example","Click")')
    await hire(make, employer, vacancy, await make.profile())

    (row,) = rows_of(await download(make, await make.caller(None)))

    assert row["vacancy_title"] == '\'=HYPERLINK("http://evil.example","Click")'


async def test_thousands_of_hires_stream_out_in_the_order_they_were_recorded(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=2500)
    await _many_hires(db, vacancy["id"], 2100)

    exported = rows_of(await download(make, await make.caller(None)))

    assert len(exported) == 2100
    assert [r["recorded_at"] for r in exported] == sorted(r["recorded_at"] for r in exported)


# Filters


async def test_every_filter_narrows_the_export(make: Factory) -> None:
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    kandal = await open_vacancy(make, textile, positions=3, province="KANDAL")
    takeo = await open_vacancy(make, construction, province="TAKEO", **CONSTRUCTION_JOB)
    first = await hire(make, textile, kandal, await make.profile())
    second = await hire(make, construction, takeo, await make.profile(), monthlyWageUsd="180.00")
    third = await hire(make, textile, kandal, await make.profile())
    await accepted(make, textile, END, {"id": third["id"], "endedOn": TODAY.isoformat()})
    auditor = await make.caller(None)
    construction_id = to_global_id("Employer", construction.employer.id)  # type: ignore[union-attr]

    found = {
        "all": await ids(make, auditor),
        "statuses": await ids(make, auditor, statuses="ENDED,VOIDED"),
        "provinces": await ids(make, auditor, provinces=["TAKEO", "KAMPOT"]),
        "sectors": await ids(make, auditor, sectors="textile"),
        "employer": await ids(make, auditor, employerId=construction_id),
        "from": await ids(make, auditor, recordedFrom=second["recordedAt"]),
        "to": await ids(make, auditor, recordedTo=second["recordedAt"]),
    }

    assert found == {
        "all": [first["id"], second["id"], third["id"]],
        "statuses": [third["id"]],
        "provinces": [second["id"]],
        "sectors": [first["id"], third["id"]],
        "employer": [second["id"]],
        "from": [second["id"], third["id"]],
        "to": [first["id"]],
    }


async def test_a_filter_that_makes_no_sense_is_a_400(make: Factory) -> None:
    auditor = await make.caller(None)

    responses = [
        await download(make, auditor, statuses="FIRED"),
        await download(make, auditor, recordedFrom="last tuesday"),
        await download(make, auditor, employerId="garbage"),
    ]

    assert [r.status_code for r in responses] == [400, 400, 400]
    assert "ACTIVE" in responses[0].json()["errors"][0]["message"]


# Who may download it


async def test_only_ministry_auditors_download_the_export(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    officer_client = await make.caller(None, scopes=["returnees:write"])

    anonymous = await download(make, None)
    bad_token = await make.http.get(EXPORT, headers={"Authorization": "Bearer not-a-token"})
    statuses = [(await download(make, c)).status_code for c in (employer, officer_client)]

    assert (anonymous.status_code, bad_token.status_code) == (401, 401)
    assert "Bearer" in anonymous.headers["www-authenticate"]
    assert statuses == [403, 403]


async def test_an_auditor_downloads_with_a_web_session_and_an_officer_may_not(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    await hire(make, employer, await open_vacancy(make, employer), await make.profile())

    await log_in(make, Role.PROVINCIAL_OFFICER, Province.BATTAMBANG)
    by_officer = await download(make, None)
    await log_in(make, Role.MINISTRY_AUDITOR)
    by_auditor = await download(make, None)

    assert by_officer.status_code == 403
    assert len(rows_of(by_auditor)) == 1


# The command line


async def test_karngar_export_hires_writes_what_the_endpoint_serves(
    make: Factory, database_url: str, tmp_path: Path
) -> None:
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    await hire(make, textile, await open_vacancy(make, textile, province="KANDAL"), await make.profile())
    takeo = await open_vacancy(make, construction, province="TAKEO", **CONSTRUCTION_JOB)
    await hire(make, construction, takeo, await make.profile(), monthlyWageUsd="180.00")
    output = tmp_path / "hires.csv"

    process = await asyncio.create_subprocess_exec(
        str(KARNGAR),
        "export-hires",
        "--output",
        str(output),
        "--province",
        "TAKEO",
        env={"DATABASE_URL": database_url, "PATH": str(KARNGAR.parent)},
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await process.communicate()

    assert process.returncode == 0, errors.decode()
    served = await download(make, await make.caller(None), provinces="TAKEO")
    assert output.read_bytes() == served.content


async def _many_hires(db: Database, vacancy_id: str, count: int) -> None:
    """`count` returnees hired into one vacancy, written straight to the tables (the API is tested elsewhere)."""
    async with db.write() as session:
        await session.execute(
            text(
                """
                WITH i AS (
                    INSERT INTO returnee_identities (name, sex, date_of_birth, phone, province, returned_on,
                        consent_to_search, registered_by)
                    SELECT 'Returnee ' || n, 'FEMALE', '1990-01-01', '+855' || (10000000 + n), 'KANDAL',
                        '2026-01-10', true, 'test'
                    FROM generate_series(1, :count) n RETURNING id
                ), p AS (
                    INSERT INTO returnee_profiles (identity_id, age_band, sex, province, return_month,
                        education_level, available_from, searchable)
                    SELECT id, 'AGE_25_34', 'FEMALE', 'KANDAL', '2026-01-01', 'PRIMARY', '2026-02-01', true FROM i
                    RETURNING id
                ), h AS (
                    INSERT INTO hires (employer_id, vacancy_id, profile_id, start_date, contract_type,
                        monthly_wage_usd, recorded_by, recorded_at)
                    SELECT v.employer_id, v.id, p.id, current_date, 'PERMANENT', 230,
                        'test', now() - make_interval(secs => row_number() OVER ())
                    FROM p, vacancies v WHERE v.id = :vacancy RETURNING 1
                )
                SELECT count(*) FROM h
                """
            ),
            {"count": count, "vacancy": uuid_of(vacancy_id, "Vacancy")},
        )
