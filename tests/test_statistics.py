"""Placement statistics: exact counts of ACTIVE and ENDED hires by province, sector and start month.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from db.engine import Database
from db.enums import Sector
from tests.factories import Caller, Factory, accepted, payload, send
from tests.test_hires import END, RECORD, TODAY, VOID, hire, hire_input
from tests.test_vacancies import CONSTRUCTION_JOB, UPDATE, open_vacancy

STATISTICS = """
query($groupBy: [PlacementDimension!]!, $filter: PlacementFilter) {
  placementStatistics(groupBy: $groupBy, filter: $filter) { total rows { province sector month count } }
}
"""
# The same counts straight from the hires, to hold the maintained counts against.
FROM_HIRES = """
SELECT v.province::text AS province, v.sector::text AS sector, to_char(h.start_date, 'YYYY-MM') AS month,
       count(*) AS count
FROM hires h JOIN vacancies v ON v.id = h.vacancy_id
WHERE h.status <> 'VOIDED' {employer}
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""


async def statistics(make: Factory, caller: Caller | None, group_by: list[str], **filter: Any) -> dict[str, Any]:
    variables = {"groupBy": group_by, "filter": filter or None}
    return payload(await make.graphql(caller, STATISTICS, variables))  # type: ignore[no-any-return]


def month(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def days(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


async def counted_from_hires(db: Database, employer_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    where = "AND h.employer_id = :employer" if employer_id else ""
    async with db.read() as session:
        rows = await session.execute(text(FROM_HIRES.format(employer=where)), {"employer": employer_id})
        return [dict(row._mapping) for row in rows]


@dataclass
class Mix:
    """What a seeded run of hires, ends and voids did: each hire's id and its status now."""

    employers: list[Caller]
    statuses: dict[str, str] = field(default_factory=dict)


async def random_mix(make: Factory, seed: int, steps: int = 60) -> Mix:
    """Hires, ends and voids in a seeded random order across three employers, five vacancies and four months.

    Hires that the rules refuse (a filled vacancy, a returnee already hired) are part of the mix too.
    """
    rng = random.Random(seed)
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    other, auditor = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    vacancies = [
        (textile, await open_vacancy(make, textile, positions=8, province="KANDAL")),
        (textile, await open_vacancy(make, textile, positions=3, province="PHNOM_PENH")),
        (construction, await open_vacancy(make, construction, positions=8, province="TAKEO", **CONSTRUCTION_JOB)),
        (other, await open_vacancy(make, other, positions=6, province="KANDAL")),
        (other, await open_vacancy(make, other, positions=2, province="SIEM_REAP")),
    ]
    returnees = [await make.profile() for _ in range(30)]
    mix, owner, starts = Mix(employers=[textile, construction, other]), {}, {}
    for _ in range(steps):
        action = rng.choice(["hire", "hire", "hire", "end", "void"])
        endable = [h for h, s in mix.statuses.items() if s == "ACTIVE" and starts[h] <= TODAY]
        voidable = [h for h, s in mix.statuses.items() if s != "VOIDED"]
        if action == "end" and endable:
            chosen = rng.choice(endable)
            await accepted(make, owner[chosen], END, {"id": chosen, "endedOn": TODAY.isoformat()})
            mix.statuses[chosen] = "ENDED"
        elif action == "void" and voidable:
            chosen = rng.choice(voidable)
            await accepted(make, auditor, VOID, {"id": chosen, "reason": "Seeded void"})
            mix.statuses[chosen] = "VOIDED"
        else:
            employer, vacancy = rng.choice(vacancies)
            start = TODAY + timedelta(days=rng.choice([-25, -3, 0, 20, 50]))
            input = hire_input(vacancy, rng.choice(returnees), startDate=start.isoformat())
            result = await send(make, employer, RECORD, input)
            if result["hire"] is not None:
                mix.statuses[result["hire"]["id"]] = "ACTIVE"
                owner[result["hire"]["id"]], starts[result["hire"]["id"]] = employer, start
            else:
                assert result["userErrors"][0]["code"] in ("POSITIONS_FILLED", "ALREADY_HIRED"), result
    return mix


# Exact counts


async def test_counts_by_province_sector_and_month_leave_voided_hires_out(make: Factory) -> None:
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    kandal = await open_vacancy(make, textile, positions=5, province="KANDAL")
    takeo = await open_vacancy(make, construction, positions=5, province="TAKEO", **CONSTRUCTION_JOB)
    await hire(make, textile, kandal, await make.profile(), startDate=days(-20))
    await hire(make, textile, kandal, await make.profile(), startDate=days(40))
    ended = await hire(make, construction, takeo, await make.profile(), startDate=days(-20))
    voided = await hire(make, construction, takeo, await make.profile(), startDate=days(-20))
    await accepted(make, construction, END, {"id": ended["id"], "endedOn": TODAY.isoformat()})
    await accepted(make, await make.caller(None), VOID, {"id": voided["id"], "reason": "Bogus"})

    result = await statistics(make, await make.caller(None), ["PROVINCE", "SECTOR", "MONTH"])

    earlier, later = month(TODAY - timedelta(days=20)), month(TODAY + timedelta(days=40))
    assert result["total"] == 3
    assert result["rows"] == sorted(
        [
            {"province": "KANDAL", "sector": "TEXTILE", "month": earlier, "count": 1},
            {"province": "KANDAL", "sector": "TEXTILE", "month": later, "count": 1},
            {"province": "TAKEO", "sector": "CONSTRUCTION", "month": earlier, "count": 1},
        ],
        key=lambda r: (r["province"], r["sector"], r["month"]),
    )


async def test_after_a_seeded_mix_of_hires_ends_and_voids_the_counts_equal_the_non_voided_hires(
    make: Factory, db: Database
) -> None:
    mix = await random_mix(make, seed=20261127)

    ministry = await make.caller(None)
    everything = await statistics(make, ministry, ["PROVINCE", "SECTOR", "MONTH"])
    per_employer = [await statistics(make, e, ["PROVINCE", "SECTOR", "MONTH"]) for e in mix.employers]

    expected = sum(1 for status in mix.statuses.values() if status != "VOIDED")
    assert "VOIDED" in mix.statuses.values() and "ENDED" in mix.statuses.values()
    assert everything["total"] == expected == sum(r["count"] for r in everything["rows"])
    assert everything["rows"] == await counted_from_hires(db)
    for employer, result in zip(mix.employers, per_employer, strict=True):
        assert employer.employer is not None
        assert result["rows"] == await counted_from_hires(db, employer.employer.id)
    assert sum(r["total"] for r in per_employer) == expected


# Grouping and filters


async def test_each_grouping_adds_up_to_the_same_total(make: Factory) -> None:
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    await hire(make, textile, await open_vacancy(make, textile, province="KANDAL"), await make.profile())
    await hire(make, textile, await open_vacancy(make, textile, province="KAMPOT"), await make.profile())
    takeo = await open_vacancy(make, construction, province="TAKEO", **CONSTRUCTION_JOB)
    await hire(make, construction, takeo, await make.profile(), startDate=days(35))
    ministry = await make.caller(None)

    by = {
        key: await statistics(make, ministry, group_by)
        for key, group_by in {"none": [], "province": ["PROVINCE"], "sector": ["SECTOR"], "month": ["MONTH"]}.items()
    }

    assert by["none"] == {"total": 3, "rows": [{"province": None, "sector": None, "month": None, "count": 3}]}
    assert [(r["province"], r["count"]) for r in by["province"]["rows"]] == [("KAMPOT", 1), ("KANDAL", 1), ("TAKEO", 1)]
    assert [(r["sector"], r["count"]) for r in by["sector"]["rows"]] == [("TEXTILE", 2), ("CONSTRUCTION", 1)]
    assert [(r["month"], r["count"]) for r in by["month"]["rows"]] == sorted(
        {month(TODAY): 2, month(TODAY + timedelta(days=35)): 1}.items()
    )
    assert {r["total"] for r in by.values()} == {3}


async def test_filters_narrow_by_province_sector_and_start_date_inclusive(make: Factory) -> None:
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    kandal = await open_vacancy(make, textile, positions=5, province="KANDAL")
    takeo = await open_vacancy(make, construction, positions=5, province="TAKEO", **CONSTRUCTION_JOB)
    for start in (-10, 0, 10):
        await hire(make, textile, kandal, await make.profile(), startDate=days(start))
    await hire(make, construction, takeo, await make.profile(), startDate=days(0))
    ministry = await make.caller(None)

    totals = [
        (await statistics(make, ministry, ["PROVINCE"], **f))["total"]
        for f in (
            {"provinces": ["KANDAL"]},
            {"sectors": ["CONSTRUCTION"]},
            {"from": days(0)},
            {"to": days(0)},
            {"from": days(0), "to": days(0), "provinces": ["KANDAL", "TAKEO"]},
            {"from": days(1), "to": days(-1)},
        )
    ]

    assert totals == [3, 1, 3, 3, 2, 0]


async def test_any_start_date_range_counts_exactly_what_the_hires_say(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=12)
    starts = [TODAY + timedelta(days=n) for n in (-29, -25, -1, 0, 10, 40, 41, 70, 89)]
    for start in starts:
        await hire(make, employer, vacancy, await make.profile(), startDate=start.isoformat())
    first_of = [d.replace(day=1) for d in starts]
    ranges = [
        (a, b) for a in (None, starts[1], first_of[4], starts[5]) for b in (None, starts[3], starts[6], starts[8])
    ]
    ranges += [(first_of[5], first_of[7] - timedelta(days=1)), (starts[4], starts[4]), (starts[2], starts[2])]

    found = [(await statistics(make, await make.caller(None), ["MONTH"], **_dates(a, b)))["total"] for a, b in ranges]

    assert found == [sum(1 for s in starts if (a is None or a <= s) and (b is None or s <= b)) for a, b in ranges]


def _dates(start_from: date | None, start_to: date | None) -> dict[str, str]:
    bounds = {"from": start_from, "to": start_to}
    return {name: day.isoformat() for name, day in bounds.items() if day is not None}


async def test_moving_a_vacancy_to_another_province_moves_its_placements(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=5, province="KANDAL")
    for _ in range(2):
        await hire(make, employer, vacancy, await make.profile())

    await send(make, employer, UPDATE, {"id": vacancy["id"], "province": "KAMPOT"})

    rows = (await statistics(make, await make.caller(None), ["PROVINCE"]))["rows"]
    assert [(r["province"], r["count"]) for r in rows] == [("KAMPOT", 2)]
    assert [r["province"] for r in await counted_from_hires(db)] == ["KAMPOT"]


# Who sees which placements


async def test_an_employer_sees_only_its_own_placements(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    await hire(make, a, await open_vacancy(make, a, province="KANDAL"), await make.profile())
    for _ in range(2):
        await hire(make, b, await open_vacancy(make, b, province="KANDAL"), await make.profile())

    seen = [(await statistics(make, caller, ["PROVINCE"]))["total"] for caller in (a, b, await make.caller(None))]

    assert seen == [1, 2, 3]


async def test_a_client_without_hires_read_and_a_provincial_client_get_no_statistics(make: Factory) -> None:
    writer = await make.caller(await make.employer(Sector.TEXTILE), scopes=["vacancies:write"])
    officer = await make.caller(None, scopes=["returnees:write"])

    bodies = [await make.graphql(c, STATISTICS, {"groupBy": ["PROVINCE"]}) for c in (writer, officer)]

    assert [(b["data"], b["errors"][0]["extensions"]["code"]) for b in bodies] == [(None, "FORBIDDEN")] * 2
