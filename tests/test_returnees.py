"""Registering returnees and their consent: who may, every validation rule, idempotency, and what employers see.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from db.audit import Actor, append_audit_event, canonical_json
from db.engine import Database
from db.enums import Province, Role, Sex
from db.returnees import ReturneeIdentity
from resolvers.accounts import set_api_client
from resolvers.returnees import normalise_phone
from resolvers.validation import today_in_cambodia
from schema.common import to_global_id, uuid_of
from tests.factories import Caller, Factory, refused, send

PAYLOAD = (
    "profile { id province ageBand sex returnedIn educationLevel skills { code } } userErrors { code field message }"
)
REGISTER = f"mutation($input: RegisterReturneeInput!) {{ registerReturnee(input: $input) {{ {PAYLOAD} }} }}"
SET_CONSENT = f"mutation($input: SetReturneeConsentInput!) {{ setReturneeConsent(input: $input) {{ {PAYLOAD} }} }}"
NODE = "query($id: ID!) { node(id: $id) { ... on ReturneeProfile { id } } }"
TODAY = today_in_cambodia()
NAME, PHONE, NATIONAL_ID = "សុខ ដារ៉ា", "012 345 678", "010203040"


def years_ago(years: int, days: int = 0) -> date:
    return TODAY.replace(year=TODAY.year - years) - timedelta(days=days)


def job(occupation_code: str, years: int = 2, abroad: bool = True) -> dict[str, Any]:
    return {"occupationCode": occupation_code, "years": years, "abroad": abroad}


def returnee_input(**overrides: Any) -> dict[str, Any]:
    """A RegisterReturneeInput an officer of Battambang may submit as it is."""
    return {
        "name": NAME,
        "sex": "FEMALE",
        "dateOfBirth": years_ago(30).isoformat(),
        "phone": PHONE,
        "nationalId": NATIONAL_ID,
        "province": "BATTAMBANG",
        "district": "Sangkae",
        "skills": ["textile.single-needle-sewing", "textile.overlock", "textile.overlock"],
        "experience": [
            {"occupationCode": "8153", "years": 4, "abroad": True},
            {"occupationCode": "8344", "years": 1, "abroad": False},
            {"occupationCode": "9211", "years": 2, "abroad": False},
        ],
        "languages": ["km", "th"],
        "educationLevel": "LOWER_SECONDARY",
        "availableFrom": (TODAY + timedelta(days=14)).isoformat(),
        "preferredProvinces": ["PHNOM_PENH"],
        "returnedOn": (TODAY - timedelta(days=60)).isoformat(),
        "consentToSearch": True,
    } | overrides


async def as_officer(make: Factory, province: Province = Province.BATTAMBANG) -> None:
    """Log a provincial officer in: the client then sends their session cookie with every request."""
    await make.log_in(Role.PROVINCIAL_OFFICER, province=province)


async def ministry_client(make: Factory, province: Province | None) -> Caller:
    client_id = f"ministry-{uuid.uuid4().hex[:8]}"
    async with make.db.write() as session:
        _, secret = await set_api_client(
            session, client_id=client_id, name=client_id, scopes=["returnees:write"], province=province
        )
    return Caller(client_id, secret, await make.token(client_id, secret), None)


async def registered(make: Factory, caller: Caller | None = None, **overrides: Any) -> dict[str, Any]:
    result = await send(make, caller, REGISTER, returnee_input(**overrides))
    assert result["userErrors"] == [], result["userErrors"]
    return result["profile"]  # type: ignore[no-any-return]


async def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(text(sql), params)).all())


async def written(db: Database) -> tuple[int, int, int, int]:
    """How many identities, profiles, experience rows and audit events there are."""
    (counts,) = await rows(
        db,
        "SELECT (SELECT count(*) FROM returnee_identities), (SELECT count(*) FROM returnee_profiles),"
        " (SELECT count(*) FROM profile_experience), (SELECT count(*) FROM audit_events)",
    )
    return tuple(counts)  # type: ignore[return-value]


async def until_a_transaction_waits_for_a_lock(db: Database) -> None:
    """Returns once PostgreSQL shows a transaction blocked on a lock; polls instead of guessing a delay."""
    for _ in range(1000):
        if await rows(db, "SELECT 1 FROM pg_locks WHERE NOT granted"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no transaction ever waited for a lock")


def profile_uuid(profile: dict[str, Any]) -> uuid.UUID:
    raw = uuid_of(profile["id"], "ReturneeProfile")
    assert raw is not None
    return raw


# Registering


async def test_an_officer_registers_a_returnee_of_their_province_and_gets_the_anonymised_profile(
    make: Factory, db: Database
) -> None:
    await as_officer(make, Province.BATTAMBANG)

    profile = await registered(make)

    # The only returnee of their group: age band and sex are withheld and the return shown by year.
    assert (profile["province"], profile["ageBand"], profile["sex"]) == ("BATTAMBANG", None, None)
    assert profile["returnedIn"] == str((TODAY - timedelta(days=60)).year)
    assert [s["code"] for s in profile["skills"]] == ["textile.single-needle-sewing", "textile.overlock"]
    assert await written(db) == (1, 1, 3, 1)


async def test_the_profile_is_derived_from_the_registration(make: Factory, db: Database) -> None:
    await as_officer(make)

    profile = await registered(make, dateOfBirth=years_ago(46).isoformat(), returnedOn="2025-07-19")

    (row,) = await rows(
        db,
        "SELECT age_band, return_month, skill_codes, occupation_codes, experience_sectors, searchable"
        " FROM returnee_profiles WHERE id = :id",
        id=profile_uuid(profile),
    )
    assert tuple(row) == (
        "AGE_45_54",
        date(2025, 7, 1),
        ["textile.single-needle-sewing", "textile.overlock"],
        ["8153", "8344", "9211"],
        ["AGRICULTURE", "TEXTILE"],  # 8344 (forklift) belongs to every sector, so it names none
        True,
    )
    experience = await rows(db, "SELECT occupation_code, sector, years, abroad FROM profile_experience ORDER BY 1")
    assert [tuple(r) for r in experience] == [
        ("8153", "TEXTILE", 4, True),
        ("8344", None, 1, False),
        ("9211", "AGRICULTURE", 2, False),
    ]


async def test_the_identity_is_stored_apart_with_the_phone_in_plus_855_form(make: Factory, db: Database) -> None:
    await as_officer(make)

    await registered(make, name="  សុខ ដារ៉ា ", phone="012-345-678", nationalId=" 010203040 ")

    (row,) = await rows(
        db, "SELECT name, phone, national_id, consent_to_search, registered_by FROM returnee_identities"
    )
    assert tuple(row)[:4] == ("សុខ ដារ៉ា", "+85512345678", "010203040", True)
    assert row.registered_by.startswith("user:")


@pytest.mark.parametrize(
    ("written_as", "stored"),
    [
        ("012 345 678", "+85512345678"),
        ("012-345-678", "+85512345678"),
        ("+855 12 345 678", "+85512345678"),
        ("85512345678", "+85512345678"),
        ("0971234567", "+855971234567"),
        ("+855 097 123 4567", "+855971234567"),
        ("(012) 345.678", "+85512345678"),
        ("០១២ ៣៤៥ ៦៧៨", "+85512345678"),
    ],
)
def test_cambodian_phone_numbers_are_accepted_however_they_are_written(written_as: str, stored: str) -> None:
    assert normalise_phone(written_as) == stored


@pytest.mark.parametrize(
    "written_as", ["12 345 678", "012 345", "0123456789012", "+66 81 234 5678", "012 345 67x", "", "+855"]
)
def test_anything_else_is_not_a_cambodian_phone_number(written_as: str) -> None:
    assert normalise_phone(written_as) is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, ["input", "name"]),
        ({"name": "ក" * 201}, ["input", "name"]),
        ({"dateOfBirth": years_ago(15, days=-1).isoformat()}, ["input", "dateOfBirth"]),
        ({"dateOfBirth": years_ago(71).isoformat()}, ["input", "dateOfBirth"]),
        ({"phone": "12 345"}, ["input", "phone"]),
        ({"phone": "+66 81 234 5678"}, ["input", "phone"]),
        ({"skills": ["textile.overlock", "textile.knitting"]}, ["input", "skills", "1"]),
        ({"experience": [job("9999")]}, ["input", "experience", "0", "occupationCode"]),
        ({"experience": [job("8153", years=61)]}, ["input", "experience", "0", "years"]),
        ({"experience": [job("8153", years=-1)]}, ["input", "experience", "0", "years"]),
        ({"experience": [job("8153"), job("8153", years=3)]}, ["input", "experience", "1"]),
        ({"returnedOn": (TODAY + timedelta(days=1)).isoformat()}, ["input", "returnedOn"]),
        ({"returnedOn": "1989-12-31", "dateOfBirth": "1990-01-01"}, ["input", "returnedOn"]),
        ({"availableFrom": (TODAY - timedelta(days=61)).isoformat()}, ["input", "availableFrom"]),
        ({"availableFrom": (TODAY + timedelta(days=367)).isoformat()}, ["input", "availableFrom"]),
        ({"languages": [f"l{i}" for i in range(21)]}, ["input", "languages"]),
    ],
    ids=[
        "blank-name",
        "name-over-200",
        "under-15",
        "over-70",
        "short-phone",
        "thai-phone",
        "unknown-skill",
        "unknown-occupation",
        "61-years",
        "negative-years",
        "occupation-twice-abroad",
        "returned-tomorrow",
        "returned-before-birth",
        "available-before-return",
        "available-over-a-year-ahead",
        "21-languages",
    ],
)
async def test_each_rule_is_a_typed_invalid_error_on_its_field(
    make: Factory, db: Database, overrides: dict[str, Any], field: list[str]
) -> None:
    await as_officer(make)

    error = await refused(make, None, REGISTER, returnee_input(**overrides))

    assert (error["code"], error["field"]) == ("INVALID", field)
    assert await written(db) == (0, 0, 0, 0)


async def test_the_age_limits_15_and_70_are_inclusive_on_the_cambodian_date(make: Factory) -> None:
    await as_officer(make)

    youngest = await registered(make, dateOfBirth=years_ago(15).isoformat())
    oldest = await registered(
        make, dateOfBirth=years_ago(71, days=-1).isoformat(), phone="011 222 333", nationalId=None
    )

    assert youngest["id"] != oldest["id"]


async def test_a_rejected_registration_writes_nothing(make: Factory, db: Database) -> None:
    await as_officer(make)

    result = await send(make, None, REGISTER, returnee_input(name="", phone="1", skills=["nope"]))

    assert {tuple(e["field"]) for e in result["userErrors"]} == {
        ("input", "name"),
        ("input", "phone"),
        ("input", "skills", "0"),
    }
    assert await written(db) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("again", "field"),
    [({"phone": "+855 12 345 678", "nationalId": None}, "phone"), ({"phone": "011 999 888"}, "nationalId")],
)
async def test_a_returnee_already_registered_by_phone_or_national_id_is_a_conflict(
    make: Factory, db: Database, again: dict[str, Any], field: str
) -> None:
    await as_officer(make)
    await registered(make)

    error = await refused(make, None, REGISTER, returnee_input(**again))

    assert (error["code"], error["field"]) == ("CONFLICT", ["input", field])
    assert await written(db) == (1, 1, 3, 1)


async def test_concurrent_registrations_of_one_phone_register_it_once_and_the_rest_conflict(
    make: Factory, db: Database
) -> None:
    caller = await ministry_client(make, None)

    results = await asyncio.gather(
        *(send(make, caller, REGISTER, returnee_input(nationalId=f"99000000{i}")) for i in range(5))
    )

    assert sum(r["profile"] is not None for r in results) == 1
    assert sorted(e["code"] for r in results for e in r["userErrors"]) == ["CONFLICT"] * 4
    assert (await written(db))[:2] == (1, 1)


async def test_a_registration_that_loses_the_race_for_a_phone_is_a_conflict_not_an_error(
    make: Factory, db: Database
) -> None:
    caller = await ministry_client(make, None)
    async with db.write() as session:
        # Another transaction holds the audit chain and has written the same phone, but not committed yet.
        await append_audit_event(session, Actor("test:other-office", None), "test.held", "Test", "1", {})
        session.add(
            ReturneeIdentity(
                name="ចាន់ ធី",
                sex=Sex.FEMALE,
                date_of_birth=date(1990, 1, 1),
                phone="+85512345678",
                province=Province.BATTAMBANG,
                returned_on=date(2025, 7, 1),
                consent_to_search=False,
                registered_by="test:other-office",
            )
        )
        await session.flush()
        registering = asyncio.create_task(send(make, caller, REGISTER, returnee_input(nationalId=None)))
        await until_a_transaction_waits_for_a_lock(db)

    result = await registering

    assert result["profile"] is None
    assert [(e["code"], e["field"]) for e in result["userErrors"]] == [("CONFLICT", ["input", "phone"])]
    assert (await written(db))[:2] == (1, 0)


# Who may register


async def test_an_officer_cannot_register_a_returnee_of_another_province(make: Factory, db: Database) -> None:
    await as_officer(make, Province.BATTAMBANG)

    error = await refused(make, None, REGISTER, returnee_input(province="SIEM_REAP"))

    assert (error["code"], error["field"]) == ("FORBIDDEN", ["input", "province"])
    assert await written(db) == (0, 0, 0, 0)


async def test_a_ministry_client_bound_to_a_province_registers_only_there(make: Factory) -> None:
    caller = await ministry_client(make, Province.SIEM_REAP)

    error = await refused(make, caller, REGISTER, returnee_input(province="BATTAMBANG"))
    profile = await registered(make, caller, province="SIEM_REAP")

    assert (error["code"], error["field"]) == ("FORBIDDEN", ["input", "province"])
    assert profile["province"] == "SIEM_REAP"


async def test_a_ministry_client_with_returnees_write_registers_in_any_province(make: Factory) -> None:
    caller = await make.caller(None)

    profile = await registered(make, caller, province="PREY_VENG")

    assert profile["province"] == "PREY_VENG"


async def test_an_employer_cannot_register_a_returnee(make: Factory, db: Database) -> None:
    employer = await make.employer_caller()

    error = await refused(make, employer, REGISTER, returnee_input())

    assert error["code"] == "FORBIDDEN"
    assert await written(db) == (0, 0, 0, 0)


async def test_a_ministry_auditor_cannot_register_a_returnee(make: Factory) -> None:
    await make.log_in(Role.MINISTRY_AUDITOR)

    error = await refused(make, None, REGISTER, returnee_input())

    assert error["code"] == "FORBIDDEN"


# Idempotency


async def test_the_same_key_with_the_same_input_returns_the_first_profile(make: Factory, db: Database) -> None:
    await as_officer(make)
    first = await registered(make, idempotencyKey="office-42")

    again = await registered(make, idempotencyKey="office-42")

    assert again["id"] == first["id"]
    assert await written(db) == (1, 1, 3, 1)


async def test_the_same_key_with_a_different_input_is_refused(make: Factory, db: Database) -> None:
    await as_officer(make)
    await registered(make, idempotencyKey="office-42")

    error = await refused(make, None, REGISTER, returnee_input(idempotencyKey="office-42", name="ចាន់ ធី"))

    assert (error["code"], error["field"]) == ("IDEMPOTENCY_KEY_REUSED", ["input", "idempotencyKey"])
    assert await written(db) == (1, 1, 3, 1)


async def test_ten_concurrent_retries_with_one_key_register_exactly_one_returnee(make: Factory, db: Database) -> None:
    caller = await make.caller(None)

    results = await asyncio.gather(
        *(send(make, caller, REGISTER, returnee_input(idempotencyKey="retry-me")) for _ in range(10))
    )

    assert all(r["userErrors"] == [] for r in results), results
    assert len({r["profile"]["id"] for r in results}) == 1
    assert await written(db) == (1, 1, 3, 1)


# Consent, and what employers see


async def test_a_profile_without_consent_never_reaches_an_employer(make: Factory, db: Database) -> None:
    await as_officer(make)
    profile = await registered(make, consentToSearch=False)
    employer = await make.employer_caller()

    body = await make.graphql(employer, NODE, {"id": profile["id"]})

    assert body["data"]["node"] is None
    assert [tuple(r) for r in await rows(db, "SELECT searchable FROM returnee_profiles")] == [(False,)]


async def test_consent_defaults_to_no(make: Factory, db: Database) -> None:
    await as_officer(make)
    given = returnee_input()
    del given["consentToSearch"]

    await send(make, None, REGISTER, given)

    assert [tuple(r) for r in await rows(db, "SELECT consent_to_search FROM returnee_identities")] == [(False,)]


async def test_withdrawing_consent_hides_the_profile_from_employers_at_once(make: Factory, db: Database) -> None:
    await as_officer(make)
    profile = await registered(make, consentToSearch=True)
    employer = await make.employer_caller()
    seen_before = (await make.graphql(employer, NODE, {"id": profile["id"]}))["data"]["node"]

    result = await send(make, None, SET_CONSENT, {"profileId": profile["id"], "consentToSearch": False})

    assert seen_before == {"id": profile["id"]}
    assert result["userErrors"] == [] and result["profile"]["id"] == profile["id"]
    assert (await make.graphql(employer, NODE, {"id": profile["id"]}))["data"]["node"] is None
    (row,) = await rows(
        db,
        "SELECT p.searchable, i.consent_to_search FROM returnee_profiles p JOIN returnee_identities i ON"
        " i.id = p.identity_id",
    )
    assert tuple(row) == (False, False)
    actions = await rows(db, "SELECT action, entity_id FROM audit_events ORDER BY seq")
    assert [tuple(a) for a in actions][-1] == ("returnee.consent_changed", str(profile_uuid(profile)))


async def test_consent_given_later_shows_the_profile(make: Factory) -> None:
    await as_officer(make)
    profile = await registered(make, consentToSearch=False)
    employer = await make.employer_caller()

    await send(make, None, SET_CONSENT, {"profileId": profile["id"], "consentToSearch": True})

    assert (await make.graphql(employer, NODE, {"id": profile["id"]}))["data"]["node"] == {"id": profile["id"]}


async def test_only_an_officer_of_the_returnees_province_records_consent(make: Factory) -> None:
    await as_officer(make, Province.BATTAMBANG)
    profile = await registered(make)
    await as_officer(make, Province.SIEM_REAP)
    employer = await make.employer_caller()
    change = {"profileId": profile["id"], "consentToSearch": False}

    other_officer = await refused(make, None, SET_CONSENT, change)
    an_employer = await refused(make, employer, SET_CONSENT, change)
    not_an_id = await refused(make, None, SET_CONSENT, change | {"profileId": to_global_id("Vacancy", uuid.uuid4())})

    assert (other_officer["code"], other_officer["field"]) == ("FORBIDDEN", ["input", "profileId"])
    assert an_employer["code"] == "FORBIDDEN"
    assert (not_an_id["code"], not_an_id["field"]) == ("INVALID", ["input", "profileId"])


async def test_consent_for_a_profile_that_does_not_exist_is_not_found(make: Factory) -> None:
    await as_officer(make)
    missing = to_global_id("ReturneeProfile", uuid.uuid4())

    error = await refused(make, None, SET_CONSENT, {"profileId": missing, "consentToSearch": True})

    assert (error["code"], error["field"]) == ("NOT_FOUND", ["input", "profileId"])


# The audit trail


async def test_the_audit_event_carries_no_name_phone_or_national_id(make: Factory, db: Database) -> None:
    await as_officer(make)

    profile = await registered(make)

    (event,) = await rows(db, "SELECT * FROM audit_events")
    stored = " ".join(str(value) for value in event)
    for personal in (NAME, "12345678", NATIONAL_ID, "Sangkae"):
        assert personal not in stored
    assert (event.action, event.entity_type, event.entity_id) == (
        "returnee.registered",
        "ReturneeProfile",
        str(profile_uuid(profile)),
    )
    # The digest is of the profile id, the province and counts only, so no guess at a name can match it.
    change = {
        "profileId": str(profile_uuid(profile)),
        "province": "BATTAMBANG",
        "skills": 2,
        "experience": 3,
        "certifications": 0,
        "languages": 2,
        "preferredProvinces": 1,
    }
    assert event.digest == hashlib.sha256(canonical_json(change)).hexdigest()
