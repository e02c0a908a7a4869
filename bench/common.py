"""What the benchmarks share: a database of their own, `karngar serve` as a child process,
tokens, GraphQL calls over HTTP, and percentiles.

Each run gets its own database (and, for the fault run, its own embedded server) so that one run's
writes never change what another measures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.embedded import EmbeddedPostgres
from db.migrate import upgrade

KARNGAR = Path(sys.executable).with_name("karngar")

VACANCY_INPUT: dict[str, Any] = {
    "title": "Sewing machine operator",
    "occupationCode": "8153",
    "province": "KAMPONG_SPEU",
    "description": "Single-needle sewing, 48 h/week",
    "positions": 10_000,
    "requiredSkills": ["textile.single-needle-sewing"],
    "contractType": "FIXED_TERM",
    "wageMinUsd": "250.00",
    "benefits": ["TRANSPORT"],
}
CREATE_VACANCY = """
mutation($input: CreateVacancyInput!) {
  createVacancy(input: $input) { vacancy { id status } userErrors { code field message } }
}"""
PUBLISH_VACANCY = """
mutation($input: VacancyIdInput!) {
  publishVacancy(input: $input) { vacancy { id status } userErrors { code field message } }
}"""
RECORD_HIRE = """
mutation($input: RecordHireInput!) {
  recordHire(input: $input) { hire { id status } userErrors { code field message } }
}"""


@contextmanager
def bench_database(directory: Path, name: str, *, fresh: bool = False) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """DATABASE_URL's server, or an embedded PostgreSQL in `directory`; a database `name` on it, migrated.

    Yields the database URL and the embedded server (None with DATABASE_URL)."""
    embedded = None
    if os.environ.get("DATABASE_URL"):
        from sqlalchemy.engine import make_url

        server_url = os.environ["DATABASE_URL"]
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        _admin(server_url, name, fresh)
    else:
        embedded = EmbeddedPostgres(directory.resolve())
        embedded.start("postgres")
        if fresh:
            embedded.drop_database(name)
        embedded.create_database(name)
        url = embedded.url(name)
    try:
        upgrade(url)
        yield url, embedded
    finally:
        if embedded is not None:
            embedded.stop()


def _admin(server_url: str, name: str, fresh: bool) -> None:
    """Create database `name` on DATABASE_URL's server (dropping it first when `fresh`)."""
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(raw_url(server_url))
        try:
            if fresh:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(run())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raw_url(url: str) -> str:
    """The URL for asyncpg itself (it knows postgres:// and postgresql://, not SQLAlchemy's driver suffix)."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


def process_tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (Linux /proc; just `pid` elsewhere)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(entry.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
        parents.setdefault(parent, []).append(int(entry.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(current := todo.pop())
        todo += parents.get(current, [])
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far (those that ended count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def serving(
    url: str,
    log_file: Path,
    *,
    workers: int = 2,
    pool_size: int = 10,
    env: dict[str, str] | None = None,
    processes: list[int] | None = None,
) -> AsyncIterator[str]:
    """`karngar serve` on a free port against `url`, ready when this yields its base URL; stopped by SIGINT.
    `processes`, when given, receives the server's process ids (supervisor and workers) once it is ready."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "KARNGAR_PORT": str(port),
        "KARNGAR_WORKERS": str(workers),
        "KARNGAR_ACCESS_LOG": "false",
        "KARNGAR_DB_POOL_SIZE": str(pool_size),
        "KARNGAR_DATA_DIR": str(log_file.parent),
        # These runs measure capacity and correctness; the per-client rate limit would only pace them.
        "KARNGAR_RATE_LIMIT_ENABLED": "false",
        **(env or {}),
    }
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        server = subprocess.Popen([str(KARNGAR), "serve"], env=environment, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(base, server)
            if processes is not None:
                processes += process_tree(server.pid)
            yield base
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


async def wait_ready(base: str, server: subprocess.Popen[bytes] | None = None, limit: float = 60) -> float:
    """Seconds until /readyz answers 200."""
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        while time.perf_counter() - started < limit:
            if server is not None and server.poll() is not None:
                raise RuntimeError(f"karngar serve exited with {server.returncode}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{base}/readyz did not answer 200 within {limit} s")


async def client_token(http: httpx.AsyncClient, api_client: dict[str, Any]) -> str:
    """An access token for one of seed-demo's API clients."""
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(api_client["clientId"], api_client["clientSecret"]),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def graphql(
    http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST one GraphQL document; raises on a non-200 answer, returns the body."""
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


async def open_vacancy(http: httpx.AsyncClient, token: str, **changes: Any) -> str:
    """Create and publish a vacancy (10,000 positions unless told otherwise); returns its global id."""
    created = await graphql(http, token, CREATE_VACANCY, {"input": {**VACANCY_INPUT, **changes}})
    assert not created.get("errors") and created["data"]["createVacancy"]["userErrors"] == [], created
    vacancy_id = str(created["data"]["createVacancy"]["vacancy"]["id"])
    published = await graphql(http, token, PUBLISH_VACANCY, {"input": {"id": vacancy_id}})
    assert not published.get("errors") and published["data"]["publishVacancy"]["userErrors"] == [], published
    return vacancy_id


async def unhired_profiles(url: str, count: int, seed: int) -> list[str]:
    """Global ids of `count` returnees nobody has hired, in a seeded random order."""
    import asyncpg

    from schema.common import to_global_id

    connection = await asyncpg.connect(raw_url(url))
    try:
        await connection.execute("SELECT setseed($1)", (seed % 1000) / 1000)
        rows = await connection.fetch(
            "SELECT id FROM returnee_profiles WHERE is_available ORDER BY random() LIMIT $1", count
        )
    finally:
        await connection.close()
    return [to_global_id("ReturneeProfile", row["id"]) for row in rows]


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50: float
    p95: float
    p99: float


def percentiles(latencies_ms: list[float]) -> Percentiles:
    if len(latencies_ms) < 2:
        only = latencies_ms[0] if latencies_ms else float("nan")
        return Percentiles(len(latencies_ms), only, only, only)
    q = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return Percentiles(len(latencies_ms), q[49], q[94], q[98])
