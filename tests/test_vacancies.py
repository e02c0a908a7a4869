"""Vacancies: creating, changing, publishing and closing them, who sees which, and walking pages of them.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from db.enums import Sector
from tests.factories import Caller, Factory, accepted, payload, refused, send

VACANCY_FIELDS = """
fragment VacancyFields on Vacancy {
  id title status positions wageMinUsd wageMaxUsd benefits sector publishedAt
  occupation { code } requiredSkills { code } employer { id }
}
"""


def vacancy_mutation(name: str, input_type: str, selection: str = "...VacancyFields") -> str:
    fragment = VACANCY_FIELDS if "VacancyFields" in selection else ""
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{"
        f" vacancy {{ {selection} }} userErrors {{ code message field }} }} }}{fragment}"
    )


CREATE = vacancy_mutation("createVacancy", "CreateVacancyInput")
CREATE_ID_ONLY = vacancy_mutation("createVacancy", "CreateVacancyInput", selection="id")
UPDATE = vacancy_mutation("updateVacancy", "UpdateVacancyInput")
PUBLISH = vacancy_mutation("publishVacancy", "VacancyIdInput")
CLOSE = vacancy_mutation("closeVacancy", "VacancyIdInput")
VACANCIES = """
query($filter: VacancyFilter, $first: Int, $after: String) {
  vacancies(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status title } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}
"""
NODE = "query($id: ID!) { node(id: $id) { id ... on Vacancy { title status } } }"
AUDIT_CHAIN = "SELECT action, previous_hash, hash FROM audit_events ORDER BY seq"
GENESIS_HASH = "0" * 64
NSSF = {"NSSF_OCCUPATIONAL_RISK", "NSSF_HEALTH_CARE", "NSSF_PENSION"}
CONSTRUCTION_JOB = {
    "title": "Bricklayer",
    "occupationCode": "7112",
    "requiredSkills": ["construction.bricklaying"],
    "wageMaxUsd": None,
}


def vacancy_input(**overrides: Any) -> dict[str, Any]:
    """A CreateVacancyInput a textile employer may submit as it is (skill codes from db/taxonomy.py)."""
    return {
        "title": "Sewing machine operator",
        "occupationCode": "8153",
        "province": "PHNOM_PENH",
        "description": "Single-needle sewing of shirts on a day shift.",
        "positions": 12,
        "requiredSkills": ["textile.single-needle-sewing", "textile.overlock"],
        "contractType": "FIXED_TERM",
        "wageMinUsd": "230.00",
        "wageMaxUsd": "260.00",
        "hoursPerWeek": 48,
        "benefits": ["MEALS"],
    } | overrides


async def create(make: Factory, caller: Caller, **overrides: Any) -> dict[str, Any]:
    return await accepted(make, caller, CREATE, vacancy_input(**overrides))


async def open_vacancy(make: Factory, caller: Caller, **overrides: Any) -> dict[str, Any]:
    vacancy = await create(make, caller, **overrides)
    return await accepted(make, caller, PUBLISH, {"id": vacancy["id"]})


async def closed_vacancy(make: Factory, caller: Caller) -> dict[str, Any]:
    vacancy = await open_vacancy(make, caller)
    return await accepted(make, caller, CLOSE, {"id": vacancy["id"]})


async def vacancies(make: Factory, caller: Caller, **variables: Any) -> dict[str, Any]:
    return payload(await make.graphql(caller, VACANCIES, variables))  # type: ignore[no-any-return]


async def vacancy_ids(make: Factory, caller: Caller, **variables: Any) -> list[str]:
    return [edge["node"]["id"] for edge in (await vacancies(make, caller, first=100, **variables))["edges"]]


async def node(make: Factory, caller: Caller, global_id: str) -> dict[str, Any] | None:
    return payload(await make.graphql(caller, NODE, {"id": global_id}))  # type: ignore[no-any-return]


async def audit_chain(db: Database) -> list[tuple[str, str, str]]:
    async with db.read() as session:
        return [(row.action, row.previous_hash, row.hash) for row in await session.execute(text(AUDIT_CHAIN))]


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# Creating and changing; the life cycle DRAFT -> OPEN -> CLOSED


async def test_an_employer_creates_a_draft_vacancy_in_its_own_sector(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    vacancy = await create(make, employer)

    assert (vacancy["status"], vacancy["publishedAt"], vacancy["sector"]) == ("DRAFT", None, "TEXTILE")
    assert vacancy["occupation"] == {"code": "8153"}
    assert {s["code"] for s in vacancy["requiredSkills"]} == {"textile.single-needle-sewing", "textile.overlock"}


async def test_wages_come_back_as_strings_with_two_decimals(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    vacancy = await create(make, employer, wageMinUsd="210", wageMaxUsd="250.5")

    assert (vacancy["wageMinUsd"], vacancy["wageMaxUsd"]) == ("210.00", "250.50")


async def test_nssf_benefits_are_always_included_even_when_none_are_asked_for(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    vacancy = await create(make, employer, benefits=[])

    assert set(vacancy["benefits"]) == NSSF


async def test_an_employer_updates_only_the_fields_it_gives(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await create(make, employer)

    updated = await accepted(make, employer, UPDATE, {"id": vacancy["id"], "title": "Line leader", "positions": 3})

    assert (updated["title"], updated["positions"]) == ("Line leader", 3)
    assert (updated["wageMinUsd"], updated["status"]) == (vacancy["wageMinUsd"], "DRAFT")


async def test_publishing_a_draft_opens_it_and_closing_it_closes_it(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await create(make, employer)

    published = await accepted(make, employer, PUBLISH, {"id": vacancy["id"]})
    closed = await accepted(make, employer, CLOSE, {"id": vacancy["id"]})

    assert (published["status"], closed["status"]) == ("OPEN", "CLOSED")
    assert published["publishedAt"] is not None


@pytest.mark.parametrize(
    ("given", "document", "change"),
    [
        ("open", PUBLISH, {}),
        ("draft", CLOSE, {}),
        ("closed", PUBLISH, {}),
        ("closed", UPDATE, {"title": "Reopened?"}),
    ],
    ids=["publishing-an-open-one", "closing-a-draft", "publishing-a-closed-one", "updating-a-closed-one"],
)
async def test_only_draft_to_open_to_closed_is_allowed_anything_else_is_an_invalid_state(
    make: Factory, given: str, document: str, change: dict[str, Any]
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await {"draft": create, "open": open_vacancy, "closed": closed_vacancy}[given](make, employer)

    error = await refused(make, employer, document, {"id": vacancy["id"], **change})

    assert error["code"] == "INVALID_STATE"
    assert (await node(make, employer, vacancy["id"]) or {})["status"] == vacancy["status"]


# Validation: a user error with a code and the path of the field at fault


@pytest.mark.parametrize(
    ("sector", "overrides", "code", "field"),
    [
        (Sector.TEXTILE, {"positions": 0}, "INVALID", ["positions"]),
        (Sector.TEXTILE, {"positions": 10_001}, "INVALID", ["positions"]),
        (Sector.CONSTRUCTION, {**CONSTRUCTION_JOB, "wageMinUsd": "-1.00"}, "INVALID", ["wageMinUsd"]),
        (Sector.TEXTILE, {"wageMinUsd": "300.00", "wageMaxUsd": "250.00"}, "INVALID", ["wageMaxUsd"]),
        (Sector.TEXTILE, {"startDate": "2026-12-15", "wageMinUsd": "209.99"}, "BELOW_MINIMUM_WAGE", ["wageMinUsd"]),
        (Sector.TEXTILE, {"startDate": "2026-12-15", "closingDate": "2026-12-01"}, "INVALID", ["closingDate"]),
        (Sector.TEXTILE, {"occupationCode": "0000"}, "INVALID", ["occupationCode"]),
        (Sector.TEXTILE, {"requiredSkills": ["textile.overlock", "textile.nope"]}, "INVALID", ["requiredSkills", "1"]),
        (Sector.TEXTILE, {"wageMinUsd": "230.125"}, "INVALID", ["wageMinUsd"]),
        (Sector.TEXTILE, {"title": "   "}, "INVALID", ["title"]),
    ],
    ids=[
        "no-positions",
        "more-than-10000-positions",
        "negative-wage",
        "maximum-below-minimum",
        "textile-below-2026-minimum",
        "closing-before-start",
        "unknown-occupation",
        "unknown-skill",
        "three-decimals",
        "blank-title",
    ],
)
async def test_an_invalid_vacancy_is_refused_with_a_user_error_on_the_field_at_fault(
    make: Factory, sector: Sector, overrides: dict[str, Any], code: str, field: list[str]
) -> None:
    employer = await make.employer_caller(sector)

    error = await refused(make, employer, CREATE, vacancy_input(**overrides))

    assert (error["code"], error["field"]) == (code, ["input", *field]), error


async def test_an_unknown_skill_after_a_repeated_one_is_reported_at_its_own_index(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    skills = ["textile.overlock", "textile.overlock", "textile.no-such-skill"]

    error = await refused(make, employer, CREATE, vacancy_input(requiredSkills=skills))

    assert error["field"] == ["input", "requiredSkills", "2"]


@pytest.mark.parametrize("positions", [1, 10_000])
async def test_positions_of_1_and_10000_are_accepted(make: Factory, positions: int) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    vacancy = await create(make, employer, positions=positions)

    assert vacancy["positions"] == positions


async def test_a_textile_wage_of_exactly_the_2026_minimum_is_accepted(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    vacancy = await create(make, employer, startDate="2026-12-15", wageMinUsd="210.00")

    assert vacancy["wageMinUsd"] == "210.00"


async def test_a_construction_employer_may_offer_less_than_the_textile_minimum(make: Factory) -> None:
    employer = await make.employer_caller(Sector.CONSTRUCTION)

    vacancy = await create(make, employer, **CONSTRUCTION_JOB, startDate="2026-12-15", wageMinUsd="150.00")

    assert (vacancy["sector"], vacancy["wageMinUsd"]) == ("CONSTRUCTION", "150.00")


async def test_an_update_is_checked_against_the_vacancy_it_would_produce(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await create(make, employer, wageMinUsd="230.00", wageMaxUsd="260.00")

    error = await refused(make, employer, UPDATE, {"id": vacancy["id"], "wageMaxUsd": "220.00"})

    assert (error["code"], error["field"]) == ("INVALID", ["input", "wageMaxUsd"])


# Who sees and who changes which vacancy


async def test_an_employer_sees_its_own_vacancies_of_every_status_and_only_open_ones_of_others(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    a_draft, a_open, a_closed = await create(make, a), await open_vacancy(make, a), await closed_vacancy(make, a)
    b_draft, b_open, b_closed = await create(make, b), await open_vacancy(make, b), await closed_vacancy(make, b)

    seen_by_b = await vacancy_ids(make, b)

    assert set(seen_by_b) == {b_draft["id"], b_open["id"], b_closed["id"], a_open["id"]}
    assert a_draft["id"] not in seen_by_b and a_closed["id"] not in seen_by_b


async def test_the_ministry_sees_every_vacancy_of_every_employer(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    ids = {(await create(make, a))["id"], (await create(make, b, **CONSTRUCTION_JOB))["id"]}
    ids.add((await open_vacancy(make, a))["id"])

    seen = await vacancy_ids(make, await make.caller(None))

    assert set(seen) == ids


async def test_the_ministry_cannot_create_a_vacancy(make: Factory) -> None:
    ministry = await make.caller(None)

    error = await refused(make, ministry, CREATE, vacancy_input())

    assert error["code"] == "FORBIDDEN"


async def test_the_ministry_cannot_update_publish_or_close_a_vacancy(make: Factory) -> None:
    employer, ministry = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    draft, opened = await create(make, employer), await open_vacancy(make, employer)

    errors = [
        await refused(make, ministry, UPDATE, {"id": draft["id"], "title": "Ministry title"}),
        await refused(make, ministry, PUBLISH, {"id": draft["id"]}),
        await refused(make, ministry, CLOSE, {"id": opened["id"]}),
    ]

    assert [e["code"] for e in errors] == ["FORBIDDEN"] * 3
    assert [(await node(make, employer, v["id"]) or {}).get("status") for v in (draft, opened)] == ["DRAFT", "OPEN"]


async def test_an_employer_reads_another_employers_open_vacancy_by_node(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, a)

    seen = await node(make, b, vacancy["id"])

    assert seen == {"id": vacancy["id"], "title": vacancy["title"], "status": "OPEN"}


async def test_an_employer_cannot_read_another_employers_draft_by_node(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    draft = await create(make, a)

    assert await node(make, b, draft["id"]) is None


@pytest.mark.parametrize("status", ["DRAFT", "OPEN"])
async def test_an_employer_cannot_update_another_employers_vacancy(make: Factory, status: str) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy = await (create(make, a) if status == "DRAFT" else open_vacancy(make, a))

    error = await refused(make, b, UPDATE, {"id": vacancy["id"], "title": "Taken over"})

    assert error["code"] == "NOT_FOUND"
    assert (await node(make, a, vacancy["id"]) or {})["title"] == vacancy["title"]


async def test_an_employer_cannot_publish_another_employers_vacancy(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    draft = await create(make, a)

    error = await refused(make, b, PUBLISH, {"id": draft["id"]})

    assert error["code"] == "NOT_FOUND"
    assert (await node(make, a, draft["id"]) or {})["status"] == "DRAFT"


async def test_an_employer_cannot_close_another_employers_vacancy(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    opened = await open_vacancy(make, a)

    error = await refused(make, b, CLOSE, {"id": opened["id"]})

    assert error["code"] == "NOT_FOUND"
    assert (await node(make, a, opened["id"]) or {})["status"] == "OPEN"


async def test_a_client_without_vacancies_write_cannot_create_a_vacancy(make: Factory) -> None:
    reader = await make.caller(await make.employer(Sector.TEXTILE), scopes=["vacancies:read"])

    error = await refused(make, reader, CREATE, vacancy_input())

    assert error["code"] == "FORBIDDEN"


async def test_a_client_without_vacancies_read_cannot_list_vacancies(make: Factory) -> None:
    writer = await make.caller(await make.employer(Sector.TEXTILE), scopes=["vacancies:write"])

    body = await make.graphql(writer, VACANCIES)

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


# Retry-safe creation with an idempotency key


async def test_repeating_a_create_with_the_same_key_and_input_returns_the_same_vacancy(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    first = await create(make, employer, idempotencyKey="hr-42")

    again = await create(make, employer, idempotencyKey="hr-42")

    assert again["id"] == first["id"]
    assert (await vacancies(make, employer))["totalCount"] == 1


async def test_reusing_a_key_for_a_different_vacancy_is_refused(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    await create(make, employer, idempotencyKey="hr-42")

    error = await refused(make, employer, CREATE, vacancy_input(idempotencyKey="hr-42", positions=99))

    assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert (await vacancies(make, employer))["totalCount"] == 1


async def test_ten_concurrent_creates_with_one_key_make_exactly_one_vacancy(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    input = vacancy_input(idempotencyKey="burst")

    results = await asyncio.gather(*(send(make, employer, CREATE_ID_ONLY, input) for _ in range(10)))

    assert all(r["userErrors"] == [] for r in results), results
    assert len({r["vacancy"]["id"] for r in results}) == 1
    assert (await vacancies(make, employer))["totalCount"] == 1


# Pages


async def test_pages_of_ten_walk_all_25_vacancies_newest_first(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    created = [(await create(make, employer, title=f"Vacancy {n}"))["id"] for n in range(25)]

    pages, after = [], None
    while not pages or pages[-1]["pageInfo"]["hasNextPage"]:
        pages.append(await vacancies(make, employer, first=10, after=after))
        after = pages[-1]["pageInfo"]["endCursor"]

    assert [(len(p["edges"]), p["pageInfo"]["hasNextPage"], p["totalCount"]) for p in pages] == [
        (10, True, 25),
        (10, True, 25),
        (5, False, 25),
    ]
    assert [e["node"]["id"] for p in pages for e in p["edges"]] == created[::-1]


async def test_a_cursor_continues_where_its_page_ended_after_new_vacancies_arrive(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    newest_first = [(await create(make, employer))["id"] for _ in range(12)][::-1]
    first_page = await vacancies(make, employer, first=5)

    for _ in range(3):
        await create(make, employer)
    second_page = await vacancies(make, employer, first=5, after=first_page["pageInfo"]["endCursor"])

    assert [e["node"]["id"] for e in first_page["edges"]] == newest_first[:5]
    assert [e["node"]["id"] for e in second_page["edges"]] == newest_first[5:10]
    assert (second_page["pageInfo"]["hasPreviousPage"], second_page["totalCount"]) == (True, 15)


async def test_more_than_100_per_page_is_refused(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    body = await make.graphql(employer, VACANCIES, {"first": 101})

    assert body["data"] is None
    assert "100" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        b64("[1, 2]"),
        b64('{"a": 1}'),
        b64(f'["2026-01-01T00:00:00", "{uuid.uuid4()}"]'),
        b64(f'["0001-01-01T00:00:00+05:00", "{uuid.uuid4()}"]'),
    ],
    ids=["not-base64-json", "numbers", "object", "naive-time", "before-year-1-in-utc"],
)
async def test_a_garbage_cursor_is_a_clean_graphql_error(make: Factory, cursor: str) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    body = await make.graphql(employer, VACANCIES, {"after": cursor})

    assert body["data"] is None
    assert body["errors"][0]["message"] != "Unexpected error."
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_vacancies_can_be_filtered_by_status_and_text(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    await create(make, employer, title="Cutter")
    opened = await open_vacancy(make, employer, title="Cutter, night shift")
    await open_vacancy(make, employer, title="Presser")

    found = await vacancy_ids(make, employer, filter={"statuses": ["OPEN"], "text": "cutter"})

    assert found == [opened["id"]]


# The audit trail


async def test_each_change_writes_one_audit_event_chained_to_the_previous_one(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    vacancy = await create(make, employer)
    await accepted(make, employer, UPDATE, {"id": vacancy["id"], "positions": 4})
    await accepted(make, employer, PUBLISH, {"id": vacancy["id"]})
    await accepted(make, employer, CLOSE, {"id": vacancy["id"]})

    chain = await audit_chain(db)
    assert [action for action, _, _ in chain] == [
        "vacancy.created",
        "vacancy.updated",
        "vacancy.published",
        "vacancy.closed",
    ]
    assert [previous for _, previous, _ in chain] == [GENESIS_HASH, *(hash for _, _, hash in chain[:-1])]


async def test_a_rejected_mutation_writes_no_audit_event(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await create(make, employer)

    await refused(make, employer, CREATE, vacancy_input(positions=0))
    await refused(make, employer, UPDATE, {"id": vacancy["id"], "title": " "})
    await refused(make, employer, CLOSE, {"id": vacancy["id"]})

    assert [action for action, _, _ in await audit_chain(db)] == ["vacancy.created"]


# Global ids


async def test_updating_with_a_garbage_id_is_invalid_on_the_id_field(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    error = await refused(make, employer, UPDATE, {"id": "garbage", "title": "x"})

    assert (error["code"], error["field"]) == ("INVALID", ["input", "id"])


async def test_node_with_a_garbage_id_is_a_clean_graphql_error(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    body = await make.graphql(employer, NODE, {"id": "garbage"})

    assert body["data"] == {"node": None}
    assert body["errors"][0]["message"] != "Unexpected error."
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
