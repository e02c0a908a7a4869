"""Contact requests: asking, answering with the returnee's consent, expiry, and who ever sees a name and phone.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from db.engine import Database
from db.enums import Province, Role, Sector
from schema.common import to_global_id, uuid_of
from schema.root import schema
from tests.factories import Caller, Factory, accepted, payload, refused, send
from tests.test_hires import log_in, profile_id
from tests.test_vacancies import create, open_vacancy

REQUEST_FIELDS = """
fragment RequestFields on ContactRequest {
  id status message createdAt expiresAt respondedAt
  vacancy { id } profile { id province } contact { name phone }
}
"""
REQUEST = (
    "mutation($input: RequestContactInput!) { requestContact(input: $input) {"
    " contactRequest { ...RequestFields } userErrors { code message field } } }" + REQUEST_FIELDS
)
RESPOND = (
    "mutation($input: RespondToContactRequestInput!) { respondToContactRequest(input: $input) {"
    " contactRequest { ...RequestFields } userErrors { code message field } } }" + REQUEST_FIELDS
)
REQUESTS = (
    """
query($filter: ContactRequestFilter, $first: Int, $after: String) {
  contactRequests(filter: $filter, first: $first, after: $after) {
    edges { node { ...RequestFields } } pageInfo { hasNextPage endCursor } totalCount
  }
}
"""
    + REQUEST_FIELDS
)
NODE = "query($id: ID!) { node(id: $id) { ...RequestFields } }" + REQUEST_FIELDS
SOK_DARA = {"name": "សុខ ដារ៉ា", "phone": "+85512345678"}


async def ask(make: Factory, employer: Caller, vacancy: dict[str, Any], profile: uuid.UUID, **extra: Any) -> Any:
    input = {"vacancyId": vacancy["id"], "profileId": profile_id(profile), "message": "Sewing job in Phnom Penh"}
    return await accepted(make, employer, REQUEST, input | extra)


async def answer(make: Factory, request: dict[str, Any], *, accepted_: bool = True) -> dict[str, Any]:
    """The provincial officer of Battambang (where the factory's returnees live) records the answer."""
    await log_in(make, Role.PROVINCIAL_OFFICER, Province.BATTAMBANG)
    return await accepted(make, None, RESPOND, {"id": request["id"], "accepted": accepted_})


async def requests(make: Factory, caller: Caller | None, **variables: Any) -> dict[str, Any]:
    return payload(await make.graphql(caller, REQUESTS, {"first": 100, **variables}))  # type: ignore[no-any-return]


async def seen_by(make: Factory, caller: Caller | None, request: dict[str, Any]) -> dict[str, Any] | None:
    return payload(await make.graphql(caller, NODE, {"id": request["id"]}))  # type: ignore[no-any-return]


async def actions(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.scalars(text("SELECT action FROM audit_events ORDER BY seq"))).all())


async def stored_status(db: Database, request: dict[str, Any]) -> str:
    async with db.read() as session:
        status = await session.scalar(
            text("SELECT status::text FROM contact_requests WHERE id = :id"),
            {"id": uuid_of(request["id"], "ContactRequest")},
        )
    return str(status)


async def run_out(db: Database, request: dict[str, Any]) -> None:
    """Fifteen days pass for this request, and for nothing else."""
    async with db.write() as session:
        await session.execute(
            text("UPDATE contact_requests SET expires_at = now() - interval '1 day' WHERE id = :id"),
            {"id": uuid_of(request["id"], "ContactRequest")},
        )


# Asking for contact


async def test_an_employer_asks_to_meet_a_returnee_for_an_open_vacancy(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy, returnee = await open_vacancy(make, employer), await make.profile()

    request = await ask(make, employer, vacancy, returnee)

    created, expires = (datetime.fromisoformat(request[k]) for k in ("createdAt", "expiresAt"))
    assert (request["status"], request["respondedAt"], request["contact"]) == ("PENDING", None, None)
    assert (request["vacancy"]["id"], request["profile"]["id"]) == (vacancy["id"], profile_id(returnee))
    assert expires - created == timedelta(days=14)
    assert (await actions(db))[-1] == "contact_request.requested"


async def test_a_second_pending_request_for_the_same_vacancy_and_profile_is_a_conflict(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy, returnee = await open_vacancy(make, employer), await make.profile()
    await ask(make, employer, vacancy, returnee)

    error = await refused(make, employer, REQUEST, {"vacancyId": vacancy["id"], "profileId": profile_id(returnee)})

    assert error["code"] == "CONFLICT"


async def test_after_a_decline_the_employer_may_ask_again(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy, returnee = await open_vacancy(make, employer), await make.profile()
    await answer(make, await ask(make, employer, vacancy, returnee), accepted_=False)

    again = await ask(make, employer, vacancy, returnee)

    assert again["status"] == "PENDING"


@pytest.mark.parametrize(
    ("given", "code", "field"),
    [
        ("draft-vacancy", "INVALID_STATE", "vacancyId"),
        ("other-employers-vacancy", "NOT_FOUND", "vacancyId"),
        ("unknown-profile", "NOT_FOUND", "profileId"),
        ("profile-without-consent", "NOT_FOUND", "profileId"),
        ("long-message", "INVALID", "message"),
        ("not-a-vacancy-id", "INVALID", "vacancyId"),
    ],
)
async def test_a_request_that_cannot_be_made_is_refused_on_the_field_at_fault(
    make: Factory, given: str, code: str, field: str
) -> None:
    employer, other = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    draft, others = await create(make, employer), await open_vacancy(make, other)
    hidden = await make.profile(searchable=False)
    overrides = {
        "draft-vacancy": {"vacancyId": draft["id"]},
        "other-employers-vacancy": {"vacancyId": others["id"]},
        "unknown-profile": {"profileId": profile_id(uuid.uuid4())},
        "profile-without-consent": {"profileId": profile_id(hidden)},
        "long-message": {"message": "x" * 2001},
        "not-a-vacancy-id": {"vacancyId": "garbage"},
    }[given]
    input = {"vacancyId": (await open_vacancy(make, employer))["id"], "profileId": profile_id(await make.profile())}

    error = await refused(make, employer, REQUEST, input | overrides)

    assert (error["code"], error["field"]) == (code, ["input", field])


async def test_the_ministry_and_a_client_without_contacts_write_cannot_ask(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    reader = await make.caller(employer.employer, scopes=["profiles:read"])
    input = {"vacancyId": (await open_vacancy(make, employer))["id"], "profileId": profile_id(await make.profile())}

    codes = [(await refused(make, c, REQUEST, input))["code"] for c in (await make.caller(None), reader)]

    assert codes == ["FORBIDDEN", "FORBIDDEN"]


async def test_retries_with_one_key_make_one_request_and_the_key_binds_the_input(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy, returnee = await open_vacancy(make, employer), await make.profile()
    input = {"vacancyId": vacancy["id"], "profileId": profile_id(returnee), "idempotencyKey": "ask-1"}

    results = await asyncio.gather(*(send(make, employer, REQUEST, input) for _ in range(10)))
    reused = await refused(make, employer, REQUEST, input | {"message": "Different"})

    assert len({r["contactRequest"]["id"] for r in results}) == 1
    assert (reused["code"], reused["field"]) == ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    assert (await actions(db)).count("contact_request.requested") == 1


# Who sees which requests


async def test_officers_see_their_provinces_requests_employers_their_own_and_auditors_all(make: Factory) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    from_battambang = await ask(make, a, await open_vacancy(make, a), await make.profile(province=Province.BATTAMBANG))
    from_kampot = await ask(make, b, await open_vacancy(make, b), await make.profile(province=Province.KAMPOT))

    seen = {}
    for who, caller in (("a", a), ("b", b), ("auditor", await make.caller(None))):
        seen[who] = [e["node"]["id"] for e in (await requests(make, caller))["edges"]]
    for province in (Province.BATTAMBANG, Province.KAMPOT, Province.TAKEO):
        await log_in(make, Role.PROVINCIAL_OFFICER, province)
        seen[province.value] = [e["node"]["id"] for e in (await requests(make, None))["edges"]]

    assert seen == {
        "a": [from_battambang["id"]],
        "b": [from_kampot["id"]],
        "auditor": [from_kampot["id"], from_battambang["id"]],
        "BATTAMBANG": [from_battambang["id"]],
        "KAMPOT": [from_kampot["id"]],
        "TAKEO": [],
    }
    assert await seen_by(make, b, from_battambang) is None


async def test_requests_are_filtered_by_status_and_vacancy(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    first, second = await open_vacancy(make, employer), await open_vacancy(make, employer)
    pending = await ask(make, employer, first, await make.profile())
    answered = await answer(make, await ask(make, employer, second, await make.profile()))

    by_status = await requests(make, employer, filter={"statuses": ["ACCEPTED"]})
    by_vacancy = await requests(make, employer, filter={"vacancyId": first["id"]})

    assert [e["node"]["id"] for e in by_status["edges"]] == [answered["id"]]
    assert [e["node"]["id"] for e in by_vacancy["edges"]] == [pending["id"]]


async def test_listing_requests_needs_a_role_or_scope_for_them(make: Factory) -> None:
    writer = await make.caller(await make.employer(Sector.TEXTILE), scopes=["hires:write"])

    body = await make.graphql(writer, REQUESTS)

    assert (body["data"], body["errors"][0]["extensions"]["code"]) == (None, "FORBIDDEN")


# Answering


async def test_the_officer_of_the_returnees_province_records_consent(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    request = await ask(make, employer, await open_vacancy(make, employer), await make.profile())

    answered = await answer(make, request)

    assert (answered["status"], answered["respondedAt"] is not None) == ("ACCEPTED", True)
    assert (await actions(db))[-1] == "contact_request.accepted"
    async with db.read() as session:
        responded_by = await session.scalar(text("SELECT responded_by FROM contact_requests"))
    assert str(responded_by).startswith("user:")


async def test_no_one_but_the_officer_of_the_returnees_province_answers_and_only_once(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    request = await ask(make, employer, await open_vacancy(make, employer), await make.profile())
    by_employer = await refused(make, employer, RESPOND, {"id": request["id"], "accepted": True})
    by_auditor = await refused(make, await make.caller(None), RESPOND, {"id": request["id"], "accepted": True})
    await log_in(make, Role.PROVINCIAL_OFFICER, Province.KAMPOT)
    by_other_province = await refused(make, None, RESPOND, {"id": request["id"], "accepted": True})

    await answer(make, request, accepted_=False)
    twice = await refused(make, None, RESPOND, {"id": request["id"], "accepted": True})

    assert [e["code"] for e in (by_employer, by_auditor, by_other_province, twice)] == [
        "FORBIDDEN",
        "FORBIDDEN",
        "NOT_FOUND",
        "INVALID_STATE",
    ]


# Expiry after 14 days


async def test_a_request_unanswered_for_14_days_reads_as_expired_before_and_after_it_is_marked(
    make: Factory, db: Database
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    request = await ask(make, employer, await open_vacancy(make, employer), await make.profile())
    await run_out(db, request)

    before = (await seen_by(make, employer, request) or {})["status"], await stored_status(db, request)
    listed = (await requests(make, employer))["edges"][0]["node"]["status"]
    after = await stored_status(db, request)

    assert before == ("EXPIRED", "PENDING")
    assert (listed, after) == ("EXPIRED", "EXPIRED")


async def test_an_expired_request_cannot_be_accepted_and_no_longer_blocks_a_new_one(
    make: Factory, db: Database
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy, returnee = await open_vacancy(make, employer), await make.profile()
    request = await ask(make, employer, vacancy, returnee)
    await run_out(db, request)
    await log_in(make, Role.PROVINCIAL_OFFICER, Province.BATTAMBANG)

    error = await refused(make, None, RESPOND, {"id": request["id"], "accepted": True})
    again = await ask(make, employer, vacancy, returnee)

    assert (error["code"], await stored_status(db, request)) == ("INVALID_STATE", "EXPIRED")
    assert again["status"] == "PENDING"


# Disclosure of the returnee's contact


async def test_the_requesting_employer_sees_the_contact_once_accepted_and_each_look_is_audited(
    make: Factory, db: Database
) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    returnee = await make.profile(**SOK_DARA)
    request = await ask(make, employer, await open_vacancy(make, employer), returnee)
    before = await seen_by(make, employer, request)
    await answer(make, request)

    first, second = await seen_by(make, employer, request), await seen_by(make, employer, request)

    assert (before or {})["contact"] is None
    assert (first or {})["contact"] == (second or {})["contact"] == SOK_DARA
    disclosures = await _disclosures(db)
    assert disclosures == [(to_global_id("ReturneeProfile", returnee), f"client:{employer.client_id}")] * 2


async def test_the_contact_is_never_shown_to_another_employer_nor_after_a_decline(make: Factory, db: Database) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    returnee, declined_returnee = await make.profile(**SOK_DARA), await make.profile(name="Chan Sophea")
    accepted_for_a = await answer(make, await ask(make, a, await open_vacancy(make, a), returnee))
    pending_for_b = await ask(make, b, await open_vacancy(make, b), returnee)
    declined_for_a = await answer(
        make, await ask(make, a, await open_vacancy(make, a), declined_returnee), accepted_=False
    )

    seen = [
        await seen_by(make, b, accepted_for_a),
        (await seen_by(make, b, pending_for_b) or {})["contact"],
        (await seen_by(make, a, declined_for_a) or {})["contact"],
        [e["node"]["contact"] for e in (await requests(make, b))["edges"]],
    ]

    assert seen == [None, None, None, [None]]
    assert await _disclosures(db) == []


async def test_auditors_and_the_officer_who_brokers_the_request_see_the_contact(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    request = await ask(make, employer, await open_vacancy(make, employer), await make.profile(**SOK_DARA))

    by_auditor = (await seen_by(make, await make.caller(None), request) or {})["contact"]
    await log_in(make, Role.PROVINCIAL_OFFICER, Province.BATTAMBANG)
    by_officer = (await seen_by(make, None, request) or {})["contact"]
    await log_in(make, Role.PROVINCIAL_OFFICER, Province.TAKEO)
    by_another_province = await seen_by(make, None, request)

    assert (by_auditor, by_officer, by_another_province) == (SOK_DARA, SOK_DARA, None)
    assert await _disclosures(db) == []


def test_a_profile_has_no_field_that_could_name_or_reach_the_returnee() -> None:
    fields = set(schema._schema.type_map["ReturneeProfile"].fields)  # type: ignore[union-attr]

    assert fields.isdisjoint({"name", "phone", "contact", "nationalId", "village", "commune", "district"})


async def _disclosures(db: Database) -> list[tuple[str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            text("SELECT entity_id, actor FROM audit_events WHERE action = 'returnee.identity_disclosed' ORDER BY seq")
        )
        return [(to_global_id("ReturneeProfile", row.entity_id), row.actor) for row in rows]
