"""A vacancy's ranked candidates at scale: how long the resolver's reads take for page 1 and page 50.

    .venv/bin/python bench/matching.py [--profiles 750000] [--vacancies 8] [--runs 3] [--reference]

Uses bench/search.py's database (750,000 synthetic profiles, loaded once) and a seeded mix of realistic
vacancies: an occupation and its sector, none to three of the sector's skills, a province where returnees live (or
Phnom Penh), a start date up to four months ahead. For each it times, in this process on one connection, what
`Vacancy.matchingProfiles` costs the database layer (db.search.matching_page, as the resolver calls it): page 1
with its total and page 50 (reached by following the cursors), each the median of --runs, and prints the median,
the slowest and how many pages took under 3 ms. --reference also times the same pages ranked on the profiles in one
statement (db.search.matching_statements, the ranking's definition and what the resolver read before migration 0012).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_database
from bench.search import ensure_profiles
from db.engine import Database, create_engine
from db.enums import Province, Sector
from db.search import RankedPage, VacancyNeeds, matching_page, matching_statements, ranked_page
from db.taxonomy import OCCUPATIONS, SKILLS

PAGE_SIZE = 20
DEEP_PAGE = 50


def the_vacancies(rng: random.Random, size: int) -> list[VacancyNeeds]:
    vacancies = []
    for _ in range(size):
        occupation = rng.choice(OCCUPATIONS)
        sector = Sector(rng.choice(occupation.sectors))
        skills = [s.code for s in SKILLS if s.sector == sector.value]
        vacancies.append(
            VacancyNeeds(
                required_skills=rng.sample(skills, rng.randint(0, 3)),
                occupation_code=occupation.code,
                sector=sector,
                province=rng.choice([*list(Province)[:10], Province.PHNOM_PENH]),
                needed_by=date(2026, 12, 1) + timedelta(days=rng.randint(0, 120)),
            )
        )
    return vacancies


async def main(args: argparse.Namespace, url: str) -> None:
    await ensure_profiles(url, args.profiles)
    db = Database(create_engine(url, pool_size=1))
    timings: list[tuple[float, str]] = []

    reference: list[float] = []

    async def timed(needs: VacancyNeeds, after: str | None, read: Any = matching_page) -> tuple[float, str | None]:
        took = []
        for _ in range(args.runs + 1):  # the first run warms PostgreSQL's buffers, as under load
            async with db.search() as session:
                started = time.perf_counter()
                page = await read(session, needs, first=PAGE_SIZE, after=after, with_total=after is None)
                took.append((time.perf_counter() - started) * 1000)
        return statistics.median(took[1:]), page.rows[-1].cursor if page.has_next else None

    async def on_the_profiles(session: AsyncSession, needs: VacancyNeeds, **page: Any) -> RankedPage:
        return await ranked_page(session, matching_statements(needs, **page), after=page["after"])

    for needs in the_vacancies(random.Random(args.seed), args.vacancies):
        what = f"{needs.occupation_code} {needs.sector.value} {needs.province.value} skills={needs.required_skills}"
        if args.reference:
            reference.append((await timed(needs, None, on_the_profiles))[0])
        took, after = await timed(needs, None)
        timings.append((took, f"page 1 of {what}"))
        async with db.search() as session:
            for _ in range(DEEP_PAGE - 2):
                if after is None:
                    break
                page = await matching_page(session, needs, first=PAGE_SIZE, after=after, with_total=False)
                after = page.rows[-1].cursor if page.has_next else None
        if after is not None:
            took, _ = await timed(needs, after)
            timings.append((took, f"page {DEEP_PAGE} of {what}"))
            if args.reference:
                reference.append((await timed(needs, after, on_the_profiles))[0])
    await db.engine.dispose()

    pages = [t for t, _ in timings]
    print(
        f"\n{args.vacancies} vacancies, {len(pages)} pages (page 1 and page {DEEP_PAGE}), each the median of {args.runs}:"
        f" median {statistics.median(pages):.1f} ms, max {max(pages):.1f} ms, {sum(t < 3 for t in pages)}/{len(pages)}"
        " under 3 ms"
    )
    for took, what in sorted(timings, reverse=True)[: args.slowest]:
        print(f"  {took:8.2f} ms  {what}")
    if reference:
        print(
            f"the same pages ranked on the profiles in one statement (db.search.matching_statements): median"
            f" {statistics.median(reference):.1f} ms, max {max(reference):.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=750_000)
    parser.add_argument("--vacancies", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--slowest", type=int, default=8, help="print this many of the slowest pages")
    parser.add_argument(
        "--reference", action="store_true", help="also time the same pages ranked on the profiles in one statement"
    )
    arguments = parser.parse_args()
    directory = Path(os.environ.get("KARNGAR_BENCH_DIR", ".karngar-bench")).resolve()
    with bench_database(directory, "karngar_bench") as (bench_url, _):
        asyncio.run(main(arguments, bench_url))
