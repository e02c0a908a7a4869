"""Logs, request ids, /metrics and tracing, as an operator and an auditor of personal data see them.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from api import observability
from api.app import create_app
from api.settings import Settings
from db.engine import Database
from db.enums import Province, Role, Sex
from db.returnees import ReturneeIdentity
from resolvers.returnees import normalise_phone
from schema.common import uuid_of
from tests.factories import Factory, accepted, send
from tests.processes import free_port, wait_ready
from tests.test_hires import RECORD, hire_input
from tests.test_profiles import SEARCH
from tests.test_returnees import NAME, NATIONAL_ID, PHONE, REGISTER, ministry_client, returnee_input
from tests.test_vacancies import open_vacancy

VIEWER = "query WhoAmI { viewer { employer { id } } }"
BIRTH_DATE = "1991-04-17"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything any logger writes, formatted exactly as `karngar serve` writes it (JSON, redacted)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.formatter(json=True))
    handler.addFilter(observability.RequestIdFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def request_lines(stream: io.StringIO, route: str) -> list[dict[str, Any]]:
    return [line for line in lines(stream) if line.get("logger") == "karngar.request" and line["route"] == route]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return samples(response.text)


# Request ids


async def test_every_response_carries_a_new_request_id_unless_the_caller_sent_a_sane_one(
    client: httpx.AsyncClient,
) -> None:
    fresh = await client.get("/healthz")
    again = await client.get("/healthz")
    kept = await client.get("/healthz", headers={"X-Request-ID": "hr-system.batch-42:7"})
    refused = await client.get("/healthz", headers={"X-Request-ID": "x" * 200})
    odd = await client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})

    assert len(fresh.headers["X-Request-ID"]) == 32
    assert fresh.headers["X-Request-ID"] != again.headers["X-Request-ID"]
    assert kept.headers["X-Request-ID"] == "hr-system.batch-42:7"
    assert refused.headers["X-Request-ID"] != "x" * 200 and len(refused.headers["X-Request-ID"]) == 32
    assert "<" not in odd.headers["X-Request-ID"]


async def test_later_layers_read_the_request_id_from_request_state() -> None:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.state.request_id)

    inner = Starlette(routes=[Route("/echo", echo)])
    inner.add_middleware(observability.RequestObservability, access_log=False)

    async with client_at(inner, "127.0.0.1") as http:
        generated = await http.get("/echo")
        given = await http.get("/echo", headers={"X-Request-ID": "abc-123"})

    assert generated.text == generated.headers["X-Request-ID"]
    assert given.text == "abc-123" == given.headers["X-Request-ID"]


async def test_a_graphql_request_is_logged_once_as_json_with_principal_operation_status_and_duration(
    make: Factory, client: httpx.AsyncClient, logs: io.StringIO
) -> None:
    caller = await make.employer_caller()

    response = await client.post(
        "/graphql",
        json={"query": VIEWER, "operationName": "WhoAmI"},
        headers={"Authorization": f"Bearer {caller.token}", "X-Request-ID": "trace-me-1"},
    )

    assert response.status_code == 200
    (line,) = request_lines(logs, "/graphql")
    assert line["request_id"] == response.headers["X-Request-ID"] == "trace-me-1"
    assert line["level"] == "INFO" and line["message"] == "request" and line["time"]
    assert (line["method"], line["status"], line["path"]) == ("POST", 200, "/graphql")
    assert line["principal_kind"] == "client"
    assert line["principal_id"] == caller.client_id
    assert caller.employer is not None and line["employer_id"] == str(caller.employer.id)
    assert (line["operation"], line["operation_name"], line["outcome"]) == ("query:viewer", "WhoAmI", "ok")
    assert line["duration_ms"] > 0
    assert caller.employer.legal_name not in json.dumps(line)


async def test_an_invalid_document_is_logged_as_invalid_without_echoing_the_callers_text(
    make: Factory, client: httpx.AsyncClient, logs: io.StringIO
) -> None:
    caller = await make.employer_caller()
    headers = {"Authorization": f"Bearer {caller.token}"}
    long_name = "Q" * 150

    invalid = await client.post("/graphql", json={"query": "{ noSuchField_0123456789 }"}, headers=headers)
    named = await client.post(
        "/graphql", json={"query": f"query {long_name} {{ viewer {{ employer {{ id }} }} }}"}, headers=headers
    )

    assert invalid.json()["errors"] and named.status_code == 200
    first, second = request_lines(logs, "/graphql")
    assert (first["operation"], first["operation_name"], first["outcome"]) == ("invalid", None, "invalid")
    assert (second["operation"], second["operation_name"], second["outcome"]) == ("query:viewer", None, "ok")
    assert "noSuchField_0123456789" not in logs.getvalue() and long_name not in logs.getvalue()


async def test_no_personal_data_of_a_returnee_reaches_the_logs(
    make: Factory, db: Database, client: httpx.AsyncClient, logs: io.StringIO
) -> None:
    officer = await ministry_client(make, Province.BATTAMBANG)
    employer = await make.employer_caller()

    registered = await send(make, officer, REGISTER, returnee_input(dateOfBirth=BIRTH_DATE))
    duplicate = await send(make, officer, REGISTER, returnee_input(dateOfBirth=BIRTH_DATE))
    mistyped = await make.graphql(officer, REGISTER, {"input": returnee_input(dateOfBirth=PHONE)})
    found = await make.graphql(employer, SEARCH, {"filter": {"provinces": ["BATTAMBANG"]}, "first": 20})
    vacancy = await open_vacancy(make, employer)
    profile = uuid_of(registered["profile"]["id"], "ReturneeProfile")
    hired = await send(make, employer, RECORD, hire_input(vacancy, profile))
    async with db.write() as session:  # a database error that quotes the phone, logged as any error would be
        try:
            async with session.begin_nested():
                session.add(
                    ReturneeIdentity(
                        name=NAME,
                        sex=Sex.FEMALE,
                        date_of_birth=date.fromisoformat(BIRTH_DATE),
                        phone=normalise_phone(PHONE),
                        province=Province.BATTAMBANG,
                        returned_on=date.fromisoformat(BIRTH_DATE),
                        consent_to_search=True,
                        registered_by="test",
                    )
                )
                await session.flush()
        except IntegrityError:
            logging.getLogger("karngar.test").exception("registration failed")

    assert registered["userErrors"] == [] and duplicate["userErrors"]
    assert PHONE in mistyped["errors"][0]["message"]  # the caller is told; the log must not be
    assert "errors" not in found and found["data"]["returneeProfiles"]["totalCount"] >= 1
    assert hired["userErrors"] == [] and hired["hire"]["id"]
    written = logs.getvalue()
    assert "registration failed" in written and "(redacted)" in written  # the error was logged, its values were not
    assert len(request_lines(logs, "/graphql")) >= 5
    for personal in (NAME, PHONE, normalise_phone(PHONE), PHONE.replace(" ", ""), NATIONAL_ID, BIRTH_DATE):
        assert personal not in written, personal
        assert json.dumps(personal)[1:-1] not in written, personal  # nor JSON-escaped (the Khmer name)


async def test_database_values_are_redacted_from_messages_and_tracebacks() -> None:
    message = (
        '(sqlalchemy.dialects.postgresql.asyncpg.IntegrityError) duplicate key value violates unique constraint "uq"\n'
        "DETAIL:  Key (phone)=(+85512345678) already exists.\n"
        "[SQL: INSERT INTO returnee_identities (name, phone) VALUES ($1, $2)]\n"
        "[parameters: ('សុខ ដារ៉ា', '+85512345678')]\n"
        "DETAIL:  Failing row contains (Sok, 010203040).\n"
        "DETAIL:  Key (national_id)=(010203041) some future wording."
    )

    redacted = observability.redact(message)

    assert "+85512345678" not in redacted and "សុខ" not in redacted and "010203040" not in redacted
    assert "010203041" not in redacted
    assert "Key (phone)=(redacted) already exists" in redacted
    assert "INSERT INTO returnee_identities" in redacted


# Metrics


async def test_metrics_count_operations_by_outcome_with_latency_and_the_pool(
    make: Factory, client: httpx.AsyncClient, db: Database
) -> None:
    caller = await make.employer_caller()
    before = await scrape(client)
    ok_key = ("karngar_graphql_requests_total", (("operation", "query:viewer"), ("outcome", "ok")))
    count_key = ("karngar_graphql_request_duration_seconds_count", (("operation", "query:viewer"),))

    for _ in range(3):
        await make.graphql(caller, VIEWER)
    async with db.read() as session:
        await session.connection()
        during = await scrape(client)
    after = await scrape(client)

    assert after[ok_key] - before.get(ok_key, 0) == 3
    assert after[count_key] - before.get(count_key, 0) == 3
    bucket = ("karngar_graphql_request_duration_seconds_bucket", (("le", "0.005"), ("operation", "query:viewer")))
    assert bucket in after
    assert after[("karngar_db_pool_size", ())] == 5
    assert during[("karngar_db_pool_connections_in_use", ())] >= 1
    assert after[("karngar_db_pool_connections_in_use", ())] == during[("karngar_db_pool_connections_in_use", ())] - 1
    graphql_ok = ("karngar_http_requests_total", (("method", "POST"), ("route", "/graphql"), ("status", "200")))
    assert after[graphql_ok] - before.get(graphql_ok, 0) == 3


async def test_a_recorded_hire_counts_one_placement_and_a_replayed_one_none(
    make: Factory, client: httpx.AsyncClient
) -> None:
    employer = await make.employer_caller()
    vacancy = await open_vacancy(make, employer)
    profile = await make.profile()
    key = ("karngar_placements_recorded_total", (("sector", "TEXTILE"),))
    before = (await scrape(client)).get(key, 0)

    await accepted(make, employer, RECORD, hire_input(vacancy, profile, idempotencyKey="hire-1"))
    await accepted(make, employer, RECORD, hire_input(vacancy, profile, idempotencyKey="hire-1"))

    assert (await scrape(client))[key] - before == 1


@pytest.fixture
async def guarded(settings: Settings, database_url: str) -> AsyncIterator[Any]:
    application = create_app(replace(settings, metrics_token="scrape-secret"), database_url)
    async with application.router.lifespan_context(application):
        yield application


def client_at(application: Any, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=(host, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_metrics_are_for_loopback_or_the_metrics_token_only(guarded: Any) -> None:
    async with client_at(guarded, "203.0.113.9") as remote, client_at(guarded, "::1") as local:
        anonymous = await remote.get("/metrics")
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer guess"})
        with_token = await remote.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        loopback = await local.get("/metrics")

    assert anonymous.status_code == wrong.status_code == 403
    assert "karngar_" not in anonymous.text
    assert with_token.status_code == loopback.status_code == 200
    assert "karngar_rate_limited_total" in with_token.text


async def test_without_a_token_remote_callers_never_read_metrics(
    client: httpx.AsyncClient, settings: Settings, app: Any
) -> None:
    assert settings.metrics_token is None

    async with client_at(app, "10.0.0.7") as remote:
        response = await remote.get("/metrics", headers={"Authorization": "Bearer "})

    assert response.status_code == 403


# Tracing


def test_without_tracing_configured_no_opentelemetry_module_is_imported(database_url: str) -> None:
    program = (
        "import sys\n"
        "from api.app import create_app\n"
        "from api.settings import Settings\n"
        "create_app(Settings.from_env({'KARNGAR_DATA_DIR': '/tmp/unused'}), 'postgresql://u@/d')\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )

    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)

    assert done.stdout.strip() == "[]"


async def test_with_tracing_configured_a_request_makes_a_span(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    monkeypatch.setattr(observability, "_span_exporter", lambda: exporter)
    application = create_app(replace(settings, otel=True), database_url)

    async with application.router.lifespan_context(application), client_at(application, "127.0.0.1") as http:
        response = await http.get("/.well-known/jwks.json")
        application.state.tracer_provider.force_flush()

    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    server = [span for span in spans if span.kind.name == "SERVER"]
    assert len(server) == 1
    assert server[0].attributes["http.method"] == "GET" or server[0].attributes.get("http.request.method") == "GET"
    assert server[0].resource.attributes["service.name"] == "karngar"


def test_tracing_is_on_when_an_otlp_endpoint_or_karngar_otel_is_set() -> None:
    assert Settings.from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}).otel
    assert Settings.from_env({"KARNGAR_OTEL": "1"}).otel
    assert not Settings.from_env({}).otel


async def test_web_users_are_logged_by_a_pseudonym_not_their_username(
    make: Factory, client: httpx.AsyncClient, logs: io.StringIO
) -> None:
    employer = await make.employer()
    username = await make.log_in(Role.HIRING_MANAGER, employer=employer)

    response = await client.post("/graphql", json={"query": VIEWER})

    assert response.status_code == 200, response.text
    (line,) = request_lines(logs, "/graphql")
    assert line["principal_kind"] == "user"
    assert line["principal_id"] == observability.user_pseudonym(username)
    assert line["employer_id"] == str(employer.id)
    assert username not in logs.getvalue()


# Several workers


def test_with_two_workers_metrics_are_summed_over_both(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KARNGAR_DATA_DIR": str(tmp_path),
        "KARNGAR_PORT": str(port),
        "KARNGAR_WORKERS": "2",
        "KARNGAR_DB_POOL_SIZE": "3",
    }
    env.pop(observability.MULTIPROC_ENV, None)
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("karngar")), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(base, process)
        for _ in range(20):  # a new connection each time, so both workers take some
            assert httpx.get(f"{base}/healthz").status_code == 200
        scraped = samples(httpx.get(f"{base}/metrics").text)
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert scraped[("karngar_http_requests_total", (("method", "GET"), ("route", "/healthz"), ("status", "200")))] == 20
    assert scraped[("karngar_db_pool_size", ())] == 2 * 3  # one pool per worker, both alive
    assert exit_code == 0
