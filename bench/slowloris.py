"""Slow clients: does normal GraphQL traffic stay fast while a few hundred slowloris connections hold sockets open?

    .venv/bin/python bench/slowloris.py [--attackers 300] [--seconds 12] [--rounds 2] [--concurrency 16] [--unprotected]

Starts `karngar serve` (2 workers) on a database of its own (the embedded PostgreSQL under KARNGAR_BENCH_DIR,
default ./.karngar-bench, or DATABASE_URL), then measures p50/p95/p99 of normal GraphQL requests (a vacancy list
and the viewer, `--concurrency` clients) in quiet phases and in phases while `--attackers` connections each send
a request's headers one byte a second and never finish them (reconnecting whenever the server hangs up, so the
attack keeps its size). Quiet and attacked phases alternate `--rounds` times, so that the machine's other load
falls on both alike. It prints both, with the errors and how often the server cut an attacker off.
`--unprotected` runs the same against a server without the header deadline and with `--limit-concurrency 100`,
to show what the protection buys.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.demo import seed
from bench.common import Percentiles, bench_database, client_token, open_vacancy, percentiles, serving

VACANCIES = "{ vacancies(first: 20) { totalCount edges { node { id title status positions } } } }"
VIEWER = "{ viewer { name roles scopes } }"
# The benchmark measures slow clients, not the rate limit: its buckets are on (their cost is in the numbers)
# but never run dry.
GENEROUS_LIMITS = {
    "KARNGAR_RATE_LIMIT_CLIENT_RATE": "1000000",
    "KARNGAR_RATE_LIMIT_CLIENT_BURST": "1000000",
    "KARNGAR_RATE_LIMIT_IP_RATE": "1000000",
    "KARNGAR_RATE_LIMIT_IP_BURST": "1000000",
}


@dataclass
class Traffic:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def failed(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def add(self, other: Traffic) -> None:
        self.latencies_ms += other.latencies_ms
        for what, count in other.errors.items():
            self.errors[what] = self.errors.get(what, 0) + count


@dataclass
class Attack:
    cut_off: int = 0
    refused: int = 0
    held_at_start: int = 0
    held_at_end: int = 0


class Counters:
    """What the attacking process tells the measuring one."""

    def __init__(self, context: BaseContext) -> None:
        self.open_now: Synchronized[int] = context.Value("i", 0)  # type: ignore[attr-defined]
        self.cut_off: Synchronized[int] = context.Value("i", 0)  # type: ignore[attr-defined]
        self.refused: Synchronized[int] = context.Value("i", 0)  # type: ignore[attr-defined]


async def normal_traffic(base: str, token: str, seconds: float, concurrency: int) -> Traffic:
    traffic = Traffic()
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:

        async def client(n: int) -> None:
            while time.perf_counter() < deadline:
                query = VIEWER if n % 4 == 0 else VACANCIES
                started = time.perf_counter()
                try:
                    response = await http.post("/graphql", json={"query": query}, headers=headers)
                except httpx.HTTPError as error:
                    traffic.failed(type(error).__name__)
                    continue
                if response.status_code != 200 or "errors" in response.json():
                    traffic.failed(f"HTTP {response.status_code}")
                    continue
                traffic.latencies_ms.append((time.perf_counter() - started) * 1000)
                n += 1

        await asyncio.gather(*(client(n) for n in range(concurrency)))
    return traffic


async def slowloris(host: str, port: int, counters: Counters, stop: asyncio.Event, byte_every: float) -> None:
    """One attacker: a request line, then header bytes one at a time, forever; reconnects when cut off."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counters.refused.value += 1
            await asyncio.sleep(1)
            continue
        counters.open_now.value += 1
        try:
            writer.write(b"GET /graphql HTTP/1.1\r\nHost: karngar\r\nUser-Agent: slowloris\r\n")
            while not stop.is_set():
                await asyncio.sleep(byte_every)
                if reader.at_eof() or writer.is_closing():
                    break
                writer.write(b"X")
                await writer.drain()
                try:
                    await asyncio.wait_for(reader.read(1024), 0.001)
                    break  # the server answered (a 408) or hung up
                except TimeoutError:
                    continue
            if not stop.is_set():
                counters.cut_off.value += 1
        except (ConnectionError, OSError):
            if not stop.is_set():
                counters.cut_off.value += 1
        finally:
            counters.open_now.value -= 1
            writer.close()


def attack_process(host: str, port: int, attackers: int, byte_every: float, stop: Any, counters: Counters) -> None:
    """The attack runs in a process of its own, as it would from another machine: its work does not slow down
    the event loop that times the normal requests."""

    async def attack() -> None:
        stopping = asyncio.Event()
        tasks = [asyncio.create_task(slowloris(host, port, counters, stopping, byte_every)) for _ in range(attackers)]
        await asyncio.to_thread(stop.wait)  # the measuring process says when
        stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(attack())


def line(name: str, stats: Percentiles, seconds: float, traffic: Traffic) -> str:
    errors = ", ".join(f"{what}: {count}" for what, count in sorted(traffic.errors.items())) or "none"
    return (
        f"{name:<50} {stats.count / seconds:7.1f} req/s   p50 {stats.p50:7.1f} ms   p95 {stats.p95:7.1f} ms   "
        f"p99 {stats.p99:7.1f} ms   errors: {errors}"
    )


async def under_attack(base: str, token: str, args: argparse.Namespace, attack: Attack) -> Traffic:
    """Normal traffic for one phase while `args.attackers` slowloris connections are held open."""
    address = urlsplit(base)
    context = multiprocessing.get_context("spawn")
    stop, counters = context.Event(), Counters(context)
    attacker = context.Process(
        target=attack_process,
        args=(address.hostname, address.port, args.attackers, args.byte_every, stop, counters),
    )
    attacker.start()
    for _ in range(300):  # until every attacker holds a connection
        if counters.open_now.value >= args.attackers:
            break
        await asyncio.sleep(0.05)
    attack.held_at_start = min(attack.held_at_start, counters.open_now.value)
    await asyncio.sleep(1)  # the attack settles in before it is measured
    loaded = await normal_traffic(base, token, args.seconds, args.concurrency)
    attack.held_at_end = min(attack.held_at_end, counters.open_now.value)
    stop.set()
    attacker.join(timeout=30)
    attack.cut_off += counters.cut_off.value
    attack.refused += counters.refused.value
    return loaded


async def measure(base: str, token: str, args: argparse.Namespace, label: str) -> None:
    """Quiet and attacked phases in turn, `args.rounds` times, so that a change in the machine's other load
    falls on both alike."""
    await normal_traffic(base, token, 2, args.concurrency)  # warm both workers
    quiet, loaded, attack = Traffic(), Traffic(), Attack(held_at_start=args.attackers, held_at_end=args.attackers)
    for _ in range(args.rounds):
        quiet.add(await normal_traffic(base, token, args.seconds, args.concurrency))
        loaded.add(await under_attack(base, token, args, attack))
    seconds = args.seconds * args.rounds
    print(line(f"{label}: no attack", percentiles(quiet.latencies_ms), seconds, quiet))
    print(line(f"{label}: {args.attackers} slowloris", percentiles(loaded.latencies_ms), seconds, loaded))
    print(
        f"{'':<50} attack: at least {attack.held_at_start} connections held at the start of each phase and "
        f"{attack.held_at_end} at its end; {attack.cut_off} cut off by the server, {attack.refused} refused",
        flush=True,
    )


async def main(args: argparse.Namespace, url: str, log_dir: Path) -> None:
    credentials = await seed(url)
    hr = credentials["employers"][0]["apiClient"]
    protected = {**GENEROUS_LIMITS, "KARNGAR_LOG_LEVEL": "WARNING"}
    print(
        f"{args.attackers} slowloris connections (a header byte every {args.byte_every:g} s), {args.concurrency} "
        f"normal clients, {args.rounds} rounds of a {args.seconds:g} s quiet phase and a {args.seconds:g} s "
        "attacked one; `karngar serve` with 2 workers",
        flush=True,
    )
    header_timeout = os.environ.get("KARNGAR_HEADER_TIMEOUT", "10")
    async with serving(url, log_dir / "serve.log", env=protected) as base:
        token = await setup(base, hr)
        await measure(base, token, args, f"protected (header deadline {header_timeout} s)")
    if args.unprotected:
        # No header deadline to speak of, and the kind of --limit-concurrency an operator might pick.
        exposed = {**protected, "KARNGAR_HEADER_TIMEOUT": "3600", "KARNGAR_LIMIT_CONCURRENCY": "100"}
        async with serving(url, log_dir / "serve-unprotected.log", env=exposed) as base:
            token = await setup(base, hr)
            await measure(base, token, args, "unprotected (limit-concurrency 100)")


async def setup(base: str, api_client: dict[str, str]) -> str:
    """A token from this server (its issuer names its port) and 20 open vacancies to list."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        token = await client_token(http, api_client)
        headers = {"Authorization": f"Bearer {token}"}
        listed = (await http.post("/graphql", json={"query": VACANCIES}, headers=headers)).json()
        for n in range(listed["data"]["vacancies"]["totalCount"], 20):
            await open_vacancy(http, token, title=f"Sewing machine operator {n}")
    return token


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attackers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=12, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--byte-every", type=float, default=1.0, help="seconds between an attacker's header bytes")
    parser.add_argument("--unprotected", action="store_true")
    arguments = parser.parse_args()
    directory = Path(os.environ.get("KARNGAR_BENCH_DIR", ".karngar-bench")).resolve()
    with bench_database(directory, "karngar_slowloris") as (bench_url, _):
        asyncio.run(main(arguments, bench_url, directory / "slowloris"))
