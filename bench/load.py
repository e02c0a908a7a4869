"""A mixed workload at rising concurrency against `karngar serve` with 2 workers: where is the knee?

    .venv/bin/python bench/load.py [--profiles 750000] [--levels 1,4,8,16,32,64] [--seconds 20] [--fresh]

Loads the synthetic profiles once into the database `karngar_load` (the embedded PostgreSQL under
KARNGAR_BENCH_DIR, default ./.karngar-bench, or DATABASE_URL's server), seeds the demo employers,
opens one 10,000-position vacancy per employer, starts `karngar serve` with 2 workers and then, for
each concurrency level, lets that many clients (each an employer's HR system, round robin over the
three demo employers) send for `--seconds`:
  80% candidate searches: bench/search.py's seeded filter mix (1-4 filters, page 1 and page 50);
  10% vacancy reads: a page of open vacancies with totalCount, or one vacancy by node id;
   5% vacancy writes: createVacancy (a draft), or updateVacancy of the client's last draft;
   5% recordHire on the employer's open vacancy, each for a returnee nobody has hired.
It prints, per level and per operation, requests, req/s, p50/p95/p99 and failures (non-200 answers,
GraphQL errors, userErrors), then the knee: the last level before throughput stops rising by more than
10% while p99 still grows. The client runs in this process on the same machine: at high levels it
competes with the server for CPU, which the figures include.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.demo import seed
from bench.common import (
    CREATE_VACANCY,
    RECORD_HIRE,
    VACANCY_INPUT,
    bench_database,
    client_token,
    open_vacancy,
    percentiles,
    raw_url,
    serving,
    unhired_profiles,
)
from bench.search import SEARCH_DOCUMENT, Case, ensure_profiles, the_mix, walk_to_deep_pages

OPERATIONS = ("search", "vacancy read", "vacancy write", "recordHire")
WEIGHTS = (80, 10, 5, 5)
VACANCY_PAGE = """
query($first: Int) {
  vacancies(filter: {statuses: [OPEN]}, first: $first) {
    totalCount
    edges { cursor node { id title status positions positionsFilled province wageMinUsd employer { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
VACANCY_NODE = """
query($id: ID!) {
  node(id: $id) {
    ... on Vacancy { id title description status positions positionsFilled requiredSkills { code name } employer { name } }
  }
}"""
UPDATE_VACANCY = """
mutation($input: UpdateVacancyInput!) {
  updateVacancy(input: $input) { vacancy { id positions description } userErrors { code field message } }
}"""


@dataclass
class Employer:
    token: str
    vacancy_id: str
    wage: str


@dataclass
class Level:
    clients: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return sum(len(v) for v in self.latencies.values()) / self.seconds

    @property
    def p99(self) -> float:
        return percentiles([x for v in self.latencies.values() for x in v]).p99


class Workload:
    """What every client draws from: the search mix, the employers, returnees not yet hired."""

    def __init__(self, cases: list[Case], employers: list[Employer], profiles: Iterator[str], seed: int) -> None:
        self.cases = cases
        self.employers = employers
        self.profiles = profiles
        self.rng = random.Random(seed)
        self.vacancies: list[str] = [e.vacancy_id for e in employers]

    def request(self, client: int, drafts: dict[int, str]) -> tuple[str, Employer, str, dict[str, Any]]:
        """The next request of client `client`: (operation, employer, document, variables)."""
        employer = self.employers[client % len(self.employers)]
        operation = self.rng.choices(OPERATIONS, WEIGHTS)[0]
        if operation == "search":
            case = self.rng.choice(self.cases)
            return operation, employer, SEARCH_DOCUMENT % ("" if case.deep else "totalCount"), case.variables
        if operation == "vacancy read":
            if self.rng.random() < 0.5:
                return operation, employer, VACANCY_PAGE, {"first": 20}
            return operation, employer, VACANCY_NODE, {"id": self.rng.choice(self.vacancies)}
        if operation == "vacancy write":
            if client in drafts and self.rng.random() < 0.5:
                changes = {"id": drafts[client], "positions": self.rng.randint(1, 50), "description": "Updated"}
                return operation, employer, UPDATE_VACANCY, {"input": changes}
            title = f"Load test vacancy {uuid.uuid4().hex[:8]}"
            draft = {**VACANCY_INPUT, "title": title, "positions": 5, "idempotencyKey": title}
            return operation, employer, CREATE_VACANCY, {"input": draft}
        hire = {
            "vacancyId": employer.vacancy_id,
            "profileId": next(self.profiles),
            "startDate": date.today().isoformat(),
            "contractType": "FIXED_TERM",
            "monthlyWageUsd": employer.wage,
            "idempotencyKey": f"load-{uuid.uuid4().hex}",
        }
        return operation, employer, RECORD_HIRE, {"input": hire}


def failure_of(status: int, body: dict[str, Any] | None) -> str | None:
    """Why an answer is a failure, or None: not 200, a GraphQL error, or a userError."""
    if status != 200 or body is None:
        return f"HTTP {status}"
    if body.get("errors"):
        return f"GraphQL error: {body['errors'][0].get('message')}"
    for result in (body.get("data") or {}).values():
        if isinstance(result, dict) and result.get("userErrors"):
            return f"userError: {result['userErrors'][0]['code']}"
    return None


async def run_level(http: httpx.AsyncClient, workload: Workload, clients: int, seconds: float) -> Level:
    level = Level(clients, seconds)
    drafts: dict[int, str] = {}
    deadline = time.perf_counter() + seconds

    async def client(number: int) -> None:
        while time.perf_counter() < deadline:
            operation, employer, document, variables = workload.request(number, drafts)
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/graphql",
                    json={"query": document, "variables": variables},
                    headers={"Authorization": f"Bearer {employer.token}"},
                )
                status, body = response.status_code, response.json() if response.status_code == 200 else None
            except httpx.HTTPError as error:
                status, body = 0, None
                level.examples.setdefault(operation, repr(error))
            level.latencies[operation].append((time.perf_counter() - started) * 1000)
            if (why := failure_of(status, body)) is not None:
                level.failures[operation] += 1
                level.examples.setdefault(operation, why)
            elif document is CREATE_VACANCY and body is not None:
                drafts[number] = body["data"]["createVacancy"]["vacancy"]["id"]

    await asyncio.gather(*(client(n) for n in range(clients)))
    return level


def report(level: Level) -> None:
    print(
        f"\n{level.clients} concurrent clients, {level.seconds:.0f} s: {level.throughput:.1f} req/s in all"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print(f"  {'operation':<14} {'requests':>8} {'req/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'failed':>7}")
    for operation in OPERATIONS:
        p = percentiles(level.latencies[operation])
        print(
            f"  {operation:<14} {p.count:>8} {p.count / level.seconds:>8.1f} {p.p50:>9.1f} {p.p95:>9.1f}"
            f" {p.p99:>9.1f} {level.failures[operation]:>7}"
        )
    everything = percentiles([x for v in level.latencies.values() for x in v])
    print(f"  {'all':<14} {everything.count:>8} {level.throughput:>8.1f} {everything.p50:>9.1f} {everything.p95:>9.1f}"
          f" {everything.p99:>9.1f} {sum(level.failures.values()):>7}")  # fmt: skip
    for operation, example in level.examples.items():
        print(f"  first failure of {operation}: {example}")


def knee(levels: list[Level]) -> Level | None:
    """The last level before throughput stops rising by more than 10% while p99 grows."""
    for before, after in itertools.pairwise(levels):
        if after.throughput < before.throughput * 1.10 and after.p99 > before.p99:
            return before
    return None


async def main(args: argparse.Namespace, url: str) -> None:
    await ensure_profiles(url, args.profiles)
    credentials = await seed(url)
    pool = await asyncpg.create_pool(raw_url(url), min_size=1, max_size=4)
    cases = await walk_to_deep_pages(pool, the_mix(random.Random(args.seed), args.searches))
    await pool.close()
    levels = [int(n) for n in args.levels.split(",")]
    # Enough returnees for 5% of a generous guess at the throughput, never the same one twice.
    profiles = await unhired_profiles(url, min(args.profiles // 2, 200 * len(levels) * int(args.seconds) + 1000), 7)
    print(
        f"{args.profiles} profiles; search mix of {len(cases)} ({sum(c.deep for c in cases)} at page 50); "
        f"levels {levels}, {args.seconds:.0f} s each",
        flush=True,
    )
    log_file = args.directory / "load-serve.log"
    async with serving(url, log_file, workers=2, pool_size=max(levels) // 2 + 2) as base:
        limits = httpx.Limits(max_connections=max(levels), max_keepalive_connections=max(levels))
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            employers = []
            for entry in credentials["employers"]:
                token = await client_token(http, entry["apiClient"])
                employers.append(Employer(token, await open_vacancy(http, token), wage="250.00"))
            workload = Workload(cases, employers, iter(profiles), args.seed)
            await run_level(http, workload, 4, 2)  # warm both workers and their pools
            results = []
            for clients in levels:
                results.append(level := await run_level(http, workload, clients, args.seconds))
                report(level)
    best = knee(results)
    print()
    print("level  req/s    p99 ms")
    for level in results:
        print(f"{level.clients:>5} {level.throughput:>7.1f} {level.p99:>9.1f}")
    if best is None:
        print(f"knee: none up to {levels[-1]} clients (throughput still rose by more than 10% or p99 did not grow)")
    else:
        print(f"knee: {best.clients} clients ({best.throughput:.1f} req/s, p99 {best.p99:.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=750_000)
    parser.add_argument("--levels", default="1,4,8,16,32,64", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=20, help="per level")
    parser.add_argument("--searches", type=int, default=40, help="searches in the mix")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="karngar_load")
    parser.add_argument("--fresh", action="store_true", help="drop the database first (after a schema change)")
    arguments = parser.parse_args()
    arguments.directory = Path(os.environ.get("KARNGAR_BENCH_DIR", ".karngar-bench")).resolve()
    with bench_database(arguments.directory, arguments.database, fresh=arguments.fresh) as (bench_url, _):
        asyncio.run(main(arguments, bench_url))
