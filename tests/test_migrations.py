"""The models and the migrations describe the same schema, and the migrations go down and up again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from db.engine import Database, async_url
from db.migrate import downgrade_on, upgrade_on
from db.models import Base
from tests.conftest import admin


@pytest.fixture
async def scratch(server_url: str) -> AsyncIterator[AsyncConnection]:
    """An empty database of its own, so that going down to base disturbs no other test."""
    name = f"karngar_mig_{uuid.uuid4().hex[:10]}"
    admin(server_url, f'CREATE DATABASE "{name}"')
    engine = create_async_engine(async_url(make_url(server_url).set(database=name).render_as_string(False)))
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()
        admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _diff(sync_connection) -> list[object]:  # type: ignore[no-untyped-def]
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_database_matches_the_models(scratch: AsyncConnection) -> None:
    await upgrade_on(scratch)
    assert await scratch.run_sync(_diff) == []


async def test_migrations_downgrade_to_nothing_and_upgrade_again(scratch: AsyncConnection) -> None:
    await upgrade_on(scratch)
    await downgrade_on(scratch, "base")
    tables = (await scratch.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))).scalar()
    types = (await scratch.execute(text("SELECT count(*) FROM pg_type WHERE typname = 'sector'"))).scalar()
    assert (tables, types) == (1, 0)  # only alembic_version is left
    await upgrade_on(scratch)
    assert await scratch.run_sync(_diff) == []
    skills = (await scratch.execute(text("SELECT count(*) FROM skills"))).scalar()
    assert skills is not None and skills >= 40


async def test_the_audit_trail_refuses_updates_and_deletes(db: Database) -> None:
    async with db.write() as session:
        await session.execute(
            text(
                "INSERT INTO audit_events (seq, at, actor, action, entity_type, entity_id, digest, previous_hash, hash)"
                " VALUES (1, now(), 'test', 'x', 'T', '1', 'd', repeat('0', 64), repeat('a', 64))"
            )
        )
    for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.write() as session:
                await session.execute(text(statement))
    async with db.read() as session:
        assert (await session.execute(text("SELECT actor FROM audit_events"))).scalars().all() == ["test"]


async def test_a_returnee_cannot_hold_two_active_hires_in_the_database(db: Database) -> None:
    # Given one returnee and two open vacancies of two employers, written straight to the tables
    async with db.write() as session:
        ids = (
            await session.execute(
                text(
                    """
                    WITH e AS (
                        INSERT INTO employers (legal_name, registration_number, sector, isic_division, province)
                        VALUES ('A', 'R-A', 'TEXTILE', 14, 'KANDAL'), ('B', 'R-B', 'TEXTILE', 14, 'KANDAL')
                        RETURNING id
                    ), v AS (
                        INSERT INTO vacancies (employer_id, title, occupation_code, sector, province, description,
                            positions, contract_type, wage_min_usd, benefits, status, published_at)
                        SELECT id, 'Sewer', '8153', 'TEXTILE', 'KANDAL', 'd', 5, 'PERMANENT', 210, '{}', 'OPEN', now()
                        FROM e RETURNING employer_id, id
                    ), i AS (
                        INSERT INTO returnee_identities (name, sex, date_of_birth, phone, province, returned_on,
                            consent_to_search, registered_by)
                        VALUES ('Sok', 'FEMALE', '1990-01-01', '+85512345678', 'KANDAL', '2026-01-10', true, 'test')
                        RETURNING id
                    ), p AS (
                        INSERT INTO returnee_profiles (identity_id, age_band, sex, province, return_month,
                            education_level, available_from, searchable)
                        SELECT id, 'AGE_35_44', 'FEMALE', 'KANDAL', '2026-01-01', 'PRIMARY', '2026-02-01', true FROM i
                        RETURNING id
                    )
                    SELECT v.employer_id, v.id AS vacancy_id, p.id AS profile_id FROM v, p
                    """
                )
            )
        ).all()
    hire = text(
        "INSERT INTO hires (employer_id, vacancy_id, profile_id, start_date, contract_type, monthly_wage_usd,"
        " recorded_by) VALUES (:e, :v, :p, '2026-12-01', 'PERMANENT', 220, 'test')"
    )
    async with db.write() as session:
        await session.execute(hire, {"e": ids[0].employer_id, "v": ids[0].vacancy_id, "p": ids[0].profile_id})
    # When the second employer records an active hire of the same returnee, the database refuses it
    with pytest.raises(DBAPIError, match="uq_hires_one_active_per_profile"):
        async with db.write() as session:
            await session.execute(hire, {"e": ids[1].employer_id, "v": ids[1].vacancy_id, "p": ids[1].profile_id})
    # And no employer can attach a hire to another employer's vacancy
    with pytest.raises(DBAPIError, match="fk_hires_employer_vacancy"):
        async with db.write() as session:
            await session.execute(text("UPDATE hires SET employer_id = :other"), {"other": ids[1].employer_id})
