"""Times placementStatistics over 300,000 hires, as SQL and through the GraphQL schema, on a scratch database.

Run from the repository root: `.venv/bin/python -m bench.statistics [--hires 300000] [--runs 200] [--freeze-gc]`.
It starts an embedded PostgreSQL in a temporary directory, migrates a scratch database, loads employers,
vacancies, returnees and hires with COPY, and prints p50/p95/p99 in milliseconds for several groupings.
A benchmark that prints numbers, not a test: nothing here asserts a limit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.requests import Request

from api.settings import Settings
from auth.principal import Principal
from db.embedded import EmbeddedPostgres
from db.engine import Database, create_engine
from db.enums import Province, Sector
from db.hires import PlacementCriteria, PlacementDimension, placement_counts
from db.migrate import upgrade
from schema.context import Context
from schema.root import schema

SECTOR_SHARE = {Sector.TEXTILE: 0.6, Sector.CONSTRUCTION: 0.25, Sector.AGRICULTURE: 0.15}
OCCUPATIONS = {Sector.TEXTILE: "8153", Sector.CONSTRUCTION: "7112", Sector.AGRICULTURE: "6111"}
ISIC = {Sector.TEXTILE: 14, Sector.CONSTRUCTION: 41, Sector.AGRICULTURE: 1}
# Most factories sit around Phnom Penh; every province has some work.
BUSY_PROVINCES = [Province.PHNOM_PENH, Province.KANDAL, Province.KAMPONG_SPEU, Province.KAMPONG_CHHNANG]
FIRST_START = date(2025, 1, 1)
START_DAYS = 730
STATISTICS = """
query($groupBy: [PlacementDimension!]!, $filter: PlacementFilter) {
  placementStatistics(groupBy: $groupBy, filter: $filter) { total rows { province sector month count } }
}
"""
# What the counts replace: every hire joined to its vacancy, for the comparison line.
JOINED = """
SELECT v.province, v.sector, to_char(h.start_date, 'YYYY-MM'), count(*)
FROM hires h JOIN vacancies v ON v.id = h.vacancy_id WHERE h.status <> 'VOIDED' GROUP BY 1, 2, 3
"""
P, S, M = PlacementDimension.PROVINCE, PlacementDimension.SECTOR, PlacementDimension.MONTH
H1_2026 = PlacementCriteria(
    provinces=(Province.PHNOM_PENH, Province.KANDAL), start_from=date(2026, 1, 1), start_to=date(2026, 6, 30)
)
CUT_MONTHS = PlacementCriteria(start_from=date(2025, 3, 17), start_to=date(2026, 8, 9))
CASES: list[tuple[str, list[PlacementDimension], PlacementCriteria]] = [
    ("total only", [], PlacementCriteria()),
    ("PROVINCE", [P], PlacementCriteria()),
    ("SECTOR", [S], PlacementCriteria()),
    ("MONTH", [M], PlacementCriteria()),
    ("PROVINCE, SECTOR", [P, S], PlacementCriteria()),
    ("PROVINCE, SECTOR, MONTH", [P, S, M], PlacementCriteria()),
    ("PROVINCE, MONTH; 2 provinces, 2026 H1", [P, M], H1_2026),
    ("PROVINCE, SECTOR, MONTH; 2025-03-17 to 2026-08-09", [P, S, M], CUT_MONTHS),
]


def province_for(rng: random.Random) -> Province:
    return rng.choice(BUSY_PROVINCES) if rng.random() < 0.5 else rng.choice(list(Province))


def employers(rng: random.Random, count: int) -> list[tuple[Any, ...]]:
    sectors = rng.choices(list(SECTOR_SHARE), weights=list(SECTOR_SHARE.values()), k=count)
    return [
        (uuid.uuid4(), f"Bench Employer {n} Co., Ltd.", f"BENCH-{n:06d}", s.value, ISIC[s], province_for(rng).value)
        for n, s in enumerate(sectors)
    ]


def returnees(rng: random.Random, count: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    identities, profiles = [], []
    for n in range(count):
        identity_id, province, sex = uuid.uuid4(), province_for(rng).value, rng.choice(["FEMALE", "MALE"])
        returned = date(2025, 1, 1) + timedelta(days=rng.randrange(700))
        identities.append(
            (identity_id, f"Returnee {n}", sex, date(1990, 1, 1), f"+8551{n:08d}", province, returned, True, "bench")
        )
        band = rng.choice(["AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54"])
        profiles.append(
            (uuid.uuid4(), identity_id, band, sex, province, returned.replace(day=1), "PRIMARY", returned, True)
        )
    return identities, profiles


def hires_and_vacancies(
    rng: random.Random, employer_rows: list[tuple[Any, ...]], profile_ids: list[uuid.UUID], vacancy_count: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """One hire per returnee, spread over the vacancies; each vacancy has room for the hires it holds."""
    owners = [rng.choice(employer_rows) for _ in range(vacancy_count)]
    vacancy_ids = [uuid.uuid4() for _ in owners]
    provinces = [province_for(rng).value for _ in owners]
    hires, active = [], Counter[int]()
    for profile_id in profile_ids:
        v = rng.randrange(vacancy_count)
        start = FIRST_START + timedelta(days=rng.randrange(START_DAYS))
        status = rng.choices(["ACTIVE", "ENDED", "VOIDED"], weights=[75, 18, 7])[0]
        recorded = datetime.combine(start, datetime.min.time(), UTC) - timedelta(minutes=rng.randrange(20_000))
        hires.append(
            (
                uuid.uuid4(),
                owners[v][0],
                vacancy_ids[v],
                profile_id,
                start,
                "FIXED_TERM",
                Decimal(rng.randrange(21_000, 40_000)) / 100,
                status,
                recorded,
                "client:bench",
                start + timedelta(days=30) if status == "ENDED" else None,
                "Bench void" if status == "VOIDED" else None,
            )
        )
        active[v] += status == "ACTIVE"
    vacancies = []
    for v, (employer_id, _, _, sector, _, _) in enumerate(owners):
        positions = active[v] + rng.randrange(0, 3) or 1
        status = "FILLED" if active[v] == positions else "OPEN"
        where = (OCCUPATIONS[Sector(sector)], sector, provinces[v])
        terms = (positions, active[v], "PERMANENT", Decimal("210.00"), [], status, datetime.now(UTC))
        vacancies.append((vacancy_ids[v], employer_id, f"Bench job {v}", *where, "Bench vacancy", *terms))
    return hires, vacancies


async def load(db: Database, hire_count: int, seed: int) -> None:
    rng = random.Random(seed)
    employer_rows = employers(rng, max(10, hire_count // 100))
    identities, profiles = returnees(rng, hire_count)
    hires, vacancies = hires_and_vacancies(rng, employer_rows, [p[0] for p in profiles], max(10, hire_count // 15))
    async with db.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        tables: Sequence[tuple[str, list[tuple[Any, ...]], tuple[str, ...]]] = (
            ("employers", employer_rows, ("id", "legal_name", "registration_number", "sector", "isic_division", "province")),
            ("returnee_identities", identities, ("id", "name", "sex", "date_of_birth", "phone", "province",
                                                 "returned_on", "consent_to_search", "registered_by")),
            ("returnee_profiles", profiles, ("id", "identity_id", "age_band", "sex", "province", "return_month",
                                             "education_level", "available_from", "searchable")),
            ("vacancies", vacancies, ("id", "employer_id", "title", "occupation_code", "sector", "province",
                                      "description", "positions", "positions_filled", "contract_type",
                                      "wage_min_usd", "benefits", "status", "published_at")),
            ("hires", hires, ("id", "employer_id", "vacancy_id", "profile_id", "start_date", "contract_type",
                              "monthly_wage_usd", "status", "recorded_at", "recorded_by", "ended_on", "void_reason")),
        )  # fmt: skip
        for table, records, columns in tables:
            started = time.perf_counter()
            await raw.copy_records_to_table(table, records=records, columns=columns)
            print(f"  COPY {len(records):>7,} rows into {table} in {time.perf_counter() - started:.1f} s")
        await connection.execute(text("ANALYZE"))
        await connection.commit()


async def timings(runs: int, once: Callable[[], Awaitable[object]]) -> tuple[float, float, float]:
    for _ in range(5):
        await once()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await once()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return tuple(samples[min(len(samples) - 1, int(q * len(samples)))] for q in (0.5, 0.95, 0.99))  # type: ignore[return-value]


def graphql_call(db: Database, principal: Principal, group_by: list[PlacementDimension], c: PlacementCriteria) -> Any:
    filter = {
        "provinces": [p.value for p in c.provinces] or None,
        "from": c.start_from.isoformat() if c.start_from else None,
        "to": c.start_to.isoformat() if c.start_to else None,
    }
    variables = {"groupBy": [d.value for d in group_by], "filter": filter}
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})

    async def once() -> None:
        context = Context(request=request, principal=principal, db=db, settings=Settings.from_env({}))
        result = await schema.execute(STATISTICS, variable_values=variables, context_value=context)
        assert result.errors is None, result.errors

    return once


def report(label: str, p: tuple[float, float, float]) -> None:
    print(f"  {label:<52} {p[0]:>8.2f} {p[1]:>8.2f} {p[2]:>8.2f}")


async def measure(db: Database, runs: int) -> None:
    auditor = Principal("client", "bench-auditor", "Bench auditor", (), frozenset({"ministry:audit"}), None)
    async with db.read() as session:
        biggest, hires_of_biggest = (
            await session.execute(text("SELECT employer_id, count(*) FROM hires GROUP BY 1 ORDER BY 2 DESC LIMIT 1"))
        ).one()
        counts = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM daily_placement_counts), (SELECT count(*) FROM monthly_placement_counts)"
            )
        )
        daily_rows, monthly_rows = counts.one()
    employer = Principal("client", "bench-hr", "Bench HR", (), frozenset({"hires:read"}), biggest)
    print(
        f"\n  Counts kept: {daily_rows:,} daily and {monthly_rows:,} monthly rows; largest employer {hires_of_biggest:,} hires"
    )
    print(f"\n  {'placementStatistics (ms, ' + str(runs) + ' runs)':<52} {'p50':>8} {'p95':>8} {'p99':>8}")
    for label, group_by, criteria in [*CASES, ("EMPLOYER: PROVINCE, SECTOR, MONTH", [P, S, M], PlacementCriteria())]:
        scoped = biggest if label.startswith("EMPLOYER") else None

        async def sql_once(
            g: list[PlacementDimension] = group_by, c: PlacementCriteria = criteria, e: uuid.UUID | None = scoped
        ) -> None:
            async with db.read() as session:
                await placement_counts(session, g, c, employer_id=e)

        report(f"SQL      {label}", await timings(runs, sql_once))
        principal = employer if scoped else auditor
        report(f"GraphQL  {label}", await timings(runs, graphql_call(db, principal, group_by, criteria)))

    async def joined_once() -> None:
        async with db.read() as session:
            await session.execute(text(JOINED))

    report("SQL      without the counts: hires JOIN vacancies, P/S/M", await timings(max(10, runs // 10), joined_once))


async def run(url: str, hire_count: int, runs: int, seed: int, freeze_gc: bool) -> None:
    engine = create_engine(url, pool_size=2, statement_timeout_ms=600_000)
    db = Database(engine)
    try:
        print(f"Loading {hire_count:,} hires (seed {seed}):")
        await load(db, hire_count, seed)
        if freeze_gc:
            # As a server may after start-up: the cyclic collector stops rescanning every long-lived object
            # each time a large answer's many short-lived ones trigger it, which is what the tails show.
            gc.collect()
            gc.freeze()
        await measure(db, runs)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hires", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--freeze-gc", action="store_true", help="gc.freeze() after loading, before timing")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="karngar-bench-"))
    embedded = EmbeddedPostgres(data_dir)
    try:
        embedded.start("postgres")
        database = f"karngar_bench_{uuid.uuid4().hex[:8]}"
        embedded.create_database(database)
        url = embedded.url(database)
        upgrade(url)
        asyncio.run(run(url, args.hires, args.runs, args.seed, args.freeze_gc))
    finally:
        embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
