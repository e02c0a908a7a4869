"""What the public GraphQL security auditors (graphql-cop's twelve probes) try, each with the safe answer we give.

Every probe is sent as the auditor sends it, by a caller who may otherwise use the API, so that a refusal
proves the defence and not merely a missing token; unauthenticated variants are refused with 401 before any
GraphQL runs.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from auth.csrf import CSRF_HEADER
from db.enums import Role
from resolvers import profiles as profile_use_cases
from tests.factories import Caller, Factory
from tests.test_graphql_http import CREATE_VACANCY, GRAPHQL_RESPONSE, bearer, only_error, vacancy_count

FORBIDDEN_WORDS = ("traceback", "stacktrace", "exception", 'file "')


async def post(make: Factory, caller: Caller | None, query: str, **headers: str) -> httpx.Response:
    return await make.http.post("/graphql", json={"query": query}, headers=bearer(caller, **headers) if caller else {})


def refused(response: httpx.Response, *codes: str) -> list[dict[str, Any]]:
    """The request ran nothing (no data), and says why in words and with one of `codes`."""
    body = response.json()
    assert body.get("data") is None, body
    errors = body["errors"]
    assert any((e.get("extensions") or {}).get("code") in codes for e in errors), errors
    assert all(e["message"] and e["message"][0].isupper() for e in errors), errors
    return errors  # type: ignore[no-any-return]


def leaks_nothing(response: httpx.Response) -> None:
    text = response.text.lower()
    assert not any(word in text for word in FORBIDDEN_WORDS), response.text


async def test_alias_overloading_is_refused(make: Factory) -> None:
    caller = await make.employer_caller()
    query = "{ " + " ".join(f"a{i}: vacancies(first: 1) {{ totalCount }}" for i in range(100)) + " }"
    response = await post(make, caller, query)
    (error,) = refused(response, "TOO_MANY_ALIASES")
    assert "100 aliases" in error["message"]
    assert (await post(make, caller, query, Accept=GRAPHQL_RESPONSE)).status_code == 422


async def test_batch_queries_are_refused(make: Factory) -> None:
    caller = await make.employer_caller()
    response = await make.http.post("/graphql", json=[{"query": "query { __typename }"}] * 10, headers=bearer(caller))
    assert response.status_code == 400
    assert isinstance(response.json(), dict)  # one refusal, not ten answers
    assert only_error(response)["extensions"]["code"] == "BATCHING_DISABLED"


async def test_directive_overloading_is_refused(make: Factory) -> None:
    caller = await make.employer_caller()
    overloaded = await post(make, caller, "query { __typename " + "@aa" * 50 + " }")
    errors = refused(overloaded, "TOO_MANY_DIRECTIVES")
    assert errors[0]["message"].startswith("The operation uses 50 directives")
    known = await post(make, caller, "query { __typename " + "@include(if: true)" * 50 + " }")
    refused(known, "TOO_MANY_DIRECTIVES")
    # graphql-cop's own probe (ten unknown directives) reports "overloading" when it gets ten errors back: one.
    cop = refused(
        await post(make, caller, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }"), "TOO_MANY_DIRECTIVES"
    )
    assert len(cop) == 1


async def test_circular_introspection_is_refused(make: Factory) -> None:
    caller = await make.employer_caller()
    query = "query { __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }"  # noqa: E501
    refused(await post(make, caller, query), "CIRCULAR_INTROSPECTION", "QUERY_TOO_DEEP")
    # The same cycle from __type; a long ofType chain is allowed, as it is linear (the introspection query's own).
    from_type = (
        '{ __type(name: "Query") { fields { type { fields { type { fields { type { fields { name } } } } } } } } }'
    )
    refused(await post(make, caller, from_type), "CIRCULAR_INTROSPECTION", "QUERY_TOO_DEEP")


async def test_field_suggestions_are_off(make: Factory) -> None:
    caller = await make.employer_caller()
    for typo in (
        "{ vacancie(first: 1) { totalCount } }",
        "{ viewer { nam } }",
        "{ vacancies(frist: 1) { totalCount } }",
    ):
        (error,) = refused(await post(make, caller, typo), "GRAPHQL_VALIDATION_FAILED")
        assert "did you mean" not in error["message"].lower(), error


async def test_introspection_is_refused_without_credentials(make: Factory) -> None:
    for query in ("{ __schema { types { name } } }", '{ __type(name: "Vacancy") { fields { name } } }'):
        response = await post(make, None, query)
        assert response.status_code == 401
        assert only_error(response)["extensions"]["code"] == "UNAUTHENTICATED"
        assert "Vacancy" not in response.text and "__schema" not in response.text
    caller = await make.employer_caller()  # and it works for a caller: GraphiQL and codegen need it
    assert (await post(make, caller, "{ __schema { queryType { name } } }")).json()["data"]


async def test_graphiql_is_not_shown_without_a_session(make: Factory) -> None:
    """graphql-cop looks for these words at these paths, with and without asking for HTML."""
    heuristics = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
    for path in ("/graphiql", "/playground", "/console", "/graphql"):
        for accept in ("*/*", "text/html,application/xhtml+xml,*/*;q=0.8"):
            response = await make.http.get(path, headers={"Accept": accept})
            assert response.status_code in (401, 404), (path, accept, response.status_code)
            assert not any(word in response.text for word in heuristics), (path, accept)


async def test_get_queries_are_refused_to_a_cookie_session(make: Factory) -> None:
    anonymous = await make.http.get("/graphql", params={"query": "query { __typename }"})
    assert anonymous.status_code == 401
    await make.log_in(Role.HIRING_MANAGER, employer=await make.employer())
    response = await make.http.get("/graphql", params={"query": "query { __typename }"})
    assert response.status_code == 405
    assert only_error(response)["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_get_based_mutations_are_refused(make: Factory) -> None:
    caller = await make.employer_caller()
    response = await make.http.get("/graphql", params={"query": CREATE_VACANCY}, headers=bearer(caller))
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert await vacancy_count(make, caller) == 0


async def test_form_posts_are_refused_so_no_cross_site_form_can_act_for_a_session(make: Factory) -> None:
    employer = await make.employer()
    await make.log_in(Role.HIRING_MANAGER, employer=employer)
    del make.http.headers[CSRF_HEADER]  # a form on another site cannot add it
    attempts = [
        make.http.post("/graphql", data={"query": CREATE_VACANCY}),  # application/x-www-form-urlencoded
        make.http.post("/graphql", files={"query": (None, CREATE_VACANCY)}),  # multipart/form-data
        make.http.post("/graphql", content=f'{{"query": "{CREATE_VACANCY}"}}', headers={"Content-Type": "text/plain"}),
        make.http.post("/graphql", params={"query": CREATE_VACANCY}),  # graphql-cop's: the query string, no body
        make.http.post("/graphql", json={"query": CREATE_VACANCY}),  # JSON, but without the CSRF header
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code in (403, 415), response.text
        assert only_error(response)["extensions"]["code"] in ("CSRF", "UNSUPPORTED_MEDIA_TYPE")
    make.http.headers[CSRF_HEADER] = "1"
    count = await make.http.post("/graphql", json={"query": "{ vacancies(first: 10) { totalCount } }"})
    assert count.json()["data"]["vacancies"]["totalCount"] == 0


async def test_there_is_no_trace_mode(make: Factory) -> None:
    caller = await make.employer_caller()
    response = await post(make, caller, "query { __typename }")
    body = response.json()
    assert body["data"] == {"__typename": "Query"}
    assert "tracing" not in body.get("extensions", {})
    leaks_nothing(response)


async def test_unhandled_errors_are_masked_with_a_request_id(make: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    caller = await make.employer_caller()
    garbage = await post(make, caller, "qwerty cop { abc }")  # graphql-cop's probe: a readable syntax error
    (error,) = refused(garbage, "GRAPHQL_PARSE_FAILED")
    assert error["message"].startswith("Syntax Error")
    assert "exception" not in error["extensions"]
    leaks_nothing(garbage)

    # A resolver failing unexpectedly, with exception text that must not reach the caller.
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("relation returnee_identities at postgresql://karngar@db")

    monkeypatch.setattr(profile_use_cases, "search_profiles", broken)
    failing = await post(make, caller, "{ returneeProfiles(first: 5) { totalCount } }")
    assert failing.status_code == 200  # the database itself is up, so this is no 503
    assert "postgresql" not in failing.text and "returnee_identities" not in failing.text
    (masked,) = failing.json()["errors"]
    assert masked["message"] == "Unexpected error."
    assert masked["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": failing.headers["x-request-id"]}
    leaks_nothing(failing)
