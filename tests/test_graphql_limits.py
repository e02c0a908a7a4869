"""GraphQL operation limits (schema/limits.py): each limit refused with its code, before anything runs.

Depth, aliases, tokens, directives, circular introspection, page size and cost; extensions.cost on every
response; no "Did you mean" in any error; unexpected errors masked with a request id that the log carries too;
garbage ids and cursors in every ID and `after` argument answered with a clean error.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLObjectType,
    get_introspection_query,
    get_named_type,
    parse,
    validate,
)

from api.settings import Settings
from db.enums import Province, Sector
from resolvers import vacancies as vacancy_use_cases
from schema.common import to_global_id
from schema.root import schema
from tests.factories import Caller, Factory, accepted, payload
from tests.test_vacancies import CREATE_ID_ONLY, vacancy_input

LIMIT = 10_000  # the default KARNGAR_GRAPHQL_MAX_COST


async def post(
    make: Factory, caller: Caller, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> httpx.Response:
    response = await make.http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {caller.token}", **headers},
    )
    assert response.status_code < 500, response.text
    return response


async def call(make: Factory, caller: Caller, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return (await post(make, caller, query, variables)).json()  # type: ignore[no-any-return]


def codes(body: dict[str, Any]) -> list[str | None]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


async def refused_twice(
    make: Factory, caller: Caller, query: str, code: str, variables: dict[str, Any] | None = None
) -> str:
    """Sends the document twice (the second time parse and validation come from their caches): both times it
    is refused with `code` and nothing runs. Returns the message."""
    messages = []
    for _ in range(2):
        body = await call(make, caller, query, variables)
        assert body.get("data") is None, body
        assert code in codes(body), body
        messages.append(next(e["message"] for e in body["errors"] if e["extensions"]["code"] == code))
    assert messages[0] == messages[1]
    return messages[0]


# --- depth, aliases, tokens, directives ---------------------------------------------------------------------------

HIRES = "hires(first: 1) { edges { node { %s } } }"
VACANCY_OF = "vacancy { %s }"
# vacancies edges node, hires edges node vacancy, hires edges node vacancy, hires edges node, id: 15 fields deep.
FIFTEEN = HIRES % (VACANCY_OF % (HIRES % (VACANCY_OF % (HIRES % "id"))))
SIXTEEN = HIRES % (VACANCY_OF % (HIRES % (VACANCY_OF % (HIRES % "vacancy { id }"))))
DEPTH_15 = "{ vacancies(first: 1) { edges { node { " + FIFTEEN + " } } } }"
DEPTH_16 = "{ vacancies(first: 1) { edges { node { " + SIXTEEN + " } } } }"
DEPTH_16_IN_FRAGMENT = (
    "{ vacancies(first: 1) { edges { node { ...Deep } } } } fragment Deep on Vacancy { " + SIXTEEN + " }"
)
# __type fields type, then 13 ofType and a name: 17 fields deep, though each level is a single object.
OF_TYPE_CHAIN = '{ __type(name: "Query") { fields { type { ' + "ofType { " * 13 + "name" + " }" * 13 + " } } } }"


async def test_a_query_deeper_than_15_fields_is_refused_also_through_fragments_and_introspection(
    make: Factory,
) -> None:
    employer = await make.employer_caller()

    allowed = await call(make, employer, DEPTH_15)
    message = await refused_twice(make, employer, DEPTH_16, "QUERY_TOO_DEEP")
    in_fragment = await refused_twice(make, employer, DEPTH_16_IN_FRAGMENT, "QUERY_TOO_DEEP")
    introspection = await refused_twice(make, employer, OF_TYPE_CHAIN, "QUERY_TOO_DEEP")

    assert "errors" not in allowed and allowed["data"]["vacancies"]["edges"] == []
    assert "16 fields deep" in message and "at most 15" in message
    assert "16 fields deep" in in_fragment
    assert "17 fields deep" in introspection


async def test_aliases_are_counted_inside_fragments_at_every_spread(make: Factory) -> None:
    employer = await make.employer_caller()
    fifteen = "{ viewer { " + " ".join(f"a{i}: name" for i in range(15)) + " } }"
    names = " ".join(f"a{i}: name" for i in range(8))
    eight_twice = "{ viewer { ...Names ...Names } } fragment Names on Viewer { " + names + " }"

    allowed = await call(make, employer, fifteen)
    message = await refused_twice(make, employer, eight_twice, "TOO_MANY_ALIASES")

    assert "errors" not in allowed and len(allowed["data"]["viewer"]) == 15
    assert "16 aliases" in message and "at most 15" in message


async def test_a_document_of_more_than_2000_tokens_or_comments_is_refused(make: Factory) -> None:
    employer = await make.employer_caller()
    skills = ", ".join(json.dumps(f"skill-{i}") for i in range(1400))
    long_but_fine = "{ returneeProfiles(first: 1, filter: {skills: [" + skills + "]}) { totalCount } }"
    too_many_tokens = "{ viewer { %s } }" % ("name " * 2100)
    too_many_comments = "# hello\n" * 2100 + "{ viewer { name } }"

    allowed = await call(make, employer, long_but_fine)
    tokens = await refused_twice(make, employer, too_many_tokens, "TOO_MANY_TOKENS")
    comments = await refused_twice(make, employer, too_many_comments, "TOO_MANY_TOKENS")

    assert "errors" not in allowed and allowed["data"]["returneeProfiles"]["totalCount"] == 0
    assert "more than 2000 tokens" in tokens
    assert "more than 2000 comments" in comments


async def test_more_than_8_directives_in_an_operation_are_refused_counting_fragments(make: Factory) -> None:
    employer = await make.employer_caller()
    eight = "{ viewer { " + " ".join(f"a{i}: name @include(if: true)" for i in range(8)) + " }}"
    in_fragments = (
        "{ viewer { ...D ...D ...D ...D @include(if: true) } }"
        " fragment D on Viewer { name @include(if: true) roles @skip(if: false) scopes @include(if: true) }"
    )
    overloading = "{ __typename %s }" % ("@aa " * 60)

    allowed = await call(make, employer, eight)
    message = await refused_twice(make, employer, in_fragments, "TOO_MANY_DIRECTIVES")
    await refused_twice(make, employer, overloading, "TOO_MANY_DIRECTIVES")

    assert "errors" not in allowed and len(allowed["data"]["viewer"]) == 8
    assert "13 directives" in message and "at most 8" in message


async def test_circular_introspection_is_refused_and_the_standard_introspection_query_answered(make: Factory) -> None:
    employer = await make.employer_caller()
    circular = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    through_fragment = "{ __schema { types { ...F } } } fragment F on __Type { fields { type { ...F2 } } }" + (
        " fragment F2 on __Type { fields { name } }"
    )

    standard = await call(make, employer, get_introspection_query(descriptions=True))
    message = await refused_twice(make, employer, circular, "CIRCULAR_INTROSPECTION")
    await refused_twice(make, employer, through_fragment, "CIRCULAR_INTROSPECTION")

    assert "errors" not in standard, standard.get("errors")
    assert any(t["name"] == "Vacancy" for t in standard["data"]["__schema"]["types"])
    assert "'fields'" in message


async def test_every_limit_follows_its_setting(settings: Settings) -> None:
    async def answer(query: str, variable: str, value: str) -> tuple[list[str | None], dict[str, Any]]:
        small = Settings.from_env({"KARNGAR_DATA_DIR": str(settings.data_dir), variable: value})
        # Every document here is refused before a resolver would need a database or a caller.
        result = await schema.execute(query, context_value=SimpleNamespace(settings=small))
        return [e.extensions.get("code") for e in result.errors or []], (result.extensions or {})["cost"]

    depth = await answer("{ viewer { employer { id } } }", "KARNGAR_GRAPHQL_MAX_DEPTH", "2")
    aliases = await answer("{ a: __typename b: __typename }", "KARNGAR_GRAPHQL_MAX_ALIASES", "1")
    tokens = await answer("{ " + "__typename " * 50 + "}", "KARNGAR_GRAPHQL_MAX_TOKENS", "40")
    directives = await answer(
        "{ __typename @include(if: true) __typename @skip(if: false) }", "KARNGAR_GRAPHQL_MAX_DIRECTIVES", "1"
    )
    cost = await answer("{ vacancies(first: 3) { edges { node { id } } } }", "KARNGAR_GRAPHQL_MAX_COST", "5")
    free = await answer("{ __typename }", "KARNGAR_GRAPHQL_MAX_COST", "5")

    assert [depth[0], aliases[0], tokens[0], directives[0]] == [
        ["QUERY_TOO_DEEP"],
        ["TOO_MANY_ALIASES"],
        ["TOO_MANY_TOKENS"],
        ["TOO_MANY_DIRECTIVES"],
    ]
    # 1 connection + 3 edges + 3 vacancies; refused, so nothing came back.
    assert cost == (["QUERY_TOO_COSTLY"], {"requested": 7, "actual": 0, "limit": 5, "remaining": 0})
    assert free == ([], {"requested": 0, "actual": 0, "limit": 5, "remaining": 5})


# --- page size and cost -------------------------------------------------------------------------------------------

VACANCIES = "query($n: Int) { vacancies(first: $n) { edges { node { id } } } }"
COSTLY_CREATE = """
mutation($input: CreateVacancyInput!, $n: Int) {
  createVacancy(input: $input) {
    vacancy { hires(first: $n) { edges { node { vacancy { hires(first: $n) { edges { node { id } } } } } } } }
    userErrors { code }
  }
}
"""


async def test_cost_is_reported_on_every_response_and_honours_variables(make: Factory) -> None:
    employer = await make.employer_caller()
    for _ in range(3):
        await accepted(make, employer, CREATE_ID_ONLY, vacancy_input())

    five = await call(make, employer, VACANCIES, {"n": 5})
    default = await call(make, employer, VACANCIES)
    literal = await call(make, employer, "{ vacancies(first: 10) { totalCount edges { cursor node { id } } } }")
    invalid = await call(make, employer, "{ vacancies { nope } }")

    # A connection is 1, each of its `first` edges 1, each node 1; scalars are free; 3 vacancies came back.
    assert five["extensions"]["cost"] == {"requested": 11, "actual": 7, "limit": LIMIT, "remaining": LIMIT - 11}
    assert default["extensions"]["cost"] == {"requested": 41, "actual": 7, "limit": LIMIT, "remaining": LIMIT - 41}
    assert literal["extensions"]["cost"]["requested"] == 21
    assert invalid["extensions"]["cost"] == {"requested": 0, "actual": 0, "limit": LIMIT, "remaining": LIMIT}
    assert codes(invalid) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_query_over_the_cost_limit_is_refused_before_anything_runs(make: Factory) -> None:
    employer = await make.employer_caller()
    variables = {"input": vacancy_input()}

    cheap = await call(make, employer, COSTLY_CREATE, variables | {"n": 2})
    message = await refused_twice(make, employer, COSTLY_CREATE, "QUERY_TOO_COSTLY", variables | {"n": 100})
    nested_pages = await call(
        make,
        employer,
        "{ vacancies(first: 100) { edges { node { matchingProfiles(first: 100) { edges { node { id } } } } } } }",
    )
    count = payload(await make.graphql(employer, "{ vacancies { totalCount } }"))["totalCount"]

    # 10 for the mutation + payload + vacancy + (hires: 1 + 2 × (edge + node + vacancy + (1 + 2 × 2)))
    # + userErrors, a plain list assumed to hold 10; actually: the mutation, payload, vacancy, an empty page.
    assert cheap["extensions"]["cost"] == {"requested": 39, "actual": 13, "limit": LIMIT, "remaining": LIMIT - 39}
    assert "up to 20423 objects" in message and str(LIMIT) in message
    assert codes(nested_pages) == ["QUERY_TOO_COSTLY"] and nested_pages["data"] is None
    assert nested_pages["extensions"]["cost"]["requested"] == 1 + 100 * (1 + 1 + 1 + 100 * 2)
    assert count == 1  # the refused mutation created nothing


CONNECTIONS = {
    "vacancies": "query($n: Int) { vacancies(first: $n) { totalCount } }",
    "returneeProfiles": "query($n: Int) { returneeProfiles(first: $n) { totalCount } }",
    "contactRequests": "query($n: Int) { contactRequests(first: $n) { totalCount } }",
    "hires": "query($n: Int) { hires(first: $n) { totalCount } }",
    "auditEvents": "query($n: Int) { auditEvents(first: $n) { totalCount } }",
    "Vacancy.matchingProfiles": "query($n: Int, $v: ID!) { node(id: $v) { ... on Vacancy {"
    " matchingProfiles(first: $n) { totalCount } } } }",
    "Vacancy.hires": "query($n: Int, $v: ID!) { node(id: $v) { ... on Vacancy { hires(first: $n) { totalCount } } } }",
}


async def test_every_connection_refuses_pages_of_more_than_100(make: Factory) -> None:
    employer, ministry = await make.employer_caller(), await make.caller(None)
    vacancy = await accepted(make, employer, CREATE_ID_ONLY, vacancy_input())

    answers = {}
    for name, query in CONNECTIONS.items():
        caller = ministry if name == "auditEvents" else employer
        for n in (100, 101, -1):
            answers[name, n] = await call(make, caller, query, {"n": n, "v": vacancy["id"]})

    for name in CONNECTIONS:
        assert "errors" not in answers[name, 100], (name, answers[name, 100])
        for n in (101, -1):
            assert codes(answers[name, n]) == ["BAD_USER_INPUT"], (name, n, answers[name, n])
            assert "between 0 and 100" in answers[name, n]["errors"][0]["message"]


# --- suggestions and masking --------------------------------------------------------------------------------------

MISSPELLED = [
    "{ vacancie(first: 1) { totalCount } }",
    "{ vacancies(frist: 1) { totalCount } }",
    "{ vacancies(filter: {sectors: [TEXTIL]}) { totalCount } }",
    "{ vacancies(filter: {sector: [TEXTILE]}) { totalCount } }",
    "query($f: VacancyFiltr) { vacancies(filter: $f) { totalCount } }",
    '{ node(id: "x") { ... on Vacancyy { id } } }',
    "{ vacancies { edges { node { titl } } } }",
]
MISSPELLED_VARIABLES = [
    {"f": {"sectors": ["TEXTIL"]}},
    {"f": {"sector": ["TEXTILE"]}},
    {"f": {"statuses": ["OPN"]}},
]


async def test_no_error_suggests_a_name(make: Factory) -> None:
    employer = await make.employer_caller()
    plain_graphql = [e.message for d in MISSPELLED for e in validate(schema._schema, parse(d))]

    bodies = [await call(make, employer, d) for d in MISSPELLED]
    bodies += [
        await call(make, employer, "query($f: VacancyFilter) { vacancies(filter: $f) { totalCount } }", v)
        for v in MISSPELLED_VARIABLES
    ]

    assert sum("Did you mean" in m for m in plain_graphql) >= len(MISSPELLED)  # graphql-core would suggest
    for body in bodies:
        assert body["errors"] and body.get("data") is None, body
        assert "Did you mean" not in json.dumps(body), body
        assert all(code in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT") for code in codes(body)), body
    assert bodies[0]["errors"][0]["message"] == "Cannot query field 'vacancie' on type 'Query'."
    assert "Value 'TEXTIL' does not exist in 'Sector' enum." in bodies[-3]["errors"][0]["message"]


async def test_an_unexpected_error_is_masked_with_a_request_id_that_the_log_carries(
    make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    employer = await make.employer_caller()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("karngar.graphql").addHandler(handler)

    async def broken(*_: object) -> None:
        raise RuntimeError("connection string postgresql://secret@db")

    monkeypatch.setattr(vacancy_use_cases, "get_vacancy", broken)
    query = "query($id: ID!) { node(id: $id) { id } }"
    try:
        response = await post(make, employer, query, {"id": to_global_id("Vacancy", uuid.uuid4())})
        again = await post(make, employer, query, {"id": to_global_id("Vacancy", uuid.uuid4())})
    finally:
        logging.getLogger("karngar.graphql").removeHandler(handler)

    (error,) = response.json()["errors"]
    request_id = error["extensions"]["requestId"]
    assert error["message"] == "Unexpected error." and error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in response.text
    assert request_id == response.headers.get("x-request-id", request_id)
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", request_id)
    assert again.json()["errors"][0]["extensions"]["requestId"] != request_id
    logged = [r for r in records if request_id in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "postgresql://secret@db" in str(logged[0].exc_info[1])


# --- garbage ids and cursors --------------------------------------------------------------------------------------


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


GARBAGE = [
    "",
    "Zm9vYmFy",  # "foobar"
    "!!! not base64 !!!",
    "ការងារ",
    to_global_id("Skill", uuid.UUID(int=7)),  # a type no argument takes
    to_global_id("Vacancy", "not-a-uuid"),
    b64("null"),
    b64('{"a": 1, "b": 2}'),
    b64('[["x"], {"y": 1}]'),
    "A" * 3000,
]
# Well-formed JSON of the cursors' shape with a number where a UUID belongs: db/pagination.py and db/search.py
# call uuid.UUID(5), which raises AttributeError (not caught), so the request ends in "Unexpected error.".
CURSOR_SHAPED = [b64('["2026-01-01T00:00:00+00:00", 5]'), b64('[1, "2026-01-01", 5]')]

# Each case: (what it covers in schema.graphql, the document, its variables besides $v, who sends it).
VACANCY, PROFILE = "<vacancy>", "<profile>"
CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("Query.node.id", "query($v: ID!) { node(id: $v) { id } }", {}, "employer"),
    (
        "VacancyFilter.employerId",
        "query($v: ID) { vacancies(filter: {employerId: $v}) { totalCount } }",
        {},
        "employer",
    ),
    ("Query.vacancies.after", "query($v: String) { vacancies(after: $v) { totalCount } }", {}, "employer"),
    (
        "Query.returneeProfiles.after",
        "query($v: String) { returneeProfiles(after: $v) { totalCount } }",
        {},
        "employer",
    ),
    (
        "ContactRequestFilter.vacancyId",
        "query($v: ID) { contactRequests(filter: {vacancyId: $v}) { totalCount } }",
        {},
        "employer",
    ),
    ("Query.contactRequests.after", "query($v: String) { contactRequests(after: $v) { totalCount } }", {}, "employer"),
    ("HireFilter.employerId", "query($v: ID) { hires(filter: {employerId: $v}) { totalCount } }", {}, "ministry"),
    ("HireFilter.vacancyId", "query($v: ID) { hires(filter: {vacancyId: $v}) { totalCount } }", {}, "employer"),
    ("Query.hires.after", "query($v: String) { hires(after: $v) { totalCount } }", {}, "employer"),
    (
        "AuditEventFilter.entityId",
        "query($v: ID) { auditEvents(filter: {entityId: $v}) { totalCount } }",
        {},
        "ministry",
    ),
    ("Query.auditEvents.after", "query($v: String) { auditEvents(after: $v) { totalCount } }", {}, "ministry"),
    (
        "Vacancy.matchingProfiles.after",
        "query($id: ID!, $v: String) { node(id: $id) { ... on Vacancy {"
        " matchingProfiles(after: $v) { totalCount } } } }",
        {"id": VACANCY},
        "employer",
    ),
    (
        "Vacancy.hires.after",
        "query($id: ID!, $v: String) { node(id: $id) { ... on Vacancy { hires(after: $v) { totalCount } } } }",
        {"id": VACANCY},
        "employer",
    ),
]
MUTATIONS: list[tuple[str, str, str, dict[str, Any], str]] = [
    # (covers, mutation, input type, the rest of the input, who)
    ("UpdateVacancyInput.id", "updateVacancy", "UpdateVacancyInput", {"title": "x"}, "employer"),
    ("VacancyIdInput.id", "publishVacancy", "VacancyIdInput", {}, "employer"),
    ("VacancyIdInput.id", "closeVacancy", "VacancyIdInput", {}, "employer"),
    (
        "SetReturneeConsentInput.profileId",
        "setReturneeConsent",
        "SetReturneeConsentInput",
        {"consentToSearch": True},
        "ministry",
    ),
    ("RequestContactInput.vacancyId", "requestContact", "RequestContactInput", {"profileId": PROFILE}, "employer"),
    ("RequestContactInput.profileId", "requestContact", "RequestContactInput", {"vacancyId": VACANCY}, "employer"),
    (
        "RespondToContactRequestInput.id",
        "respondToContactRequest",
        "RespondToContactRequestInput",
        {"accepted": True},
        "ministry",
    ),
    ("EndHireInput.id", "endHire", "EndHireInput", {"endedOn": "2026-01-01"}, "employer"),
    ("VoidHireInput.id", "voidHire", "VoidHireInput", {"reason": "x"}, "ministry"),
]
HIRE_INPUT = {"startDate": "2026-01-01", "contractType": "PERMANENT", "monthlyWageUsd": "250.00"}
MUTATIONS += [
    ("RecordHireInput.vacancyId", "recordHire", "RecordHireInput", {"profileId": PROFILE} | HIRE_INPUT, "employer"),
    ("RecordHireInput.profileId", "recordHire", "RecordHireInput", {"vacancyId": VACANCY} | HIRE_INPUT, "employer"),
]
# An audit filter matches recorded entity ids as they are: an id of no known entity matches nothing, cleanly.
MAY_MATCH_NOTHING = {"AuditEventFilter.entityId"}


def id_and_cursor_arguments() -> set[str]:
    """Every ID-typed argument or input field, and every `after`, in the published schema."""
    found = set()
    for type_ in schema._schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                for arg_name, arg in field.args.items():
                    if get_named_type(arg.type).name == "ID" or arg_name == "after":
                        found.add(f"{type_.name}.{field_name}.{arg_name}")
        if isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                if get_named_type(input_field.type).name == "ID":
                    found.add(f"{type_.name}.{field_name}")
    return found


def clean(body: dict[str, Any], covers: str) -> bool:
    """A GraphQL error with a code, or a payload whose userErrors have a code; never an unexpected error."""
    text = json.dumps(body)
    if "Unexpected error" in text or "Traceback" in text or "INTERNAL_SERVER_ERROR" in text:
        return False
    if body.get("errors"):
        return all(codes(body))
    results = list((body.get("data") or {}).values())
    if len(results) == 1 and isinstance(results[0], dict) and "userErrors" in results[0]:
        return bool(results[0]["userErrors"]) and all(e["code"] for e in results[0]["userErrors"])
    return covers in MAY_MATCH_NOTHING


async def answers_to_garbage(make: Factory, garbage: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    employer = await make.employer_caller(Sector.TEXTILE, province=Province.PHNOM_PENH)
    callers = {"employer": employer, "ministry": await make.caller(None)}
    real = {
        VACANCY: (await accepted(make, employer, CREATE_ID_ONLY, vacancy_input()))["id"],
        PROFILE: to_global_id("ReturneeProfile", await make.profile()),
    }

    def filled(values: dict[str, Any]) -> dict[str, Any]:
        return {k: real.get(v, v) if isinstance(v, str) else v for k, v in values.items()}

    answers = []
    for value in garbage:
        for covers, query, variables, who in CASES:
            body = await call(make, callers[who], query, filled(variables) | {"v": value})
            answers.append((covers, value, body))
        for covers, name, input_type, rest, who in MUTATIONS:
            field = covers.split(".")[1]
            query = f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ userErrors {{ code message }} }} }}"
            body = await call(make, callers[who], query, {"input": filled(rest) | {field: value}})
            answers.append((covers, value, body))
    return answers


async def test_garbage_ids_and_cursors_get_a_clean_error_everywhere(make: Factory) -> None:
    answers = await answers_to_garbage(make, GARBAGE)

    assert {c for c, _, _ in answers} >= id_and_cursor_arguments()
    unclean = [(covers, value[:40], body) for covers, value, body in answers if not clean(body, covers)]
    assert unclean == []


async def test_an_empty_id_in_a_hire_filter_gets_a_clean_error(make: Factory) -> None:
    answers = await answers_to_garbage(make, [""])

    assert [(covers, value) for covers, value, body in answers if not clean(body, covers)] == []


async def test_cursor_shaped_garbage_gets_a_clean_error(make: Factory) -> None:
    answers = await answers_to_garbage(make, CURSOR_SHAPED)

    unclean = [(covers, value, body) for covers, value, body in answers if not clean(body, covers)]
    assert unclean == []
