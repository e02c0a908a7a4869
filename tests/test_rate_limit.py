"""The token-bucket rate limit: per caller on /graphql, per address on every path, in memory or shared through
PostgreSQL, with RateLimit-* headers and a GraphQL-shaped 429."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, text
from starlette.applications import Starlette

from api.app import create_app
from api.ratelimit import Limit, MemoryBuckets, RateLimitMiddleware
from api.settings import Settings
from db.engine import Database
from tests.factories import Caller, Factory

VIEWER = "{ viewer { name } }"
SLOW = 0.001  # tokens a second: an emptied bucket stays empty for the whole test


@asynccontextmanager
async def limited_app(settings: Settings, database_url: str, **changes: Any) -> AsyncIterator[Starlette]:
    """An application of its own with the rate limit on and the given settings changed."""
    application = create_app(replace(settings, rate_limit_enabled=True, **changes), database_url)
    async with application.router.lifespan_context(application):
        yield application
    layer: Any = application.middleware_stack
    while layer is not None:  # the shared store's own connection pool
        if isinstance(layer, RateLimitMiddleware):
            await layer.limiter.close()
        layer = getattr(layer, "app", None)


def http_from(application: Starlette, address: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def ask(http: httpx.AsyncClient, caller: Caller) -> httpx.Response:
    return await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": f"Bearer {caller.token}"})


async def refusals(http: httpx.AsyncClient, kind: str) -> float:
    """karngar_rate_limited_total{kind=...} as /metrics shows it to a loopback scraper."""
    exposition = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "karngar_rate_limited_total" and sample.labels.get("kind") == kind:
                return sample.value
    return 0.0


async def test_every_answer_carries_the_headers_of_the_callers_bucket(
    make: Factory, settings: Settings, database_url: str
) -> None:
    caller = await make.employer_caller()
    async with limited_app(settings, database_url, rate_limit_client_burst=5, rate_limit_client_rate=SLOW) as app:
        async with http_from(app) as http:
            first, second = await ask(http, caller), await ask(http, caller)

    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["viewer"]["name"]
    assert [first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]] == ["5", "4"]
    assert [second.headers["RateLimit-Limit"], second.headers["RateLimit-Remaining"]] == ["5", "3"]
    assert int(second.headers["RateLimit-Reset"]) > 0
    assert "Retry-After" not in second.headers


async def test_a_caller_past_its_burst_gets_429_retry_after_and_a_graphql_error(
    make: Factory, settings: Settings, database_url: str
) -> None:
    caller = await make.employer_caller()
    async with limited_app(settings, database_url, rate_limit_client_burst=3, rate_limit_client_rate=0.01) as app:
        async with http_from(app) as http, http_from(app, "127.0.0.1") as scraper:
            before = await refusals(scraper, "client")
            answers = [await ask(http, caller) for _ in range(4)]
            after = await refusals(scraper, "client")

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    retry_after = int(refused.headers["Retry-After"])
    assert 90 <= retry_after <= 100  # one token at 0.01 a second, less what refilled during the requests
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.json() == {
        "errors": [
            {
                "message": f"Too many requests: retry after {retry_after} seconds.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
            }
        ]
    }
    assert after - before == 1


async def test_one_callers_empty_bucket_leaves_other_callers_alone(
    make: Factory, settings: Settings, database_url: str
) -> None:
    greedy, other = await make.employer_caller(), await make.employer_caller()
    async with limited_app(settings, database_url, rate_limit_client_burst=2, rate_limit_client_rate=SLOW) as app:
        async with http_from(app) as http:
            greedy_answers = [(await ask(http, greedy)).status_code for _ in range(3)]
            other_answer = await ask(http, other)

    assert greedy_answers == [200, 200, 429]
    assert other_answer.status_code == 200
    assert other_answer.headers["RateLimit-Remaining"] == "1"


async def test_an_empty_bucket_refills_with_time(make: Factory, settings: Settings, database_url: str) -> None:
    caller = await make.employer_caller()
    async with limited_app(settings, database_url, rate_limit_client_burst=1, rate_limit_client_rate=1) as app:
        async with http_from(app) as http:
            first, second = await ask(http, caller), await ask(http, caller)
            await asyncio.sleep(1.1)  # more than a token at 1 a second
            later = await ask(http, caller)

    assert [first.status_code, second.status_code, later.status_code] == [200, 429, 200]


async def test_the_address_limit_covers_every_path_but_only_that_address(settings: Settings, database_url: str) -> None:
    async with limited_app(settings, database_url, rate_limit_ip_burst=3, rate_limit_ip_rate=SLOW) as app:
        async with http_from(app, "10.0.0.7") as noisy, http_from(app, "10.0.0.8") as quiet:
            allowed = [(await noisy.get("/.well-known/jwks.json")).status_code for _ in range(3)]
            refused_graphql = await noisy.post("/graphql", json={"query": VIEWER})
            refused_token = await noisy.post("/oauth/token", data={"grant_type": "client_credentials"})
            health = await noisy.get("/healthz")
            elsewhere = await quiet.get("/.well-known/jwks.json")

    assert allowed == [200, 200, 200]
    assert refused_graphql.status_code == refused_token.status_code == 429
    assert refused_graphql.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert int(refused_token.headers["Retry-After"]) >= 1
    assert health.status_code == 200  # probes are never limited
    assert elsewhere.status_code == 200
    assert elsewhere.headers["RateLimit-Remaining"] == "2"


async def test_with_the_postgres_store_two_processes_share_one_bucket(
    make: Factory, settings: Settings, database_url: str
) -> None:
    caller = await make.employer_caller()
    shared = {"rate_limit_store": "postgres", "rate_limit_client_burst": 3, "rate_limit_client_rate": SLOW}
    async with (
        limited_app(settings, database_url, **shared) as one,
        limited_app(settings, database_url, **shared) as two,
    ):
        async with http_from(one) as first_process, http_from(two) as second_process:
            answers = [
                await ask(first_process, caller),
                await ask(second_process, caller),
                await ask(first_process, caller),
                await ask(second_process, caller),
            ]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[-1].json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_a_postgres_check_is_one_statement_on_an_unlogged_table(
    make: Factory, settings: Settings, database_url: str, db: Database
) -> None:
    caller = await make.employer_caller()
    statements: list[str] = []
    async with limited_app(settings, database_url, rate_limit_store="postgres") as app:
        async with http_from(app) as http:
            await ask(http, caller)  # the store's engine exists from the first request on
            layer: Any = app.middleware_stack
            while not isinstance(layer, RateLimitMiddleware):
                layer = layer.app
            engine = layer.limiter.store({"app": app}).engine  # type: ignore[attr-defined]
            event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
            answer = await ask(http, caller)

    assert answer.status_code == 200
    assert len(statements) == 2  # the address's bucket and the caller's: one statement each
    assert all(s.lstrip().startswith("INSERT INTO rate_limit_buckets") for s in statements)
    async with db.read() as session:
        persistence = await session.scalar(
            text("SELECT relpersistence::text FROM pg_class WHERE relname = 'rate_limit_buckets'")
        )
        keys = set(
            (await session.scalars(text("SELECT key FROM rate_limit_buckets WHERE key NOT LIKE 'login:%'"))).all()
        )
    assert persistence == "u"
    assert keys == {"ip:10.0.0.1", f"caller:client:{caller.client_id}"}


def test_an_in_memory_check_costs_microseconds() -> None:
    buckets, limit = MemoryBuckets(), Limit(burst=1_000_000, per_second=1_000.0)
    checks = 20_000
    started = time.perf_counter()
    for n in range(checks):
        buckets.take_now(f"caller:client:hr-{n % 500}", limit)
    per_check = (time.perf_counter() - started) / checks

    assert per_check < 50e-6, f"{per_check * 1e6:.1f} µs a check"


def test_memory_stays_bounded_when_many_addresses_call_once() -> None:
    now = [0.0]
    buckets, limit = MemoryBuckets(max_keys=100, clock=lambda: now[0]), Limit(burst=10, per_second=1.0)
    for n in range(1_000):
        buckets.take_now(f"ip:10.0.{n // 256}.{n % 256}", limit)
        now[0] += 0.5  # buckets from 20 seconds ago are full again: nothing to remember

    assert len(buckets._buckets) <= 100
    assert buckets.take_now("ip:10.0.3.231", limit).remaining == 8  # the most recent caller is still counted
