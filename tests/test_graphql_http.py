"""The HTTP edge of /graphql: GraphQL-over-HTTP media types and status codes, body and batch limits, GET rules,
the explorer page, and a clean 503 while PostgreSQL is away (with recovery when it returns)."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.settings import Settings
from auth.csrf import CSRF_HEADER
from db.embedded import EmbeddedPostgres
from db.engine import Database
from db.enums import Role
from db.migrate import upgrade
from tests.factories import Caller, Factory

GRAPHQL_RESPONSE = "application/graphql-response+json"
VIEWER = "{ viewer { name } }"
COUNT_VACANCIES = "{ vacancies(first: 10) { totalCount } }"
CREATE_VACANCY = (
    'mutation { createVacancy(input: {title: "Sewing machine operator", occupationCode: "8153", '
    'province: KAMPONG_SPEU, description: "Single-needle sewing, 48 h/week", positions: 20, '
    'requiredSkills: ["textile.single-needle-sewing"], contractType: FIXED_TERM, wageMinUsd: "215.00", '
    "benefits: [TRANSPORT]}) { vacancy { id } userErrors { code message } } }"
)


def bearer(caller: Caller, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {caller.token}", **headers}


async def vacancy_count(make: Factory, caller: Caller) -> int:
    body = await make.graphql(caller, COUNT_VACANCIES)
    return int(body["data"]["vacancies"]["totalCount"])


def only_error(response: httpx.Response) -> dict[str, Any]:
    """The one error of a refused request, which carries no data."""
    body = response.json()
    assert body.get("data") is None, body
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


@asynccontextmanager
async def app_client(settings: Settings, database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    """A client of an application of its own (for settings that differ from the shared app's) and its database."""
    application = create_app(settings, database_url)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http, application.state.db


# --- GraphQL over HTTP: media types and status codes -------------------------------------------------------------


MEDIA_TYPE_OF_ACCEPT = {
    GRAPHQL_RESPONSE: GRAPHQL_RESPONSE,
    f"{GRAPHQL_RESPONSE}, application/json;q=0.9": GRAPHQL_RESPONSE,
    f"application/json, {GRAPHQL_RESPONSE}": GRAPHQL_RESPONSE,  # equal preference: the one the client named
    f"application/json, {GRAPHQL_RESPONSE};q=0.5": "application/json",
    f"{GRAPHQL_RESPONSE};q=0": "application/json",
    "application/json": "application/json",
    "*/*": "application/json",
    "": "application/json",
}


async def test_the_answer_has_the_media_type_the_client_prefers(make: Factory) -> None:
    caller = await make.employer_caller()
    for accept, media_type in MEDIA_TYPE_OF_ACCEPT.items():
        response = await make.http.post("/graphql", json={"query": VIEWER}, headers=bearer(caller, Accept=accept))
        assert response.status_code == 200, (accept, response.text)
        assert response.headers["content-type"] == media_type, accept
        assert response.json()["data"]["viewer"]["name"] == caller.client_id
        assert response.headers["vary"] == "Accept"


async def test_a_document_that_cannot_run_is_400_or_422_for_graphql_response_json_and_200_for_json(
    make: Factory,
) -> None:
    caller = await make.employer_caller()
    for document, status, code in (
        ("{ viewer { name }", 400, "GRAPHQL_PARSE_FAILED"),  # a syntax error: unparseable
        ("{ viewer { salary } }", 422, "GRAPHQL_VALIDATION_FAILED"),  # parses, fails validation
        ("query($n: Int!) { vacancies(first: $n) { totalCount } }", 422, "BAD_USER_INPUT"),  # no value for $n
    ):
        modern = await make.http.post(
            "/graphql", json={"query": document}, headers=bearer(caller, Accept=GRAPHQL_RESPONSE)
        )
        assert modern.status_code == status, (document, modern.text)
        assert modern.headers["content-type"] == GRAPHQL_RESPONSE
        assert "data" not in modern.json()  # a request error has no data entry at all
        assert modern.json()["errors"][0]["extensions"]["code"] == code

        legacy = await make.http.post("/graphql", json={"query": document}, headers=bearer(caller))
        assert legacy.status_code == 200
        assert legacy.headers["content-type"] == "application/json"
        assert legacy.json()["data"] is None
        assert legacy.json()["errors"][0]["message"] == modern.json()["errors"][0]["message"]


async def test_a_field_error_during_execution_is_still_200_with_graphql_response_json(make: Factory) -> None:
    caller = await make.employer_caller()
    response = await make.http.post(
        "/graphql",
        json={"query": '{ node(id: "not-an-id") { id } }'},
        headers=bearer(caller, Accept=GRAPHQL_RESPONSE),
    )
    assert response.status_code == 200, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" in response.json()


UNPARSEABLE_BODIES = (
    b'{"query": "{ viewer { name } }"',  # not JSON
    b'"{ viewer { name } }"',  # JSON, not an object
    b'{"variables": {}}',  # no query
    b'{"query": ""}',
    b'{"query": "{ viewer { name } }", "variables": [1]}',
    b'{"query": "{ viewer { name } }", "operationName": 7}',
    b'{"query": "{ viewer { name } }", "extensions": "x"}',
    b'{"query": "\xff"}',  # not UTF-8
)


async def test_an_unparseable_request_is_400_with_a_json_error(make: Factory) -> None:
    caller = await make.employer_caller()
    for body in UNPARSEABLE_BODIES:
        for accept in (GRAPHQL_RESPONSE, "application/json"):
            response = await make.http.post(
                "/graphql", content=body, headers=bearer(caller, Accept=accept, **{"Content-Type": "application/json"})
            )
            assert response.status_code == 400, (body, response.text)
            assert response.headers["content-type"] == accept
            assert only_error(response)["extensions"]["code"] == "BAD_REQUEST"


async def test_a_body_that_is_not_json_is_415(make: Factory) -> None:
    caller = await make.employer_caller()
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/graphql",
        None,
    ):
        headers = bearer(caller, **({"Content-Type": content_type} if content_type else {}))
        response = await make.http.post("/graphql", content=b'{"query": "{ viewer { name } }"}', headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        error = only_error(response)
        assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert "application/json" in error["message"]
    charset = await make.http.post(
        "/graphql",
        content=b'{"query": "{ viewer { name } }"}',
        headers=bearer(caller, **{"Content-Type": "application/json; charset=utf-8"}),
    )
    assert charset.status_code == 200, charset.text


# --- GET ---------------------------------------------------------------------------------------------------------


async def test_a_query_over_get_works_with_a_bearer_token(make: Factory) -> None:
    caller = await make.employer_caller()
    response = await make.http.get("/graphql", params={"query": VIEWER}, headers=bearer(caller))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["name"] == caller.client_id


async def test_a_mutation_over_get_is_405_allow_post_and_writes_nothing(make: Factory) -> None:
    caller = await make.employer_caller()
    for accept in (GRAPHQL_RESPONSE, "application/json"):
        response = await make.http.get(
            "/graphql", params={"query": CREATE_VACANCY}, headers=bearer(caller, Accept=accept)
        )
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        assert response.headers["content-type"] == accept
        assert only_error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert await vacancy_count(make, caller) == 0

    # The same document over POST is a valid mutation: the refusal above was about the method alone.
    created = await make.http.post("/graphql", json={"query": CREATE_VACANCY}, headers=bearer(caller))
    assert created.json()["data"]["createVacancy"]["userErrors"] == [], created.text
    assert await vacancy_count(make, caller) == 1


async def test_other_methods_get_a_graphql_shaped_405_naming_get_and_post(make: Factory) -> None:
    caller = await make.employer_caller()
    for method in ("PUT", "DELETE", "PATCH"):
        response = await make.http.request(method, "/graphql", json={"query": VIEWER}, headers=bearer(caller))
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "GET, POST"
        assert only_error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_a_logged_in_session_may_not_query_over_get(make: Factory) -> None:
    await make.log_in(Role.HIRING_MANAGER, employer=await make.employer())
    refused = await make.http.get("/graphql", params={"query": VIEWER})
    assert refused.status_code == 405, refused.text
    assert refused.headers["allow"] == "POST"
    error = only_error(refused)
    assert "Bearer" in error["message"] and CSRF_HEADER in error["message"]

    allowed = await make.http.post("/graphql", json={"query": VIEWER})  # the same session over POST
    assert allowed.status_code == 200 and allowed.json()["data"]["viewer"]["name"]


# --- body size and batches ---------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413_by_its_content_length(make: Factory, settings: Settings) -> None:
    caller = await make.employer_caller()
    padding = " " * settings.max_body_bytes
    response = await make.http.post(
        "/graphql",
        content=b'{"query": "{ viewer { name } }"' + padding.encode() + b"}",
        headers=bearer(caller, **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 413, response.text
    assert only_error(response)["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    under = b'{"query": "{ viewer { name } }"' + b" " * (settings.max_body_bytes - 100) + b"}"
    response = await make.http.post(
        "/graphql", content=under, headers=bearer(caller, **{"Content-Type": "application/json"})
    )
    assert response.status_code == 200, response.text


async def test_a_chunked_body_is_cut_off_at_the_limit_while_it_streams(make: Factory, settings: Settings) -> None:
    caller = await make.employer_caller()
    chunk = 64 * 1024
    sent = 0

    async def endless_body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ viewer { name } }", "padding": "'
        for _ in range(1000):  # 64 MB if the server read it all
            sent += 1
            yield b"x" * chunk

    response = await make.http.post(
        "/graphql", content=endless_body(), headers=bearer(caller, **{"Content-Type": "application/json"})
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert only_error(response)["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert sent <= settings.max_body_bytes // chunk + 1  # it stopped reading right at the limit


async def test_a_batch_is_refused_while_batching_is_off(make: Factory) -> None:
    caller = await make.employer_caller()
    response = await make.http.post("/graphql", json=[{"query": VIEWER}, {"query": VIEWER}], headers=bearer(caller))
    assert response.status_code == 400, response.text
    error = only_error(response)
    assert error["extensions"]["code"] == "BATCHING_DISABLED"
    assert "one operation per request" in error["message"]


async def test_a_batch_within_the_configured_cap_runs_and_a_bigger_one_is_refused(
    make: Factory, settings: Settings, database_url: str
) -> None:
    caller = await make.employer_caller()
    capped = dataclasses.replace(settings, max_batch_operations=2)
    async with app_client(capped, database_url) as (http, _):
        two = await http.post("/graphql", json=[{"query": VIEWER}, {"query": "{ __typename }"}], headers=bearer(caller))
        assert two.status_code == 200, two.text
        assert [item["data"] for item in two.json()] == [
            {"viewer": {"name": caller.client_id}},
            {"__typename": "Query"},
        ]
        three = await http.post("/graphql", json=[{"query": VIEWER}] * 3, headers=bearer(caller))
        assert three.status_code == 400
        assert only_error(three)["extensions"]["code"] == "TOO_MANY_OPERATIONS"
        # One invalid operation does not turn the whole batch into a 422: each answers for itself.
        mixed = await http.post(
            "/graphql",
            json=[{"query": VIEWER}, {"query": "{ viewer { salary } }"}],
            headers=bearer(caller, Accept=GRAPHQL_RESPONSE),
        )
        assert mixed.status_code == 200, mixed.text
        assert mixed.json()[0]["data"] == {"viewer": {"name": caller.client_id}}
        assert mixed.json()[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


# --- the explorer page -------------------------------------------------------------------------------------------


async def test_the_explorer_page_needs_a_logged_in_session(make: Factory) -> None:
    anonymous = await make.http.get("/graphql", headers={"Accept": "text/html"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("text/html")
    assert "Log in" in anonymous.text and 'href="/"' in anonymous.text
    assert "graphiql" not in anonymous.text.lower()

    caller = await make.employer_caller()  # a token is not a browser session
    with_token = await make.http.get("/graphql", headers=bearer(caller, Accept="text/html"))
    assert with_token.status_code == 401

    await make.log_in(Role.HIRING_MANAGER, employer=caller.employer)
    page = await make.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    assert f'"{CSRF_HEADER}": "1"' in page.text  # its own requests pass the CSRF check
    assert page.headers["cache-control"] == "no-store"


async def test_the_explorers_own_requests_work_with_the_session(make: Factory) -> None:
    """What GraphiQL's fetcher sends: the session cookie, the preset CSRF header and its Accept."""
    await make.log_in(Role.HIRING_MANAGER, employer=await make.employer())
    response = await make.http.post(
        "/graphql",
        json={"query": "query IntrospectionQuery { __schema { queryType { name } } }"},
        headers={"Accept": "application/json, multipart/mixed", CSRF_HEADER: "1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


# --- the database away -------------------------------------------------------------------------------------------


async def test_while_postgres_is_away_graphql_answers_503_quickly_and_recovers_by_itself(settings: Settings) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="karngar-away-"))
    embedded = EmbeddedPostgres(data_dir)
    try:
        url = await asyncio.to_thread(embedded.start, "karngar")
        await asyncio.to_thread(upgrade, url)
        own = dataclasses.replace(settings, db_pool_size=2, db_connect_timeout_seconds=2.0)
        async with app_client(own, url) as (http, db):
            make = Factory(db, http)
            caller = await make.employer_caller()
            await make.log_in(Role.HIRING_MANAGER, employer=caller.employer)  # a session cookie, on the same client

            async def by_token(accept: str = "application/json") -> httpx.Response:
                return await http.post(
                    "/graphql", json={"query": COUNT_VACANCIES}, headers=bearer(caller, Accept=accept)
                )

            async def by_session() -> httpx.Response:
                return await http.post("/graphql", json={"query": COUNT_VACANCIES})

            assert (await by_token()).json()["data"]["vacancies"]["totalCount"] == 0
            assert (await by_session()).status_code == 200

            await asyncio.to_thread(embedded.stop)
            for ask, media_type in ((by_token, "application/json"), (by_session, "application/json")):
                started = time.monotonic()
                away = await ask()
                assert time.monotonic() - started < 2.0
                assert away.status_code == 503, away.text
                assert away.headers["retry-after"] == "5"
                assert away.headers["content-type"] == media_type
                error = only_error(away)
                assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                assert "database" in error["message"]
            modern = await by_token(GRAPHQL_RESPONSE)
            assert modern.status_code == 503 and modern.headers["content-type"] == GRAPHQL_RESPONSE

            await asyncio.to_thread(embedded.start, "karngar")
            back = await by_token()
            assert back.status_code == 200, back.text
            assert back.json()["data"]["vacancies"]["totalCount"] == 0
            assert (await by_session()).status_code == 200

            # A restart between two requests: the pooled connections it closed are replaced, none fails.
            await asyncio.to_thread(embedded.stop)
            await asyncio.to_thread(embedded.start, "karngar")
            assert (await by_token()).status_code == 200
            assert (await by_session()).status_code == 200
    finally:
        await asyncio.to_thread(embedded.stop)
        shutil.rmtree(data_dir, ignore_errors=True)
