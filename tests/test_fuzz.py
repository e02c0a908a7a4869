"""Bad input on /graphql: generated documents and variables never get a 5xx or an error that shows Python.

A short, derandomized run of bench/fuzz.py's generators and checks against the app in-process; the
bench runs them longer against `karngar serve`. Hypothesis drives the requests from a worker thread
and hands each one to the test's event loop, where the app and its database pool live.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzz import (
    MASKED,
    Ids,
    Tally,
    document_requests,
    findings,
    masked,
    served_schema,
    variable_requests,
)
from db.enums import Sector
from schema.common import to_global_id
from tests.factories import Caller, Factory, accepted

CREATE = """mutation($input: CreateVacancyInput!) {
  createVacancy(input: $input) { vacancy { id } userErrors { code field message } } }"""
PUBLISH = """mutation($input: VacancyIdInput!) {
  publishVacancy(input: $input) { vacancy { id } userErrors { code field message } } }"""
HIRE = """mutation($input: RecordHireInput!) {
  recordHire(input: $input) { hire { id } userErrors { code field message } } }"""
VACANCY = {
    "title": "Sewing machine operator",
    "occupationCode": "8153",
    "province": "KAMPONG_SPEU",
    "description": "Single-needle sewing, 48 h/week",
    "positions": 20,
    "requiredSkills": ["textile.single-needle-sewing"],
    "contractType": "FIXED_TERM",
    "wageMinUsd": "250.00",
    "benefits": ["TRANSPORT"],
}


async def _objects_of(make: Factory, caller: Caller) -> list[str]:
    """An open vacancy, a profile and a hire of this employer: ids the fuzz may try as anyone."""
    vacancy = (await accepted(make, caller, CREATE, VACANCY))["id"]
    await accepted(make, caller, PUBLISH, {"id": vacancy})
    profile = to_global_id("ReturneeProfile", await make.profile())
    hire = {
        "vacancyId": vacancy,
        "profileId": profile,
        "startDate": date.today().isoformat(),
        "contractType": "FIXED_TERM",
        "monthlyWageUsd": "250.00",
    }
    return [vacancy, profile, (await accepted(make, caller, HIRE, hire))["id"]]


async def _fuzz(
    client: httpx.AsyncClient,
    callers: dict[str, Caller],
    requests: st.SearchStrategy[tuple[str, dict[str, Any]]],
    examples: int,
) -> Tally:
    loop = asyncio.get_running_loop()
    tally = Tally()

    def send(caller: str, document: str, variables: dict[str, Any]) -> None:
        post = client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {callers[caller].token}"},
        )
        response = asyncio.run_coroutine_threadsafe(post, loop).result(timeout=30)
        problems = tally.check(caller, document, variables, response.status_code, response.text)
        # A masked error is a resolver crashing on input it should have refused readably.
        crashed = masked(response.text)
        # Raising lets hypothesis shrink the request to the smallest one that still fails.
        assert not problems and not crashed, (problems, response.text[:800], json.dumps(variables)[:3000])

    @settings(
        max_examples=examples, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(caller=st.sampled_from(sorted(callers)), request=requests)
    def fuzz(caller: str, request: tuple[str, dict[str, Any]]) -> None:
        send(caller, *request)

    await asyncio.to_thread(fuzz)
    return tally


@pytest.fixture
async def callers(make: Factory) -> tuple[dict[str, Caller], Ids]:
    employer = await make.employer_caller()
    other = await make.employer_caller(Sector.CONSTRUCTION)
    ministry = await make.caller(None)
    ids = Ids(own=tuple(await _objects_of(make, employer)), others=tuple(await _objects_of(make, other)))
    return {"employer": employer, "ministry": ministry}, ids


async def test_generated_variables_for_every_argument_get_no_5xx_and_no_unmasked_error(
    client: httpx.AsyncClient, callers: tuple[dict[str, Caller], Ids]
) -> None:
    tokens, ids = callers
    tally = await _fuzz(client, tokens, variable_requests(served_schema(), ids), examples=200)
    lines: list[str] = []
    tally.report(lines.append)
    report = "\n".join(lines)
    print(report)  # shown with -s: what was sent and how it was answered
    assert tally.requests == 200
    assert tally.failures == [], report
    assert 200 in tally.statuses, report


async def test_generated_documents_get_no_5xx_and_no_unmasked_error(
    client: httpx.AsyncClient, callers: tuple[dict[str, Caller], Ids]
) -> None:
    tokens, _ = callers
    tally = await _fuzz(client, tokens, document_requests(served_schema()), examples=100)
    lines: list[str] = []
    tally.report(lines.append)
    report = "\n".join(lines)
    print(report)  # shown with -s: what was sent and how it was answered
    assert tally.requests == 100
    assert tally.failures == [], report


async def test_a_nul_character_in_text_is_refused_before_anything_runs(make: Factory) -> None:
    """PostgreSQL cannot store U+0000 in text: the edge refuses it in variables and in literals alike."""
    employer = await make.employer_caller()
    in_variables = await make.graphql(employer, CREATE, {"input": {**VACANCY, "requiredSkills": ["textile.\x00"]}})
    in_a_literal = await make.graphql(
        employer, '{ returneeProfiles(first: 5, filter: {skills: ["a\\u0000b"]}) { totalCount } }', {}
    )
    for body in (in_variables, in_a_literal):
        (error,) = body["errors"]
        assert body["data"] is None and error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "U+0000" in error["message"]
    vacancies = await make.graphql(employer, "{ vacancies(first: 5) { totalCount } }", {})
    assert vacancies["data"]["vacancies"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, "Internal Server Error", "HTTP 500"),
        (200, "<html>oops</html>", "not JSON"),
        (200, {"errors": [{"message": ""}]}, "without a message"),
        (200, {"errors": [{"message": "'NoneType' object has no attribute 'id'"}]}, "unmasked"),
        (200, {"errors": [{"message": 'Traceback (most recent call last):\n  File "x.py"'}]}, "unmasked"),
        (200, {"errors": [{"message": "(sqlalchemy.dialects.postgresql.asyncpg.Error) boom"}]}, "unmasked"),
        (200, {"errors": [{"message": MASKED, "extensions": {"requestId": ""}}]}, "requestId is empty"),
        (200, {"data": {"x": {"userErrors": [{"message": "duplicate key value violates"}]}}}, "userError that leaks"),
    ],
)
def test_the_checks_catch_what_they_are_for(status: int, body: Any, expected: str) -> None:
    text = body if isinstance(body, str) else json.dumps(body)
    problems = findings(status, text)
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"vacancies": {"totalCount": 0}}},
        {
            "errors": [
                {"message": "Variable '$first' got invalid value 'x'; Int cannot represent non-integer value: 'x'"}
            ]
        },
        {"errors": [{"message": MASKED, "extensions": {"requestId": "3f2a"}}]},
        {"data": {"recordHire": {"hire": None, "userErrors": [{"message": "No vacancy of yours has this id."}]}}},
    ],
)
def test_the_checks_let_readable_answers_through(body: dict[str, Any]) -> None:
    assert findings(200, json.dumps(body)) == []
