"""The ministry's audit trail: one gap-free chain under concurrent writers, its verification, and its pages.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from db.audit import GENESIS_HASH
from db.engine import Database
from db.enums import Role, Sector
from tests.factories import Caller, Factory, payload, send
from tests.test_hires import RECORD, hire, hire_input, log_in
from tests.test_statistics import random_mix
from tests.test_vacancies import open_vacancy

VERIFY = "{ verifyAuditLog { ok eventsChecked firstBrokenSeq } }"
EVENTS = """
query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id seq at actor action entityType entityId hash previousHash } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
    totalCount
  }
}
"""
KARNGAR = Path(sys.executable).with_name("karngar")


async def verify(make: Factory, caller: Caller | None) -> dict[str, Any]:
    return payload(await make.graphql(caller, VERIFY))  # type: ignore[no-any-return]


async def events(make: Factory, caller: Caller | None, **variables: Any) -> dict[str, Any]:
    return payload(await make.graphql(caller, EVENTS, {"first": 100, **variables}))  # type: ignore[no-any-return]


async def chain(db: Database) -> list[Any]:
    async with db.read() as session:
        return list(
            (await session.execute(text("SELECT seq, previous_hash, hash FROM audit_events ORDER BY seq"))).all()
        )


async def tamper(db: Database, statement: str, **params: Any) -> None:
    """Change the trail behind the application's back, as only the tables' owner could."""
    async with db.write() as session:
        await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        await session.execute(text(statement), params)
        await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


async def karngar_verify_audit(database_url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(KARNGAR),
        "verify-audit",
        env={"DATABASE_URL": database_url, "PATH": str(KARNGAR.parent)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return process.returncode or 0, output.decode()


# One chain, whoever writes


async def test_concurrent_writers_append_one_gap_free_chain(make: Factory, db: Database) -> None:
    employers = [await make.employer_caller(Sector.TEXTILE) for _ in range(3)]
    vacancies = [await open_vacancy(make, e, positions=10) for e in employers]
    before = len(await chain(db))
    returnees = [await make.profile() for _ in range(24)]

    await asyncio.gather(
        *(send(make, employers[i % 3], RECORD, hire_input(vacancies[i % 3], r)) for i, r in enumerate(returnees))
    )

    rows = await chain(db)
    assert [row.seq for row in rows] == list(range(1, before + 25))
    assert [row.previous_hash for row in rows] == [GENESIS_HASH, *(row.hash for row in rows[:-1])]
    assert await verify(make, await make.caller(None)) == {
        "ok": True,
        "eventsChecked": before + 24,
        "firstBrokenSeq": None,
    }


# Verification


async def test_after_a_mix_of_changes_the_chain_verifies_and_a_changed_row_is_named(
    make: Factory, db: Database, database_url: str
) -> None:
    await random_mix(make, seed=7, steps=30)
    auditor = await make.caller(None)
    intact = await verify(make, auditor)
    tampered_seq = len(await chain(db)) // 2

    await tamper(db, "UPDATE audit_events SET actor = 'client:someone-else' WHERE seq = :seq", seq=tampered_seq)

    assert intact == {"ok": True, "eventsChecked": len(await chain(db)), "firstBrokenSeq": None}
    assert await verify(make, auditor) == {
        "ok": False,
        "eventsChecked": len(await chain(db)),
        "firstBrokenSeq": tampered_seq,
    }
    code, output = await karngar_verify_audit(database_url)
    assert code == 1 and f"seq {tampered_seq}" in output, output


async def test_a_changed_row_given_a_fresh_hash_breaks_the_link_of_the_next(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=3)
    for _ in range(3):
        await hire(make, employer, vacancy, await make.profile())

    await tamper(db, "UPDATE audit_events SET hash = repeat('f', 64) WHERE seq = 3")

    assert (await verify(make, await make.caller(None)))["firstBrokenSeq"] == 3
    await tamper(db, "UPDATE audit_events SET previous_hash = repeat('f', 64) WHERE seq = 4")
    # Event 3 still fails its own hash, so the first break stays at 3 even once 4 links to the new hash.
    assert (await verify(make, await make.caller(None)))["firstBrokenSeq"] == 3


async def test_a_removed_event_is_named_by_its_missing_seq(make: Factory, db: Database) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await open_vacancy(make, employer, positions=3)
    for _ in range(3):
        await hire(make, employer, vacancy, await make.profile())

    await tamper(db, "DELETE FROM audit_events WHERE seq = 2")

    assert await verify(make, await make.caller(None)) == {
        "ok": False,
        "eventsChecked": len(await chain(db)),
        "firstBrokenSeq": 2,
    }


async def test_karngar_verify_audit_exits_0_on_an_intact_chain(make: Factory, database_url: str) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    await open_vacancy(make, employer)

    code, output = await karngar_verify_audit(database_url)

    assert (code, "2 events verified" in output) == (0, True), output


async def test_only_ministry_auditors_verify_the_trail(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    officer_client = await make.caller(None, scopes=["returnees:write"])

    bodies = [await make.graphql(c, VERIFY) for c in (employer, officer_client)]
    await log_in(make, Role.MINISTRY_AUDITOR)
    by_auditor_user = await verify(make, None)

    assert [b["errors"][0]["extensions"]["code"] for b in bodies] == ["FORBIDDEN", "FORBIDDEN"]
    assert by_auditor_user["ok"] is True


# Reading the trail


async def test_the_ministry_reads_the_trail_newest_first_by_entity_actor_and_time(make: Factory, db: Database) -> None:
    a, b = await make.employer_caller(Sector.TEXTILE), await make.employer_caller(Sector.TEXTILE)
    vacancy_a = await open_vacancy(make, a, positions=2)
    recorded = await hire(make, a, vacancy_a, await make.profile())
    await open_vacancy(make, b)
    auditor = await make.caller(None)
    everything = await events(make, auditor)
    middle = everything["edges"][2]["node"]["at"]

    by_entity = await events(make, auditor, filter={"entityType": "Vacancy", "entityId": vacancy_a["id"]})
    by_hire = await events(make, auditor, filter={"entityId": recorded["id"]})
    by_actor = await events(make, auditor, filter={"actor": f"client:{b.client_id}"})
    since = await events(make, auditor, filter={"from": middle})
    until = await events(make, auditor, filter={"to": middle})

    seqs = [e["node"]["seq"] for e in everything["edges"]]
    assert seqs == [5, 4, 3, 2, 1] and everything["totalCount"] == 5
    assert [e["node"]["action"] for e in by_entity["edges"]] == ["vacancy.published", "vacancy.created"]
    assert [(e["node"]["action"], e["node"]["entityId"]) for e in by_hire["edges"]] == [
        ("hire.recorded", recorded["id"])
    ]
    assert [e["node"]["seq"] for e in by_actor["edges"]] == [5, 4]
    assert [e["node"]["seq"] for e in since["edges"]] == [5, 4, 3]
    assert [e["node"]["seq"] for e in until["edges"]] == [2, 1]


async def test_pages_of_the_trail_continue_by_seq(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)
    for _ in range(4):
        await open_vacancy(make, employer)
    auditor = await make.caller(None)

    first = await events(make, auditor, first=3)
    second = await events(make, auditor, first=3, after=first["pageInfo"]["endCursor"])
    last = await events(make, auditor, first=3, after=second["pageInfo"]["endCursor"])

    assert [[e["node"]["seq"] for e in p["edges"]] for p in (first, second, last)] == [[8, 7, 6], [5, 4, 3], [2, 1]]
    assert [p["pageInfo"]["hasNextPage"] for p in (first, second, last)] == [True, True, False]


@pytest.mark.parametrize("cursor", ["garbage", "c2VxOi0x", "c2VxOng"], ids=["not-base64", "negative", "not-a-number"])
async def test_a_garbage_cursor_is_a_clean_error(make: Factory, cursor: str) -> None:
    body = await make.graphql(await make.caller(None), EVENTS, {"after": cursor})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_employers_cannot_read_the_trail(make: Factory) -> None:
    employer = await make.employer_caller(Sector.TEXTILE)

    body = await make.graphql(employer, EVENTS)

    assert (body["data"], body["errors"][0]["extensions"]["code"]) == (None, "FORBIDDEN")
