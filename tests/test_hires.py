"""Hires: recording them as placements, the rules they keep under concurrency, ending, voiding and reading them.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from db.enums import Province, Role, Sector
from resolvers.validation import today_in_cambodia
from resolvers.wages import textile_minimum_wage
from schema.common import to_global_id, uuid_of
from tests.factories import Caller, Factory, accepted, payload, refused, send, statements_sent
from tests.test_vacancies import CLOSE, CONSTRUCTION_JOB, create, open_vacancy

TODAY = today_in_cambodia()
MINIMUM = textile_minimum_wage(TODAY.year)
HIRE_FIELDS = """
fragment HireFields on Hire {
  id status startDate contractType monthlyWageUsd nssfNumber recordedBy recordedAt endedOn endReason
  voidReason voidedBy voidedAt
  vacancy { id status positions positionsFilled } profile { id isAvailable } employer { id }
}
"""


def hire_mutation(name: str, input_type: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{"
        f" hire {{ ...HireFields }} userErrors {{ code message field }} }} }}{HIRE_FIELDS}"
    )


RECORD = hire_mutation("recordHire", "RecordHireInput")
END = hire_mutation("endHire", "EndHireInput")
VOID = hire_mutation("voidHire", "VoidHireInput")
HIRES = """
query($filter: HireFilter, $first: Int, $after: String) {
  hires(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id status } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
    totalCount
  }
}
"""
VACANCY_HIRES = (
    "query($id: ID!) { node(id: $id) { ... on Vacancy { hires(first: 100) { totalCount edges { node { id } } } } } }"
)
NODE = "query($id: ID!) { node(id: $id) { id ... on Hire { status } } }"
HIRE_PAGE = """
fragment HirePage on HireConnection {
  totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } }
}
"""
VACANCY_HIRE_PAGES = (
    """
query($vacancies: Int, $first: Int, $after: String) {
  vacancies(first: $vacancies) { edges { node { id hires(first: $first, after: $after) { ...HirePage } } } }
}
"""
    + HIRE_PAGE
)
VACANCY_HIRE_PAGE = (
    """
query($vacancyId: ID!, $first: Int, $after: String) {
  hires(filter: { vacancyId: $vacancyId }, first: $first, after: $after) { ...HirePage }
}
"""
    + HIRE_PAGE
)


def profile_id(raw: uuid.UUID) -> str:
    return to_global_id("ReturneeProfile", raw)


def hire_input(vacancy: dict[str, Any], profile: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    """A RecordHireInput a textile employer may submit as it is."""
    return {
        "vacancyId": vacancy["id"],
        "profileId": profile_id(profile),
        "startDate": TODAY.isoformat(),
        "contractType": "FIXED_TERM",
        "monthlyWageUsd": "230.00",
        "nssfNumber": "1234567890",
    } | overrides


async def hire(make: Factory, caller: Caller, vacancy: dict[str, Any], profile: uuid.UUID, **overrides: Any) -> Any:
    return await accepted(make, caller, RECORD, hire_input(vacancy, profile, **overrides))


async def log_in(make: Factory, role: Role, province: Province | None = None) -> None:
    """Log a ministry user in: calls without a token (caller None) then carry their session cookie.

    The client then also sends the CSRF header with every request, as the web client does.
    """
    await make.log_in(role, province=province)


async def hire_ids(make: Factory, caller: Caller | None, **variables: Any) -> list[str]:
    result = payload(await make.graphql(caller, HIRES, {"first": 100, **variables}))
    return [edge["node"]["id"] for edge in result["edges"]]


async def hire_pages_of_vacancies(make: Factory, caller: Caller, **variables: Any) -> dict[str, Any]:
    """Each listed vacancy's nested hires page, by vacancy id: one response for all of them."""
    result = payload(await make.graphql(caller, VACANCY_HIRE_PAGES, {"vacancies": 50, **variables}))
    return {edge["node"]["id"]: edge["node"]["hires"] for edge in result["edges"]}


async def hire_page_of_vacancy(make: Factory, caller: Caller, vacancy: dict[str, Any], **variables: Any) -> Any:
    """The same page asked of the top-level hires query, filtered to one vacancy."""
    return payload(await make.graphql(caller, VACANCY_HIRE_PAGE, {"vacancyId": vacancy["id"], **variables}))


async def count(db: Database, sql: str, **params: Any) -> int:
    async with db.read() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


# Recording a hire


async def test_a_hire_takes_a_position_and_makes_the_returnee_unavailable(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=3, wageMinUsd="230.00")
    returnee = await make.profile()

    recorded = await hire(make, employer, vacancy, returnee)

    assert (recorded["status"], recorded["monthlyWageUsd"], recorded["startDate"]) == (
        "ACTIVE",
        "230.00",
        TODAY.isoformat(),
    )
    assert recorded["vacancy"] == {"id": vacancy["id"], "status": "OPEN", "positions": 3, "positionsFilled": 1}
    assert recorded["profile"] == {"id": profile_id(returnee), "isAvailable": False}
    assert recorded["recordedBy"] == f"client:{employer.client_id}"


async def test_the_last_position_fills_the_vacancy_and_one_more_hire_is_refused(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=2)
    first, second, third = await make.profile(), await make.profile(), await make.profile()
    await hire(make, employer, vacancy, first)

    last = await hire(make, employer, vacancy, second)
    error = await refused(make, employer, RECORD, hire_input(vacancy, third))

    assert last["vacancy"]["status"] == "FILLED"
    assert (error["code"], error["field"]) == ("POSITIONS_FILLED", ["input", "vacancyId"])


async def test_fifty_concurrent_hires_on_ten_positions_make_exactly_ten(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=10)
    returnees = [await make.profile() for _ in range(50)]

    results = await asyncio.gather(*(send(make, employer, RECORD, hire_input(vacancy, r)) for r in returnees))

    codes = sorted(r["userErrors"][0]["code"] if r["userErrors"] else "HIRED" for r in results)
    assert codes == ["HIRED"] * 10 + ["POSITIONS_FILLED"] * 40
    assert await count(db, "SELECT count(*) FROM hires WHERE status = 'ACTIVE'") == 10
    assert await count(db, "SELECT count(*) FROM returnee_profiles WHERE NOT is_available") == 10
    state = await count(db, "SELECT positions_filled FROM vacancies WHERE status = 'FILLED'")
    assert state == 10


async def test_twenty_concurrent_retries_with_one_key_record_one_hire(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=5)
    input = hire_input(vacancy, await make.profile(), idempotencyKey="hr-hire-7")

    results = await asyncio.gather(*(send(make, employer, RECORD, input) for _ in range(20)))

    assert all(r["userErrors"] == [] for r in results), results
    assert len({r["hire"]["id"] for r in results}) == 1
    assert await count(db, "SELECT count(*) FROM hires") == 1
    assert await count(db, "SELECT count(*) FROM audit_events WHERE action = 'hire.recorded'") == 1


async def test_a_retry_after_the_vacancy_filled_still_returns_the_first_hire(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=1)
    input = hire_input(vacancy, await make.profile(), idempotencyKey="hr-hire-8", monthlyWageUsd="230")
    first = await accepted(make, employer, RECORD, input)

    again = await accepted(make, employer, RECORD, input | {"monthlyWageUsd": "230.00"})

    assert again["id"] == first["id"]
    assert again["vacancy"]["status"] == "FILLED"


async def test_reusing_a_key_for_a_different_hire_is_refused(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=5)
    await hire(make, employer, vacancy, await make.profile(), idempotencyKey="hr-hire-9")

    error = await refused(make, employer, RECORD, hire_input(vacancy, await make.profile(), idempotencyKey="hr-hire-9"))

    assert (error["code"], error["field"]) == ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    assert await count(db, "SELECT count(*) FROM hires") == 1


async def test_a_returnee_cannot_hold_two_active_hires(make: Factory, db: Database) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy_a, vacancy_b = await open_vacancy(make, a, positions=2), await open_vacancy(make, b, positions=2)
    returnee = await make.profile()
    await hire(make, a, vacancy_a, returnee)

    error = await refused(make, b, RECORD, hire_input(vacancy_b, returnee))

    assert (error["code"], error["field"]) == ("ALREADY_HIRED", ["input", "profileId"])
    assert (
        await count(db, "SELECT positions_filled FROM vacancies WHERE id = :id", id=uuid_of(vacancy_b["id"], "Vacancy"))
        == 0
    )


async def test_two_employers_racing_to_hire_one_returnee_make_one_hire(make: Factory, db: Database) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)
    vacancy_a = await open_vacancy(make, a, positions=3)
    vacancy_b = await open_vacancy(make, b, positions=3, **CONSTRUCTION_JOB)
    returnee = await make.profile()

    results = await asyncio.gather(
        send(make, a, RECORD, hire_input(vacancy_a, returnee)),
        send(make, b, RECORD, hire_input(vacancy_b, returnee)),
    )

    assert sorted(r["userErrors"][0]["code"] if r["userErrors"] else "HIRED" for r in results) == [
        "ALREADY_HIRED",
        "HIRED",
    ]
    assert await count(db, "SELECT sum(positions_filled) FROM vacancies") == 1
    assert await count(db, "SELECT count(*) FROM audit_events WHERE action = 'hire.recorded'") == 1


async def test_a_returnee_whose_hire_ended_can_be_hired_again(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    returnee = await make.profile()
    first = await hire(
        make, a, await open_vacancy(make, a), returnee, startDate=(TODAY - timedelta(days=20)).isoformat()
    )
    await accepted(make, a, END, {"id": first["id"], "endedOn": TODAY.isoformat()})

    second = await hire(make, b, await open_vacancy(make, b), returnee)

    assert (second["status"], second["profile"]["isAvailable"]) == ("ACTIVE", False)


# The rules a hire keeps


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"monthlyWageUsd": str(MINIMUM - Decimal("0.01"))}, "BELOW_MINIMUM_WAGE", "monthlyWageUsd"),
        ({"monthlyWageUsd": "0.00"}, "INVALID", "monthlyWageUsd"),
        ({"monthlyWageUsd": "-5"}, "INVALID", "monthlyWageUsd"),
        ({"monthlyWageUsd": "230.001"}, "INVALID", "monthlyWageUsd"),
        ({"startDate": (TODAY - timedelta(days=31)).isoformat()}, "INVALID", "startDate"),
        ({"startDate": (TODAY + timedelta(days=91)).isoformat()}, "INVALID", "startDate"),
        ({"nssfNumber": "123456789"}, "INVALID", "nssfNumber"),
        ({"nssfNumber": "1234567890123"}, "INVALID", "nssfNumber"),
        ({"nssfNumber": "12345ABCDE"}, "INVALID", "nssfNumber"),
        ({"profileId": profile_id(uuid.uuid4())}, "NOT_FOUND", "profileId"),
        ({"profileId": "garbage"}, "INVALID", "profileId"),
        ({"vacancyId": "garbage"}, "INVALID", "vacancyId"),
    ],
    ids=[
        "textile-below-the-minimum",
        "zero-wage",
        "negative-wage",
        "three-decimals",
        "starting-31-days-ago",
        "starting-in-91-days",
        "nssf-9-digits",
        "nssf-13-digits",
        "nssf-letters",
        "unknown-profile",
        "not-a-profile-id",
        "not-a-vacancy-id",
    ],
)
async def test_a_hire_that_breaks_a_rule_is_refused_on_the_field_at_fault(
    make: Factory, db: Database, overrides: dict[str, Any], code: str, field: str
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=2)

    error = await refused(make, employer, RECORD, hire_input(vacancy, await make.profile(), **overrides))

    assert (error["code"], error["field"]) == (code, ["input", field]), error
    assert await count(db, "SELECT count(*) FROM hires") == 0
    assert await count(db, "SELECT positions_filled FROM vacancies") == 0


@pytest.mark.parametrize("days", [-30, 90])
async def test_a_start_date_30_days_back_or_90_days_ahead_is_accepted(make: Factory, days: int) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    start = TODAY + timedelta(days=days)

    recorded = await hire(
        make, employer, await open_vacancy(make, employer), await make.profile(), startDate=start.isoformat()
    )

    assert recorded["startDate"] == start.isoformat()


async def test_the_textile_minimum_is_that_of_the_start_year_and_construction_has_none(make: Factory) -> None:
    textile, construction = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.CONSTRUCTION)

    at_minimum = await hire(
        make, textile, await open_vacancy(make, textile), await make.profile(), monthlyWageUsd=str(MINIMUM)
    )
    low = await hire(
        make,
        construction,
        await open_vacancy(make, construction, **CONSTRUCTION_JOB),
        await make.profile(),
        monthlyWageUsd="150.00",
    )

    assert (at_minimum["monthlyWageUsd"], low["monthlyWageUsd"]) == (str(MINIMUM), "150.00")


async def test_an_nssf_number_is_kept_as_digits_and_may_be_pending(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=2)

    spaced = await hire(make, employer, vacancy, await make.profile(), nssfNumber="0123 4567-8901")
    pending = await hire(make, employer, vacancy, await make.profile(), nssfNumber=None)

    assert (spaced["nssfNumber"], pending["nssfNumber"]) == ("012345678901", None)


@pytest.mark.parametrize("state", ["DRAFT", "CLOSED"])
async def test_a_hire_for_a_vacancy_that_is_not_open_is_an_invalid_state(make: Factory, state: str) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await create(make, employer)
    if state == "CLOSED":
        vacancy = await open_vacancy(make, employer)
        await send(make, employer, CLOSE, {"id": vacancy["id"]})

    error = await refused(make, employer, RECORD, hire_input(vacancy, await make.profile()))

    assert (error["code"], error["field"]) == ("INVALID_STATE", ["input", "vacancyId"])


async def test_an_employer_cannot_hire_into_another_employers_vacancy(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, a)

    error = await refused(make, b, RECORD, hire_input(vacancy, await make.profile()))

    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "vacancyId"])


async def test_the_ministry_and_a_client_without_hires_write_cannot_record_hires(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    reader = await make.caller(employer.employer, scopes=["hires:read"])
    vacancy = await open_vacancy(make, employer)

    errors = [
        await refused(make, await make.caller(None), RECORD, hire_input(vacancy, await make.profile())),
        await refused(make, reader, RECORD, hire_input(vacancy, await make.profile())),
    ]

    assert [e["code"] for e in errors] == ["FORBIDDEN", "FORBIDDEN"]


# Ending and voiding


async def test_ending_a_hire_frees_the_returnee_and_reopens_a_filled_vacancy(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=1)
    recorded = await hire(
        make, employer, vacancy, await make.profile(), startDate=(TODAY - timedelta(days=10)).isoformat()
    )

    ended = await accepted(make, employer, END, {"id": recorded["id"], "endedOn": TODAY.isoformat(), "reason": "Moved"})

    assert (ended["status"], ended["endedOn"], ended["endReason"]) == ("ENDED", TODAY.isoformat(), "Moved")
    assert ended["vacancy"] == {"id": vacancy["id"], "status": "OPEN", "positions": 1, "positionsFilled": 0}
    assert ended["profile"]["isAvailable"] is True


@pytest.mark.parametrize(
    ("ended_on", "field"),
    [(TODAY - timedelta(days=11), "endedOn"), (TODAY + timedelta(days=1), "endedOn")],
    ids=["before-the-start", "in-the-future"],
)
async def test_an_end_date_before_the_start_or_in_the_future_is_refused(
    make: Factory, ended_on: Any, field: str
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    recorded = await hire(
        make,
        employer,
        await open_vacancy(make, employer),
        await make.profile(),
        startDate=(TODAY - timedelta(days=10)).isoformat(),
    )

    error = await refused(make, employer, END, {"id": recorded["id"], "endedOn": ended_on.isoformat()})

    assert (error["code"], error["field"]) == ("INVALID", ["input", field])


async def test_only_an_active_hire_of_ones_own_can_be_ended(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    recorded = await hire(make, a, await open_vacancy(make, a), await make.profile())
    await accepted(make, a, END, {"id": recorded["id"], "endedOn": TODAY.isoformat()})

    again = await refused(make, a, END, {"id": recorded["id"], "endedOn": TODAY.isoformat()})
    other = await refused(make, b, END, {"id": recorded["id"], "endedOn": TODAY.isoformat()})

    assert (again["code"], other["code"]) == ("INVALID_STATE", "NOT_FOUND")


async def test_a_ministry_auditor_voids_an_active_hire_which_stays_in_the_record(make: Factory) -> None:
    employer, auditor = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    vacancy = await open_vacancy(make, employer, positions=1)
    recorded = await hire(make, employer, vacancy, await make.profile())

    voided = await accepted(make, auditor, VOID, {"id": recorded["id"], "reason": " No such worker at the factory "})

    assert (voided["status"], voided["voidReason"]) == ("VOIDED", "No such worker at the factory")
    assert voided["voidedBy"] == f"client:{auditor.client_id}" and voided["voidedAt"] is not None
    assert voided["vacancy"]["positionsFilled"] == 0 and voided["vacancy"]["status"] == "OPEN"
    assert voided["profile"]["isAvailable"] is True
    assert await hire_ids(make, employer, filter={"statuses": ["VOIDED"]}) == [recorded["id"]]


async def test_voiding_an_ended_hire_keeps_its_end_date_and_frees_nothing_twice(make: Factory) -> None:
    employer, auditor = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    vacancy = await open_vacancy(make, employer, positions=2)
    recorded = await hire(
        make, employer, vacancy, await make.profile(), startDate=(TODAY - timedelta(days=5)).isoformat()
    )
    await accepted(make, employer, END, {"id": recorded["id"], "endedOn": TODAY.isoformat()})

    voided = await accepted(make, auditor, VOID, {"id": recorded["id"], "reason": "Recorded twice"})

    assert (voided["status"], voided["endedOn"]) == ("VOIDED", TODAY.isoformat())
    assert voided["vacancy"]["positionsFilled"] == 0


async def test_a_user_with_the_auditor_role_voids_too(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    recorded = await hire(make, employer, await open_vacancy(make, employer), await make.profile())
    await log_in(make, Role.MINISTRY_AUDITOR)

    voided = await accepted(make, None, VOID, {"id": recorded["id"], "reason": "Bogus"})

    assert voided["status"] == "VOIDED"
    assert voided["voidedBy"].startswith("user:")


async def test_only_a_ministry_auditor_voids_with_a_reason_and_only_once(make: Factory) -> None:
    employer, auditor = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    recorded = await hire(make, employer, await open_vacancy(make, employer), await make.profile())
    officer_client = await make.caller(None, scopes=["returnees:write"])

    by_employer = await refused(make, employer, VOID, {"id": recorded["id"], "reason": "Mine"})
    by_officer = await refused(make, officer_client, VOID, {"id": recorded["id"], "reason": "Mine"})
    blank = await refused(make, auditor, VOID, {"id": recorded["id"], "reason": "   "})
    await accepted(make, auditor, VOID, {"id": recorded["id"], "reason": "Bogus"})
    twice = await refused(make, auditor, VOID, {"id": recorded["id"], "reason": "Bogus"})

    assert [e["code"] for e in (by_employer, by_officer, blank, twice)] == [
        "FORBIDDEN",
        "FORBIDDEN",
        "INVALID",
        "INVALID_STATE",
    ]
    assert blank["field"] == ["input", "reason"]


# Reading hires


async def test_employers_see_their_own_hires_and_the_ministry_sees_all(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    of_a = (await hire(make, a, await open_vacancy(make, a), await make.profile()))["id"]
    of_b = (await hire(make, b, await open_vacancy(make, b), await make.profile()))["id"]

    seen = [
        await hire_ids(make, a),
        await hire_ids(make, b),
        await hire_ids(make, await make.caller(None)),
    ]

    assert seen == [[of_a], [of_b], [of_b, of_a]]


async def test_hires_are_filtered_by_every_field_of_the_filter(make: Factory) -> None:
    textile = await make.employer_caller(Sector.TEXTILE)
    construction = await make.employer_caller(Sector.CONSTRUCTION)
    in_kandal = await open_vacancy(make, textile, province="KANDAL")
    in_takeo = await open_vacancy(make, construction, province="TAKEO", **CONSTRUCTION_JOB)
    first = await hire(make, textile, in_kandal, await make.profile())
    second = await hire(make, construction, in_takeo, await make.profile(), monthlyWageUsd="180.00")
    third = await hire(make, textile, in_kandal, await make.profile())
    await accepted(make, textile, END, {"id": third["id"], "endedOn": TODAY.isoformat()})
    ministry = await make.caller(None)

    found = {
        name: await hire_ids(make, ministry, filter=f)
        for name, f in {
            "ended": {"statuses": ["ENDED"]},
            "employer": {"employerId": construction.employer and to_global_id("Employer", construction.employer.id)},
            "vacancy": {"vacancyId": in_kandal["id"]},
            "province": {"provinces": ["TAKEO"]},
            "sector": {"sectors": ["TEXTILE"]},
            "from": {"recordedFrom": second["recordedAt"]},
            "to": {"recordedTo": second["recordedAt"]},
        }.items()
    }

    assert found == {
        "ended": [third["id"]],
        "employer": [second["id"]],
        "vacancy": [third["id"], first["id"]],
        "province": [second["id"]],
        "sector": [third["id"], first["id"]],
        "from": [third["id"], second["id"]],
        "to": [first["id"]],
    }


async def test_pages_walk_all_hires_newest_first(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=12)
    recorded = [(await hire(make, employer, vacancy, await make.profile()))["id"] for _ in range(12)]

    pages, after = [], None
    while not pages or pages[-1]["pageInfo"]["hasNextPage"]:
        pages.append(payload(await make.graphql(employer, HIRES, {"first": 5, "after": after})))
        after = pages[-1]["pageInfo"]["endCursor"]

    assert [len(p["edges"]) for p in pages] == [5, 5, 2]
    assert [e["node"]["id"] for p in pages for e in p["edges"]] == recorded[::-1]
    assert {p["totalCount"] for p in pages} == {12}


async def test_a_vacancy_lists_its_hires_for_its_employer_only(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, a, positions=3)
    recorded = [(await hire(make, a, vacancy, await make.profile()))["id"] for _ in range(2)]

    own = payload(await make.graphql(a, VACANCY_HIRES, {"id": vacancy["id"]}))["hires"]
    other = payload(await make.graphql(b, VACANCY_HIRES, {"id": vacancy["id"]}))["hires"]

    assert (own["totalCount"], [e["node"]["id"] for e in own["edges"]]) == (2, recorded[::-1])
    assert other["totalCount"] == 0


async def test_vacancies_in_a_list_page_their_hires_as_the_hires_query_does(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    none, one, many = [await open_vacancy(make, employer, positions=5) for _ in range(3)]
    recorded = [(v, (await hire(make, employer, v, await make.profile()))["id"]) for v in (many, many, one, many, many)]
    of_many = [hire_id for v, hire_id in recorded if v is many][::-1]

    first_pages = await hire_pages_of_vacancies(make, employer, first=2)
    after = first_pages[many["id"]]["pageInfo"]["endCursor"]
    next_pages = await hire_pages_of_vacancies(make, employer, first=2, after=after)

    for pages, cursor in ((first_pages, None), (next_pages, after)):
        assert pages == {
            v["id"]: await hire_page_of_vacancy(make, employer, v, first=2, after=cursor) for v in (none, one, many)
        }
    assert [first_pages[v["id"]]["totalCount"] for v in (none, one, many)] == [0, 1, 4]
    assert [e["node"]["id"] for e in first_pages[many["id"]]["edges"]] == of_many[:2]
    assert [e["node"]["id"] for e in next_pages[many["id"]]["edges"]] == of_many[2:]
    page_infos = [p[many["id"]]["pageInfo"] for p in (first_pages, next_pages)]
    assert [(i["hasNextPage"], i["hasPreviousPage"]) for i in page_infos] == [(True, False), (False, True)]
    assert next_pages[one["id"]]["edges"] == first_pages[one["id"]]["edges"]  # recorded before the cursor's hire


async def test_six_listed_vacancies_read_their_hires_in_as_many_statements_as_two(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancies = [await open_vacancy(make, employer, positions=3) for _ in range(6)]
    for vacancy in vacancies:
        for _ in range(3):
            await hire(make, employer, vacancy, await make.profile())

    with statements_sent(db) as for_two:
        two = await hire_pages_of_vacancies(make, employer, vacancies=2, first=2)
    with statements_sent(db) as for_six:
        six = await hire_pages_of_vacancies(make, employer, vacancies=6, first=2)

    assert [(p["totalCount"], len(p["edges"])) for p in six.values()] == [(3, 2)] * 6
    assert len(two) == 2
    assert len(for_six) == len(for_two), for_six


async def test_an_employer_reads_no_hires_of_another_employers_listed_vacancy(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy_a, vacancy_b = await open_vacancy(make, a, positions=3), await open_vacancy(make, b, positions=3)
    of_a = (await hire(make, a, vacancy_a, await make.profile()))["id"]
    of_b = [(await hire(make, b, vacancy_b, await make.profile()))["id"] for _ in range(2)]

    seen = {
        name: {
            vacancy_id: [e["node"]["id"] for e in page["edges"]]
            for vacancy_id, page in (await hire_pages_of_vacancies(make, caller, first=5)).items()
        }
        for name, caller in (("a", a), ("b", b), ("ministry", await make.caller(None)))
    }

    assert seen == {
        "a": {vacancy_a["id"]: [of_a], vacancy_b["id"]: []},
        "b": {vacancy_a["id"]: [], vacancy_b["id"]: of_b[::-1]},
        "ministry": {vacancy_a["id"]: [of_a], vacancy_b["id"]: of_b[::-1]},
    }


async def test_a_cursor_the_api_did_not_return_is_bad_user_input_on_a_vacancys_hires_too(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer)
    await hire(make, employer, vacancy, await make.profile())

    nested = await make.graphql(employer, VACANCY_HIRE_PAGES, {"vacancies": 5, "first": 2, "after": "not-a-cursor"})
    top = await make.graphql(employer, VACANCY_HIRE_PAGE, {"vacancyId": vacancy["id"], "after": "not-a-cursor"})

    assert nested["data"] is None
    assert [(e["extensions"]["code"], e["message"]) for e in nested["errors"]] == [
        (e["extensions"]["code"], e["message"]) for e in top["errors"]
    ]
    assert top["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_client_without_hires_read_cannot_list_a_vacancys_hires(make: Factory) -> None:
    employer = await make.employer(Sector.TEXTILE)
    reader = await make.caller(employer, scopes=["vacancies:read", "vacancies:write"])
    await open_vacancy(make, reader)

    body = await make.graphql(reader, VACANCY_HIRE_PAGES, {"first": 2})

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_a_hire_is_read_by_node_by_its_employer_and_the_ministry_only(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    recorded = await hire(make, a, await open_vacancy(make, a), await make.profile())

    seen = [payload(await make.graphql(c, NODE, {"id": recorded["id"]})) for c in (a, b, await make.caller(None))]

    assert seen == [{"id": recorded["id"], "status": "ACTIVE"}, None, {"id": recorded["id"], "status": "ACTIVE"}]


async def test_a_client_without_hires_read_cannot_list_hires(make: Factory) -> None:
    writer = await make.caller(await make.employer(Sector.TEXTILE), scopes=["hires:write"])

    body = await make.graphql(writer, HIRES)

    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


# The audit trail


async def test_recording_ending_and_voiding_each_write_one_audit_event(make: Factory, db: Database) -> None:
    employer, auditor = await make.employer_caller(Sector.TEXTILE), await make.caller(None)
    vacancy = await open_vacancy(make, employer, positions=2)
    ended = await hire(make, employer, vacancy, await make.profile())
    voided = await hire(make, employer, vacancy, await make.profile())
    before = await count(db, "SELECT count(*) FROM audit_events")

    await accepted(make, employer, END, {"id": ended["id"], "endedOn": TODAY.isoformat()})
    await accepted(make, auditor, VOID, {"id": voided["id"], "reason": "Bogus"})
    await refused(make, employer, RECORD, hire_input(vacancy, await make.profile(), monthlyWageUsd="1"))
    await refused(make, employer, END, {"id": ended["id"], "endedOn": TODAY.isoformat()})

    async with db.read() as session:
        rows = (
            await session.execute(
                text("SELECT action, entity_id FROM audit_events WHERE seq > :n ORDER BY seq"), {"n": before}
            )
        ).all()
    assert [(r.action, to_global_id("Hire", r.entity_id)) for r in rows] == [
        ("hire.ended", ended["id"]),
        ("hire.voided", voided["id"]),
    ]
