"""Candidate search at scale: the resolvers' SQL on asyncpg against the full GraphQL request over HTTP.

    .venv/bin/python bench/search.py [--profiles 750000] [--seconds 20] [--concurrency 32]

Loads the synthetic profiles once into a benchmark database (the embedded PostgreSQL under
KARNGAR_BENCH_DIR, default ./.karngar-bench, or a database karngar_bench on DATABASE_URL's server), then runs one seeded mix of searches
(one to four filters, with and without skills, first page and page 50) three ways and prints
p50/p95/p99 latency and requests per second for each, and the ratios of (b) to (a) and (a'):
  (a) the statements the resolver issues, sent straight to asyncpg in this process: in one transaction, the
      caller for row-level security, the page and (on first pages) the total;
  (a') the page and the total alone;
  (b) the GraphQL request through `karngar serve` with 2 workers, over HTTP on loopback.
They take turns in --rounds rounds (each round's figures are printed), so that all three meet the machine in
the same state.
It also prints the EXPLAIN (ANALYZE, TIMING OFF) execution time of every statement in the mix, each run once
before (warm buffers, as under load), the median of --explain-runs (3) runs, and names the slowest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.demo import seed
from bench.common import bench_database, client_token, cpu_seconds, process_tree, serving
from db import search as search_module
from db.caller import SET_CALLER, Caller
from db.embedded import EmbeddedPostgres
from db.engine import SERVER_SETTINGS, Database, create_engine
from db.enums import AgeBand, EducationLevel, Province, Sector
from db.search import PageStatements, ProfileSearch, search_statements
from db.synthetic import settle_after_bulk_load
from db.taxonomy import SKILLS
from schema.common import uuid_of

DIALECT = PGDialect_asyncpg()
SKILL_BITS: dict[str, int] = {}  # read from the database before the mix is built
SKILL_HOLDERS: dict[int, int] = {}  # likewise: the resolvers read the rarest skill's postings first
PAGE_SIZE = 20
BARE = "(a')"  # the page and total statements alone, outside the resolver's transaction
DEEP_PAGE = 50
SEARCH_DOCUMENT = """
query Search($filter: ProfileFilter, $first: Int, $after: String) {
  returneeProfiles(filter: $filter, first: $first, after: $after) {
    %s
    pageInfo { hasNextPage endCursor }
    edges { cursor score node { id ageBand sex province returnedIn availableFrom skills { code name } } }
  }
}
"""


@dataclass
class Case:
    """One search of the mix, at one page."""

    search: ProfileSearch
    variables: dict[str, Any]
    deep: bool
    after: str | None = None

    def statements(self) -> PageStatements:
        return search_statements(
            self.search, SKILL_BITS, first=PAGE_SIZE, after=self.after, with_total=not self.deep, holders=SKILL_HOLDERS
        )


def the_mix(rng: random.Random, size: int) -> list[Case]:
    """Realistic searches: a sector's skills, where people live or will work, age, availability, schooling."""
    skills_of = {sector: [s.code for s in SKILLS if s.sector == sector] for sector in Sector}
    cases = []
    for n in range(size):
        sector = rng.choice(list(Sector))
        filters: dict[str, Any] = {}
        wanted = rng.sample(
            ["skills", "provinces", "ageBands", "availableBy", "educationAtLeast", "sectors"], rng.randint(1, 4)
        )
        if n % 2 == 0 and "skills" not in wanted:
            wanted[0] = "skills"
        for name in wanted:
            if name == "skills":
                filters["skills"] = rng.sample(skills_of[sector], rng.randint(1, 3))
            elif name == "provinces":
                filters["provinces"] = [p.value for p in rng.sample(list(Province)[:10], rng.randint(1, 2))]
            elif name == "ageBands":
                filters["ageBands"] = [b.value for b in rng.sample(list(AgeBand)[1:], rng.randint(1, 2))]
            elif name == "availableBy":
                filters["availableBy"] = (date(2026, 11, 1) + timedelta(days=rng.randint(0, 120))).isoformat()
            elif name == "educationAtLeast":
                filters["educationAtLeast"] = rng.choice([EducationLevel.PRIMARY, EducationLevel.LOWER_SECONDARY]).value
            else:
                filters["sectors"] = [sector.value]
        search = ProfileSearch(
            sectors=[Sector(s) for s in filters.get("sectors", [])],
            skills=filters.get("skills", []),
            provinces=[Province(p) for p in filters.get("provinces", [])],
            age_bands=[AgeBand(a) for a in filters.get("ageBands", [])],
            available_by=date.fromisoformat(filters["availableBy"]) if "availableBy" in filters else None,
            education_at_least=EducationLevel(filters["educationAtLeast"]) if "educationAtLeast" in filters else None,
        )
        cases.append(Case(search=search, variables={"filter": filters, "first": PAGE_SIZE}, deep=n % 4 == 3))
    return cases


def compiled(statement: Any) -> tuple[str, list[Any]]:
    """The SQL and positional parameters SQLAlchemy sends to asyncpg for this statement."""
    sql = statement.compile(dialect=DIALECT, compile_kwargs={"render_postcompile": True})
    return str(sql), [sql.params[name] for name in sql.positiontup]


async def walk_to_deep_pages(pool: asyncpg.Pool, cases: list[Case]) -> list[Case]:
    """Give each deep case the cursor of page 49's end; drop the ones with fewer than 50 pages."""
    from db.search import encode_cursor

    kept = []
    for case in cases:
        if case.deep:
            probe = Case(case.search, case.variables, deep=True)
            for _ in range(DEEP_PAGE - 1):
                sql, params = compiled(probe.statements().page)
                rows = await pool.fetch(sql, *params)
                if len(rows) <= PAGE_SIZE:
                    break
                last = rows[PAGE_SIZE - 1]
                probe.after = encode_cursor(last["score"], last["available_from"], last["id"])
            else:
                case.after = probe.after
                case.variables = {**case.variables, "after": probe.after}
                kept.append(case)
            continue
        kept.append(case)
    return kept


async def explain(pool: asyncpg.Pool, cases: list[Case], runs: int) -> list[tuple[float, str]]:
    """(execution time in ms, what was run) of every statement of the mix: the median of `runs` EXPLAIN ANALYZEs,
    as one run on this shared 2-core machine can take twice as long as the next."""
    times = []
    for case in cases:
        statements = case.statements()
        for kind, statement in (("page", statements.page), ("total", statements.total)):
            if statement is None:
                continue
            sql, params = compiled(statement)
            await pool.fetch(sql, *params)  # steady state: what it reads is in PostgreSQL's buffers
            took = []
            for _ in range(runs):
                plan = await pool.fetchval(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", *params)
                took.append(json.loads(plan)[0]["Execution Time"])
            what = f"{kind}{' at page 50' if case.deep else ''} of {json.dumps(case.variables['filter'])}"
            times.append((statistics.median(took), what))
    return times


async def load(
    run_one: Callable[[Case], Awaitable[None]], cases: list[Case], seconds: float, concurrency: int
) -> tuple[list[float], float]:
    """Latencies (ms) of `concurrency` workers cycling through the mix for `seconds`, and the share of one core
    this process (the load generator) used meanwhile: it shares the machine's two cores with what it measures."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        i = offset
        while time.perf_counter() < deadline:
            case = cases[i % len(cases)]
            started = time.perf_counter()
            await run_one(case)
            latencies.append((time.perf_counter() - started) * 1000)
            i += 1

    cpu = time.process_time()
    await asyncio.gather(*(worker(k * 7) for k in range(concurrency)))
    return latencies, (time.process_time() - cpu) / seconds


def summary(name: str, latencies: list[float], seconds: float) -> float:
    q = statistics.quantiles(latencies, n=100)
    rps = len(latencies) / seconds
    print(f"{name:<34} p50 {q[49]:7.2f} ms   p95 {q[94]:7.2f} ms   p99 {q[98]:7.2f} ms   {rps:8.1f} req/s")
    return rps


async def ensure_profiles(url: str, wanted: int) -> None:
    engine = create_engine(url, pool_size=1)
    async with Database(engine).read() as session:
        have = await session.scalar(text("SELECT count(*) FROM returnee_profiles")) or 0
    await engine.dispose()
    if have < wanted:
        print(f"loading {wanted - have} synthetic profiles (once) ...", flush=True)
        env = {**os.environ, "DATABASE_URL": url}
        karngar = Path(sys.executable).with_name("karngar")
        subprocess.run(
            [str(karngar), "generate-profiles", "--count", str(wanted - have), "--seed", str(have + 1)],
            env=env,
            check=True,
        )
    # As autovacuum would in time (generate-profiles does it too): statistics, the group counts' dead versions,
    # and the visibility map that index-only scans of the postings need after a load or a migration rewrote them.
    await settle_after_bulk_load(url)


async def main(args: argparse.Namespace, url: str, embedded: EmbeddedPostgres | None) -> None:
    await ensure_profiles(url, args.profiles)
    credentials = await seed(url)
    hr = credentials["employers"][0]["apiClient"]

    raw_url = url.replace("postgresql://", "postgres://")
    pool = await asyncpg.create_pool(
        raw_url, min_size=args.concurrency, max_size=args.concurrency, server_settings=SERVER_SETTINGS
    )
    SKILL_BITS.update((row["code"], row["bit"]) for row in await pool.fetch("SELECT code, bit FROM skills"))
    SKILL_HOLDERS.update(tuple(row) for row in await pool.fetch(search_module.SKILL_HOLDERS))
    cases = await walk_to_deep_pages(pool, the_mix(random.Random(args.seed), args.searches))
    deep = sum(c.deep for c in cases)
    print(
        f"\nmix: {len(cases)} searches ({deep} at page {DEEP_PAGE}), {args.concurrency} concurrent clients,"
        f" {args.seconds:.0f} s for each way in {args.rounds} rounds"
    )

    explained = await explain(pool, cases, args.explain_runs)
    plans = [t for t, _ in explained]
    print(
        f"EXPLAIN ANALYZE execution (each statement's median of {args.explain_runs} runs): median {statistics.median(plans):.2f} ms, max {max(plans):.2f} ms, "
        f"{sum(t < 3 for t in plans)}/{len(plans)} statements under 3 ms"
    )
    for took, what in sorted(explained, reverse=True)[: args.slowest]:
        print(f"  {took:8.2f} ms  {what}")

    if args.plans_only:
        await pool.close()
        return

    # (a) is the database's share alone: each case's SQL is compiled once, before the clock starts. It is what
    # the resolver sends for a search: in one transaction, who the caller is (row-level security, db/caller.py),
    # then the page and the total; (a') sends the page and the total alone.
    sql_of = {}
    for case in cases:
        statements = case.statements()
        sql_of[id(case)] = [compiled(s) for s in (statements.page, statements.total) if s is not None]
    caller = Caller("employer", employer_id=uuid_of(credentials["employers"][0]["id"], "Employer")).parameters()

    async def sql_one(case: Case) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(SET_CALLER, *caller)
            for sql, params in sql_of[id(case)]:
                await connection.fetch(sql, *params)

    async def bare_sql_one(case: Case) -> None:
        async with pool.acquire() as connection:
            for sql, params in sql_of[id(case)]:
                await connection.fetch(sql, *params)

    # One HR client sends the whole load: bench/common.py's server runs without the per-client rate limit.
    server: list[int] = []
    async with serving(
        url, args.directory / "search-serve.log", workers=2, pool_size=args.concurrency // 2 + 2, processes=server
    ) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = await client_token(http, hr)
        # aiohttp (its HTTP parser is C) as the load generator: httpx took ~4 ms of the two cores per request.
        # Like (a)'s SQL, each request body is encoded once, before the clock starts.
        bodies = {
            id(case): json.dumps(
                {"query": SEARCH_DOCUMENT % ("" if case.deep else "totalCount"), "variables": case.variables}
            ).encode()
            for case in cases
        }
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(base, connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:

            async def graphql_one(case: Case) -> None:
                async with http.post("/graphql", data=bodies[id(case)], headers=headers) as response:
                    body = json.loads(await response.read())
                assert response.status == 200 and "errors" not in body, body

            for warm in (sql_one, bare_sql_one, graphql_one):  # prepared statements on every connection, both workers
                await load(warm, cases, 2, args.concurrency)
            # (a), (a') and (b) take turns, so that all meet the machine in the same state: this machine's speed
            # drifts by 10-20% over minutes, which a single (a) then (b) would put into their ratio.
            each = args.seconds / args.rounds
            phases = {"(a)": sql_one, BARE: bare_sql_one, "(b)": graphql_one}
            latencies: dict[str, list[float]] = {name: [] for name in phases}
            generator: dict[str, float] = dict.fromkeys(phases, 0.0)
            # Seconds of CPU `karngar serve` and (when it is the embedded one, whose processes are known) PostgreSQL
            # used during (b).
            postmaster = embedded.pgdata / "postmaster.pid" if embedded is not None else None
            postgres_pid = int(postmaster.read_text().split()[0]) if postmaster else None
            served_cpu = database_cpu = 0.0
            for round_ in range(1, args.rounds + 1):
                rps = {}
                for name, run_one in phases.items():
                    backends = process_tree(postgres_pid) if postgres_pid else []
                    before, database_before = cpu_seconds(server), cpu_seconds(backends)
                    measured, cpu = await load(run_one, cases, each, args.concurrency)
                    if name == "(b)":
                        served_cpu += cpu_seconds(server) - before
                        database_cpu += cpu_seconds(backends) - database_before
                    latencies[name] += measured
                    generator[name] += cpu / args.rounds
                    rps[name] = len(measured) / each
                print(
                    f"  round {round_}: "
                    + ", ".join(f"{name} {value:.1f} req/s" for name, value in rps.items())
                    + f"; (b)/(a) {rps['(b)'] / rps['(a)']:.2f}, (b)/(a') {rps['(b)'] / rps[BARE]:.2f}"
                )
    await pool.close()
    print(
        "  the load generator used "
        + ", ".join(f"{share:.0%} of a core in {name}" for name, share in generator.items())
    )
    sql_rps = summary("(a) resolver SQL on asyncpg", latencies["(a)"], args.seconds)
    bare_rps = summary("(a') page and total alone", latencies[BARE], args.seconds)
    gql_rps = summary("(b) GraphQL over HTTP, 2 workers", latencies["(b)"], args.seconds)
    if served_cpu:
        per_search = 1000 / len(latencies["(b)"])
        print(
            f"  CPU per GraphQL search: karngar serve {served_cpu * per_search:.1f} ms"
            + (f", PostgreSQL {database_cpu * per_search:.1f} ms" if database_cpu else "")
        )
    print(f"GraphQL throughput / SQL throughput: {gql_rps / sql_rps:.2f}x (a), {gql_rps / bare_rps:.2f}x (a')")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=750_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=4, help="(a), (a') and (b) take turns, each --seconds in all")
    parser.add_argument("--searches", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--slowest", type=int, default=8, help="print this many of the slowest statements")
    parser.add_argument("--plans-only", action="store_true", help="only EXPLAIN the mix, no load")
    parser.add_argument("--explain-runs", type=int, default=3, help="EXPLAIN ANALYZE each statement this many times")
    arguments = parser.parse_args()
    arguments.directory = Path(os.environ.get("KARNGAR_BENCH_DIR", ".karngar-bench")).resolve()
    with bench_database(arguments.directory, "karngar_bench") as (bench_url, embedded_server):
        asyncio.run(main(arguments, bench_url, embedded_server))
