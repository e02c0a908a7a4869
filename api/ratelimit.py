"""Token-bucket rate limits per client IP (every request) and per caller (every GraphQL request), so that one HR
system's runaway loop cannot slow down everyone else's search; RateLimit-* headers let well-behaved callers pace
themselves. Buckets live in this process's memory by default (a check costs a few microseconds) or, with
KARNGAR_RATE_LIMIT_STORE=postgres, in one UNLOGGED table shared by every API process (one upsert per check)."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import RATE_LIMITED
from api.settings import Settings
from auth.principal import Principal
from db.rate_limits import forget_full_buckets, take_tokens

logger = logging.getLogger(__name__)

SCOPE_KEY = "karngar.rate_limit"
# Probes and scrapes must keep working when a caller is being refused.
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


@dataclass(frozen=True, slots=True)
class Limit:
    """A bucket of `burst` tokens, refilled at `per_second`; a request takes one."""

    burst: int
    per_second: float


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    tokens: float
    per_second: float

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def retry_after(self) -> int:
        """Whole seconds until the next token (at least 1 when refused)."""
        return 0 if self.allowed else max(1, math.ceil((1 - self.tokens) / self.per_second))

    @property
    def reset(self) -> int:
        """Whole seconds until the bucket is full again."""
        return max(0, math.ceil((self.limit - self.tokens) / self.per_second))

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        return headers


class BucketStore(Protocol):
    async def take(self, key: str, limit: Limit) -> Decision: ...


class MemoryBuckets:
    """This process's buckets: a dict of [tokens, last update, burst, refill per second]. Full buckets carry no
    state and are dropped when the dict grows past `max_keys`, so a scan from many addresses cannot exhaust memory."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: dict[str, list[float]] = {}
        self._max_keys = max_keys
        self._clock = clock

    async def take(self, key: str, limit: Limit) -> Decision:
        return self.take_now(key, limit)

    def take_now(self, key: str, limit: Limit) -> Decision:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full(now)
            tokens = float(limit.burst)
            bucket = self._buckets[key] = [tokens, now, limit.burst, limit.per_second]
        else:
            tokens = min(float(limit.burst), bucket[0] + (now - bucket[1]) * limit.per_second)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        bucket[0], bucket[1] = tokens, now
        return Decision(allowed, limit.burst, tokens, limit.per_second)

    def _forget_full(self, now: float) -> None:
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if bucket[0] + (now - bucket[1]) * bucket[3] < bucket[2]
        }
        if len(self._buckets) >= self._max_keys:  # everyone is busy: forgetting beats growing without bound
            self._buckets.clear()


class PostgresBuckets:
    """Buckets in the UNLOGGED table rate_limit_buckets, shared by every API process."""

    SWEEP_EVERY = 10_000

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def take(self, key: str, limit: Limit) -> Decision:
        (decision,) = (await self.take_many([(key, limit)])).values()
        return decision

    async def take_many(self, wanted: list[tuple[str, Limit]]) -> dict[str, Decision]:
        """One token from each bucket, in one statement."""
        limits = dict(wanted)
        buckets = [(key, float(limit.burst), limit.per_second) for key, limit in limits.items()]
        async with self.engine.connect() as connection:
            # Autocommit: no BEGIN and COMMIT round trips around the one statement.
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await take_tokens(connection, buckets)
            if random.random() < 1 / self.SWEEP_EVERY:  # housekeeping, not security
                await forget_full_buckets(connection)
        return {
            key: Decision(allowed, limits[key].burst, tokens, limits[key].per_second)
            for key, (tokens, allowed) in taken.items()
        }


class RateLimited(Exception):
    """Raised by `enforce_client_rate_limit`; the middleware turns it into the 429 answer."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limited")
        self.decision = decision


class RateLimiter:
    """The limits from the settings and the store that keeps their buckets."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ip_limit = Limit(settings.rate_limit_ip_burst, settings.rate_limit_ip_rate)
        self.client_limit = Limit(settings.rate_limit_client_burst, settings.rate_limit_client_rate)
        self._memory = MemoryBuckets()
        self._postgres: PostgresBuckets | None = None

    def store(self, scope: Scope) -> BucketStore:
        if self.settings.rate_limit_store != "postgres":
            return self._memory
        if self._postgres is None:  # the application's engine exists only once its lifespan has started
            self._postgres = PostgresBuckets(self._own_engine(scope["app"].state.db.engine))
        return self._postgres

    def _own_engine(self, application_engine: AsyncEngine) -> AsyncEngine:
        """A small pool of its own, in autocommit and without the pre-ping, so that a check is exactly one round
        trip; a connection lost with the database is dropped on its first error (and the request let through)."""
        return create_async_engine(
            application_engine.url,
            pool_size=max(2, self.settings.db_pool_size // 2),
            max_overflow=0,
            pool_timeout=1,
            isolation_level="AUTOCOMMIT",
            connect_args={"server_settings": {"statement_timeout": "1000", "application_name": "karngar-ratelimit"}},
        )

    async def close(self) -> None:
        if self._postgres is not None:
            await self._postgres.engine.dispose()

    async def take(self, scope: Scope, key: str, limit: Limit) -> Decision | None:
        """The decision, or None when the shared store cannot be reached: then the request goes through, as an
        unreachable database is the health check's business, not a reason to refuse every caller."""
        try:
            return await self.store(scope).take(key, limit)
        except Exception:  # fail open, loudly
            logger.warning("rate limit store unavailable; letting the request through", exc_info=True)
            return None


class RateLimitState:
    """What the middleware and the per-caller check share for one request: the tightest decision so far."""

    __slots__ = ("decision", "limiter")

    def __init__(self, limiter: RateLimiter, decision: Decision | None) -> None:
        self.limiter = limiter
        self.decision = decision

    def record(self, decision: Decision) -> None:
        if self.decision is None or not decision.allowed or decision.remaining < self.decision.remaining:
            self.decision = decision


def rate_limited_response(decision: Decision) -> JSONResponse:
    message = f"Too many requests: retry after {decision.retry_after} seconds."
    body = {
        "errors": [{"message": message, "extensions": {"code": "RATE_LIMITED", "retryAfter": decision.retry_after}}]
    }
    response = JSONResponse(body, status_code=429, headers={"Cache-Control": "no-store"})
    response.raw_headers.extend(decision.headers())
    return response


async def enforce_client_rate_limit(request: Request, principal: Principal) -> None:
    """The authenticated caller's own bucket (an API client, or a logged-in user); raises RateLimited when empty.
    Called by /graphql right after authentication; a no-op when the middleware is not installed."""
    state: RateLimitState | None = request.scope.get(SCOPE_KEY)
    if state is None:
        return
    decision = await state.limiter.take(
        request.scope, f"caller:{principal.kind}:{principal.subject}", state.limiter.client_limit
    )
    if decision is None:
        return
    state.record(decision)
    if not decision.allowed:
        RATE_LIMITED.labels(kind="client").inc()
        raise RateLimited(decision)


class RateLimitMiddleware:
    """Takes a token from the client IP's bucket for every HTTP request, adds the RateLimit-* headers of the
    tightest bucket to the answer, and answers 429 when a bucket is empty."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limiter = RateLimiter(settings)
        self.enabled = settings.rate_limit_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing_on_shutdown(receive), send)
            return
        if scope["type"] != "http" or not self.enabled or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        decision = await self.limiter.take(scope, f"ip:{client[0] if client else 'unknown'}", self.limiter.ip_limit)
        if decision is not None and not decision.allowed:
            RATE_LIMITED.labels(kind="ip").inc()
            await rate_limited_response(decision)(scope, receive, send)
            return
        state = scope[SCOPE_KEY] = RateLimitState(self.limiter, decision)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if state.decision is not None:
                    message["headers"] = [*message.get("headers", ()), *state.decision.headers()]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except RateLimited as refused:
            if started:
                raise
            await rate_limited_response(refused.decision)(scope, receive, send)

    def _closing_on_shutdown(self, receive: Receive) -> Receive:
        async def receive_then_close() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.limiter.close()
            return message

        return receive_then_close
