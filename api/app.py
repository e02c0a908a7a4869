"""The Starlette application factory: routes, shared state and the database's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from api import observability
from api.exports import routes as export_routes
from api.graphql import graphql_routes
from api.ratelimit import RateLimitMiddleware
from api.settings import Settings
from api.slow_clients import BodyTimeoutMiddleware
from api.web import web_routes
from auth.keys import SigningKeys
from auth.routes import routes as auth_routes
from db.engine import Database, create_engine


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers, and the read replica too when there is one (search reads it)."""
    db = request.app.state.db
    answers = {"database": db.engine} | ({"readReplica": db.replica} if db.replica is not None else {})
    report = {name: "reachable" if await _answers(engine) else "unreachable" for name, engine in answers.items()}
    ready = all(state == "reachable" for state in report.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", **report}, status_code=200 if ready else 503)


async def _answers(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready", never a crash
        return False
    return True


def create_app(settings: Settings, database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        def engine_of(url: str) -> AsyncEngine:
            return create_engine(
                url,
                pool_size=settings.db_pool_size,
                statement_timeout_ms=settings.statement_timeout_ms,
                connect_timeout_seconds=settings.db_connect_timeout_seconds,
                pool_timeout_seconds=settings.db_pool_timeout_seconds,
            )

        engine = engine_of(database_url)
        replica = engine_of(settings.read_replica_url) if settings.read_replica_url else None
        engines = [e for e in (engine, replica) if e is not None]
        app.state.settings = settings
        app.state.db = Database(engine, replica=replica)
        for each in engines:
            observability.watch_pool(each, settings.db_pool_size)
        app.state.signing_keys = SigningKeys.load_or_create(settings.signing_key_file)
        try:
            yield
        finally:
            for each in engines:
                observability.unwatch_pool(each)  # before dispose(), which puts a new pool in the engine
                await each.dispose()
            observability.shutdown(app)

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", observability.metrics_endpoint),
        *auth_routes,
        *graphql_routes(),
        *export_routes,
        *web_routes(),
    ]
    application = Starlette(routes=routes, lifespan=lifespan)
    # add_middleware wraps what is there: the rate limit goes outside the body timeout (a refusal reads no body)
    # and inside observability (whose access log and metrics then count the 429s).
    application.add_middleware(BodyTimeoutMiddleware, settings=settings)
    application.add_middleware(RateLimitMiddleware, settings=settings)
    observability.install(application, settings)  # request ids, access log, HTTP metrics, optional tracing
    return application
