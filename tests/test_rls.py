"""Row-level security: PostgreSQL itself refuses one employer's rows to another, whatever the resolvers ask.

The tests run as the postgres superuser, which bypasses row-level security; what they prove is that the
API's transactions do not: they run as karngar_app, with the caller set for that transaction only.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

import resolvers.contacts
import resolvers.hires
import resolvers.vacancies
from db.caller import APP_ROLE, Caller
from db.contacts import CurrentContactRequest
from db.engine import Database, create_engine
from db.enums import Province, Role
from db.hires import Hire, HireCriteria
from db.vacancies import Vacancy
from schema.common import uuid_of
from tests.factories import Caller as ApiCaller
from tests.factories import Factory, accepted, payload
from tests.test_contacts import ask
from tests.test_hires import HIRES, hire, log_in
from tests.test_vacancies import NODE, VACANCIES, create, open_vacancy

TENANT_TABLES = ("vacancies", "contact_requests", "hires", "returnee_identities")
PLACEMENTS = "SELECT coalesce(sum(placements), 0) FROM daily_placement_counts"


@dataclass
class Tenant:
    api: ApiCaller
    caller: Caller
    open_vacancy: dict[str, Any]
    draft: dict[str, Any]
    hire: dict[str, Any]
    request: dict[str, Any]

    def uuid(self, name: str, type_name: str) -> uuid.UUID:
        return uuid_of(getattr(self, name)["id"], type_name)


async def tenant(make: Factory, name: str) -> Tenant:
    """An employer with an OPEN vacancy (one hire, one contact request) and a DRAFT one."""
    api = await make.employer_caller(name=name)
    assert api.employer is not None
    vacancy = await open_vacancy(make, api, positions=5, title=f"{name} sewing line")
    draft = await create(make, api, title=f"{name} secret plan")
    request = await ask(make, api, vacancy, await make.profile())
    hired = await hire(make, api, vacancy, await make.profile())
    return Tenant(api, Caller("employer", employer_id=api.employer.id), vacancy, draft, hired, request)


@pytest.fixture
async def a_and_b(make: Factory) -> tuple[Tenant, Tenant]:
    return await tenant(make, "Alpha"), await tenant(make, "Bravo")


async def rows(db: Database, sql: str, **params: Any) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(text(sql), params)).all())


async def snapshot(db: Database, employer_id: uuid.UUID) -> list[Any]:
    """Every tenant row of one employer, as the system sees it."""
    found = []
    for table in ("vacancies", "contact_requests", "hires"):
        found += await rows(db, f"SELECT * FROM {table} WHERE employer_id = :e ORDER BY id", e=employer_id)
    return found


# The role the API runs as


async def test_the_api_runs_as_a_role_that_owns_no_table_and_cannot_bypass_row_level_security(db: Database) -> None:
    employer = db.for_caller(Caller("employer", employer_id=uuid.uuid4()))

    (me,) = await rows(
        employer,
        "SELECT current_user, r.rolsuper, r.rolbypassrls, current_setting('karngar.caller')"
        " FROM pg_roles r WHERE r.rolname = current_user",
    )
    tables = await rows(
        db,
        "SELECT relname, pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity FROM pg_class"
        " WHERE relname = ANY(:names) AND relkind = 'r'",
        names=list(TENANT_TABLES),
    )

    assert tuple(me) == (APP_ROLE, False, False, "employer")
    assert len(tables) == len(TENANT_TABLES)
    for name, owner, enabled, forced in tables:
        assert owner != APP_ROLE and enabled and forced, name


# The database alone refuses


async def test_the_database_alone_refuses_another_employers_rows_to_read_change_or_add(
    make: Factory, db: Database, a_and_b: tuple[Tenant, Tenant]
) -> None:
    a, b = a_and_b
    free_profile = await make.profile()
    as_b = db.for_caller(b.caller)
    before = await snapshot(db, a.caller.employer_id)  # type: ignore[arg-type]
    a_id = a.caller.employer_id

    seen = {
        table: await rows(as_b, f"SELECT id FROM {table} WHERE employer_id = :a", a=a_id)
        for table in ("vacancies", "contact_requests", "hires")
    }
    identities = await rows(as_b, "SELECT id FROM returnee_identities")
    changed = {}
    async with as_b.write() as session:
        for table, assignment in (
            ("vacancies", "title = 'taken over'"),
            ("hires", "nssf_number = NULL"),
            ("contact_requests", "message = 'taken over'"),
        ):
            changed[table] = (
                await session.execute(text(f"UPDATE {table} SET {assignment} WHERE employer_id = :a"), {"a": a_id})
            ).rowcount
        changed["deleted"] = (
            await session.execute(text("DELETE FROM vacancies WHERE employer_id = :a"), {"a": a_id})
        ).rowcount
    with pytest.raises(DBAPIError, match="row-level security"):
        async with as_b.write() as session:
            await session.execute(
                text(
                    "INSERT INTO vacancies (employer_id, title, occupation_code, sector, province, description,"
                    " positions, contract_type, wage_min_usd, benefits)"
                    " VALUES (:a, 'planted', '8153', 'TEXTILE', 'PHNOM_PENH', 'x', 1, 'PERMANENT', 250, '{}')"
                ),
                {"a": a_id},
            )
    with pytest.raises(IntegrityError, match="fk_hires_employer_vacancy"):
        async with as_b.write() as session:  # B's own row, pointing at A's vacancy
            await session.execute(
                text(
                    "INSERT INTO hires (employer_id, vacancy_id, profile_id, start_date, contract_type,"
                    " monthly_wage_usd, recorded_by) VALUES (:b, :v, :p, current_date, 'PERMANENT', 250, 'b')"
                ),
                {"b": b.caller.employer_id, "v": a.uuid("open_vacancy", "Vacancy"), "p": free_profile},
            )

    assert [r.id for r in seen["vacancies"]] == [a.uuid("open_vacancy", "Vacancy")]  # OPEN ones are public
    assert seen["contact_requests"] == [] and seen["hires"] == []
    assert identities == []
    assert changed == {"vacancies": 0, "hires": 0, "contact_requests": 0, "deleted": 0}
    assert await snapshot(db, a_id) == before  # type: ignore[arg-type]


async def test_officers_see_only_the_identities_and_requests_of_their_province_and_the_ministry_all(
    db: Database, a_and_b: tuple[Tenant, Tenant]
) -> None:
    # given: every factory profile lives in Battambang
    battambang = db.for_caller(Caller("officer", province=Province.BATTAMBANG.value))
    kandal = db.for_caller(Caller("officer", province=Province.KANDAL.value))
    ministry = db.for_caller(Caller("ministry"))

    counts = {
        name: [
            len(await rows(caller, f"SELECT 1 FROM {table}")) for table in ("returnee_identities", "contact_requests")
        ]
        for name, caller in (("battambang", battambang), ("kandal", kandal), ("ministry", ministry))
    }
    no_employer = db.for_caller(Caller("employer"))
    nobody = [len(await rows(no_employer, f"SELECT 1 FROM {table}")) for table in ("vacancies", "hires")]
    async with db.for_caller(Caller("officer")).read() as session:
        await session.execute(text("SELECT set_config('karngar.caller', 'system', true)"))
        claiming_system = await session.scalar(text("SELECT count(*) FROM returnee_identities"))

    assert counts == {"battambang": [4, 2], "kandal": [0, 0], "ministry": [4, 2]}
    assert nobody == [2, 0]  # an employer caller without an employer: the OPEN vacancies only
    assert claiming_system == 0  # 'system' is never honoured for the app role


# The resolvers' own filter removed


async def test_with_the_resolvers_tenant_filters_removed_the_api_still_shows_only_the_callers_rows(
    make: Factory, db: Database, a_and_b: tuple[Tenant, Tenant], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = a_and_b
    monkeypatch.setattr(resolvers.hires, "readable_hires", lambda employer_id: select(Hire))
    monkeypatch.setattr(resolvers.vacancies, "readable_vacancies", lambda *_, **__: select(Vacancy))
    monkeypatch.setattr(resolvers.vacancies, "writable_vacancies", lambda employer_id: select(Vacancy))
    monkeypatch.setattr(resolvers.contacts, "readable_contact_requests", lambda **_: select(CurrentContactRequest))
    leaked_without_rls = await resolvers.hires.list_hires(db, principal_of(b), HireCriteria(), first=100, after=None)

    hires = payload(await make.graphql(b.api, HIRES, {"first": 100}))
    vacancies = payload(await make.graphql(b.api, VACANCIES, {"first": 100}))
    draft = payload(await make.graphql(b.api, NODE, {"id": a.draft["id"]}))
    requests = payload(await make.graphql(b.api, "{ contactRequests(first: 100) { edges { node { id } } } }"))
    update = payload(
        await make.graphql(
            b.api,
            "mutation($i: UpdateVacancyInput!) { updateVacancy(input: $i) { vacancy { id } userErrors { code } } }",
            {"i": {"id": a.open_vacancy["id"], "title": "taken over"}},
        )
    )

    assert a.uuid("hire", "Hire") in {h.id for h in leaked_without_rls.rows}  # the filter really is gone
    assert {e["node"]["id"] for e in hires["edges"]} == {b.hire["id"]}
    assert {e["node"]["id"] for e in vacancies["edges"]} == {
        a.open_vacancy["id"],
        b.open_vacancy["id"],
        b.draft["id"],
    }
    assert draft is None
    assert {e["node"]["id"] for e in requests["edges"]} == {b.request["id"]}
    assert update == {"vacancy": None, "userErrors": [{"code": "NOT_FOUND"}]}
    assert (await rows(db, "SELECT title FROM vacancies WHERE id = :v", v=a.uuid("open_vacancy", "Vacancy")))[0][
        0
    ] == "Alpha sewing line"


def principal_of(tenant: Tenant) -> Any:
    from auth.principal import EMPLOYER_SCOPES, Principal

    return Principal("client", tenant.api.client_id, "b", (), frozenset(EMPLOYER_SCOPES), tenant.caller.employer_id)


# The setting never leaks across transactions


@pytest.fixture
async def pool_of_two(database_url: str, db: Database) -> AsyncIterator[Database]:
    engine = create_engine(database_url, pool_size=2)
    yield Database(engine)
    await engine.dispose()


async def test_thousands_of_interleaved_transactions_on_two_connections_each_see_only_their_caller(
    make: Factory, pool_of_two: Database
) -> None:
    employers = [await make.employer(name=f"Tenant {n}") for n in range(4)]
    drafts = {}
    for employer in employers:
        api = await make.caller(employer)
        drafts[employer.id] = uuid_of((await create(make, api))["id"], "Vacancy")
    callers = [Caller("employer", employer_id=e.id) for e in employers] + [Caller("officer", province="KANDAL")]
    seen: list[tuple[Caller, str, str, list[uuid.UUID]]] = []

    async def one(caller: Caller) -> None:
        async with pool_of_two.for_caller(caller).read() as session:
            setting = await session.scalar(text("SELECT current_setting('karngar.employer_id')"))
            await asyncio.sleep(0)  # let the other transactions run in between
            user, ids = (
                await session.execute(text("SELECT current_user, array(SELECT id FROM vacancies ORDER BY id)"))
            ).one()
            seen.append((caller, setting, user, list(ids)))

    await asyncio.gather(*(one(caller) for caller, _ in zip(itertools.cycle(callers), range(2000), strict=False)))
    async with pool_of_two.engine.connect() as raw, pool_of_two.engine.connect() as other:
        after = [
            (await connection.execute(text("SELECT current_setting('karngar.caller', true), current_user"))).one()
            for connection in (raw, other)
        ]

    assert len(seen) == 2000
    for caller, setting, user, ids in seen:
        assert user == APP_ROLE
        if caller.employer_id is None:
            assert setting == "" and ids == sorted(drafts.values())  # officers read every vacancy
        else:
            assert setting == str(caller.employer_id) and ids == [drafts[caller.employer_id]]
    assert {tuple(row) for row in after} in ({("", "postgres")}, {(None, "postgres")})


async def test_no_caller_outlives_its_transaction_even_when_it_fails(database_url: str, db: Database) -> None:
    engine = create_engine(database_url, pool_size=1)
    one_connection = Database(engine)
    employer = one_connection.for_caller(Caller("employer", employer_id=uuid.uuid4()))
    try:
        async with employer.read() as session:
            inside = await session.scalar(text("SELECT current_user"))
        with pytest.raises(DBAPIError):
            async with employer.write() as session:
                await session.execute(text("SELECT 1 / 0"))
        async with engine.connect() as raw:
            after = (
                await raw.execute(
                    text(
                        "SELECT current_user = session_user, coalesce(current_setting('karngar.caller', true), ''),"
                        " coalesce(current_setting('karngar.employer_id', true), '')"
                    )
                )
            ).one()
        async with one_connection.read() as session:
            system = await session.scalar(text("SELECT current_setting('karngar.caller')"))
    finally:
        await engine.dispose()

    assert inside == APP_ROLE
    assert tuple(after) == (True, "", "")
    assert system == "system"


# Triggers and privileges under row-level security


async def test_counting_triggers_still_count_while_the_app_role_cannot_touch_the_counts(
    make: Factory, db: Database
) -> None:
    api = await make.employer_caller()
    vacancy = await open_vacancy(make, api)
    as_employer = db.for_caller(Caller("employer", employer_id=api.employer.id))  # type: ignore[union-attr]

    await hire(make, api, vacancy, await make.profile())
    for tampering in (
        "UPDATE daily_placement_counts SET placements = 1000",
        "DELETE FROM profile_group_counts",
        "DELETE FROM profile_postings",
        "UPDATE profile_bitmaps SET bits = ~bits",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with as_employer.write() as session:
                await session.execute(text(tampering))

    assert (await rows(as_employer, PLACEMENTS))[0][0] == 1
    assert (await rows(as_employer, "SELECT sum(registered) FROM profile_group_counts"))[0][0] == 1
    # The hire, made as the app role, made the returnee unavailable: the postings trigger followed (one
    # posting for its skill, one for searches without skills).
    assert await rows(as_employer, "SELECT count(*), bool_or(is_available) FROM profile_postings") == [(2, False)]
    # ... and so did the bitmaps' (the search totals): searchable, but no longer available.
    bitmaps = "SELECT key, bit_count(bits) FROM profile_bitmaps WHERE key IN ('searchable', 'available') ORDER BY key"
    assert await rows(as_employer, bitmaps) == [("available", 0), ("searchable", 1)]


async def test_a_table_a_later_migration_creates_is_granted_to_the_app_role(db: Database) -> None:
    async with db.write() as session:
        await session.execute(text("CREATE TABLE rls_later_table (id int PRIMARY KEY)"))
    try:
        async with db.for_caller(Caller("ministry")).write() as session:
            await session.execute(text("INSERT INTO rls_later_table VALUES (1)"))
            found = await session.scalar(text("SELECT count(*) FROM rls_later_table"))
    finally:
        async with db.write() as session:
            await session.execute(text("DROP TABLE rls_later_table"))

    assert found == 1


async def test_a_provincial_officer_answers_through_row_level_security(
    make: Factory, a_and_b: tuple[Tenant, Tenant]
) -> None:
    a, _ = a_and_b

    await log_in(make, Role.PROVINCIAL_OFFICER, Province.BATTAMBANG)
    answered = await accepted(
        make,
        None,
        "mutation($input: RespondToContactRequestInput!) { respondToContactRequest(input: $input) {"
        " contactRequest { id status } userErrors { code message field } } }",
        {"id": a.request["id"], "accepted": True},
    )
    contact = payload(
        await make.graphql(
            a.api,
            "query($id: ID!) { node(id: $id) { ... on ContactRequest { contact { name } } } }",
            {"id": a.request["id"]},
        )
    )

    assert answered["status"] == "ACCEPTED"
    assert contact == {"contact": {"name": "Sok Dara"}}
