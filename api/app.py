"""The Starlette application factory: routes, shared state and the database's lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
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
    try:
        async with request.app.state.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready", never a crash
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable"})


def create_app(settings: Settings, database_url: str) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(
            database_url,
            pool_size=settings.db_pool_size,
            statement_timeout_ms=settings.statement_timeout_ms,
            connect_timeout_seconds=settings.db_connect_timeout_seconds,
            pool_timeout_seconds=settings.db_pool_timeout_seconds,
        )
        app.state.settings = settings
        app.state.db = Database(engine)
        observability.watch_pool(engine, settings.db_pool_size)
        app.state.signing_keys = SigningKeys.load_or_create(settings.signing_key_file)
        try:
            yield
        finally:
            observability.unwatch_pool(engine)  # before dispose(), which puts a new pool in the engine
            await engine.dispose()
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
