"""Synthetic returnees: deterministic for a seed, realistic in shape, and counted right for k-anonymity.

Each test reads given / when / then, one block each, separated by blank lines.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from db import synthetic
from db.engine import Database
from db.synthetic import (
    BULK_LOADED,
    SyntheticReturnee,
    generate_returnees,
    group_count_mismatches,
    synthetic_returnees,
)
from resolvers.validation import today_in_cambodia

TODAY = today_in_cambodia()
TOP_PROVINCES = {"BATTAMBANG", "BANTEAY_MEANCHEY", "SIEM_REAP", "KAMPONG_THOM", "PREY_VENG"}
DISTRIBUTION = """
SELECT p.province, p.age_band, p.sex, p.return_month, p.education_level, p.searchable, p.skill_codes::text,
       p.occupation_codes::text, i.date_of_birth, i.returned_on, count(*)
FROM returnee_profiles p JOIN returnee_identities i ON i.id = p.identity_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
"""
AGES = """
SELECT array[min(a), max(a), avg((a > 45)::int)]::float[]
FROM (SELECT extract(year FROM age(:today, date_of_birth)) AS a FROM returnee_identities) x
"""
TOP_FIVE_PROVINCES = """
SELECT array_agg(province) FROM (SELECT province FROM returnee_profiles GROUP BY 1 ORDER BY count(*) DESC LIMIT 5) t
"""
FARM_WORK_SHARE_OVER_AND_UNDER_45 = """
SELECT array[avg(farm) FILTER (WHERE older), avg(farm) FILTER (WHERE NOT older)]::float[] FROM (
    SELECT ('AGRICULTURE' = ANY (experience_sectors))::int AS farm, age_band IN ('AGE_45_54', 'AGE_55_PLUS') AS older
    FROM returnee_profiles) p
"""
AVAILABLE_BEFORE_RETURN = """
SELECT count(*) FROM returnee_profiles p JOIN returnee_identities i ON i.id = p.identity_id
WHERE p.available_from < i.returned_on
"""
# Every skill of a profile belongs to the sector of one of its occupations (or to none: first aid, say).
SKILLS_OUTSIDE_THE_WORK_DONE = """
SELECT count(*) FROM returnee_profiles p CROSS JOIN unnest(p.skill_codes) AS s(code) JOIN skills k ON k.code = s.code
WHERE k.sector IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM unnest(p.occupation_codes) AS o(code) JOIN occupations oc ON oc.code = o.code
    WHERE k.sector::text = ANY (oc.sectors))
"""


def without_ids(returnee: SyntheticReturnee) -> tuple[Any, ...]:
    """A returnee's data, leaving out the random ids that are the same for no two runs."""
    return returnee.identity[1:], returnee.profile[2:], [row[1:] for row in returnee.experience]


async def scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.read() as session:
        return await session.scalar(text(sql), params)


async def distribution(db: Database) -> Counter[tuple[Any, ...]]:
    async with db.read() as session:
        return Counter({tuple(row[:-1]): row[-1] for row in await session.execute(text(DISTRIBUTION))})


SETTLED_SINCE = """
SELECT array_agg(relname::text ORDER BY relname) FROM pg_stat_user_tables
WHERE relname = ANY(:tables) AND last_vacuum >= :since AND last_analyze >= :since
"""


def generate_command(*args: str, database_url: str) -> Any:
    """`karngar generate-profiles`, run in a thread of its own since it starts its own event loop."""
    return CliRunner().invoke(
        app, ["generate-profiles", *args], env={"DATABASE_URL": database_url}, catch_exceptions=False
    )


POSTINGS_WITHOUT_THEIR_OCCUPATIONS = """
SELECT count(*) FROM profile_postings p JOIN returnee_profiles r ON r.id = p.profile_id
WHERE p.occupation_mask <> (SELECT coalesce(sum(DISTINCT 1::bigint << o.bit), 0) FROM occupations o
                            WHERE o.code = ANY (r.occupation_codes))
"""
MASKS_NOT_LISTED = """
SELECT count(*) FROM (SELECT 'occupation', occupation_mask FROM profile_postings WHERE skill_bit = -1
                      UNION SELECT 'preferred', preferred_mask FROM profile_postings WHERE skill_bit = -1
                      EXCEPT SELECT kind, mask FROM profile_masks) AS missing
"""


def test_one_seed_always_gives_the_same_returnees() -> None:
    first = [without_ids(r) for r in itertools.islice(synthetic_returnees(1, TODAY), 2000)]
    again = [without_ids(r) for r in itertools.islice(synthetic_returnees(1, TODAY), 2000)]
    other_seed = [without_ids(r) for r in itertools.islice(synthetic_returnees(2, TODAY), 2000)]

    assert first == again
    assert first != other_seed


async def test_generating_2000_twice_with_seed_1_gives_the_same_distribution_and_true_group_counts(
    db: Database, database_url: str
) -> None:
    started = await scalar(db, "SELECT now()")
    first_run = await asyncio.to_thread(generate_command, "--count", "2000", "--seed", "1", database_url=database_url)
    after_one = await distribution(db)
    # The command vacuums and analyses what it wrote, not leaving it to autovacuum's timing.
    settled = await scalar(db, SETTLED_SINCE, tables=list(BULK_LOADED), since=started)
    assert settled == sorted(BULK_LOADED)

    second_run = await asyncio.to_thread(generate_command, "--count", "2000", "--seed", "1", database_url=database_url)

    assert (first_run.exit_code, second_run.exit_code) == (0, 0), first_run.output + second_run.output
    assert "Generated 2,000 returnees (seed 1)" in second_run.stdout
    # The same returnees again (with new phones, national ids and ids): every group exactly doubles.
    assert await distribution(db) == Counter({key: 2 * n for key, n in after_one.items()})
    assert await scalar(db, "SELECT count(DISTINCT phone) FROM returnee_identities") == 4000
    assert await scalar(db, "SELECT sum(registered) FROM profile_group_counts") == 4000
    assert await scalar(db, "SELECT count(*) FROM returnee_profiles") == 4000
    async with db.read() as session:
        assert await group_count_mismatches(session) == 0
    # COPY fires the postings' triggers too: occupation masks (migration 0012) and the masks a match reads by.
    assert await scalar(db, POSTINGS_WITHOUT_THEIR_OCCUPATIONS) == 0
    assert await scalar(db, MASKS_NOT_LISTED) == 0
    actions = await scalar(db, "SELECT array_agg(action) FROM audit_events")
    assert actions == ["returnees.generated", "returnees.generated"]


async def test_synthetic_returnees_look_like_the_people_who_came_back(db: Database) -> None:
    await generate_returnees(db, 2000, seed=7, today=TODAY)

    youngest, oldest, over_45 = await scalar(db, AGES, today=TODAY)
    assert (youngest, oldest) == (18, 60)
    assert 0.28 <= over_45 <= 0.40  # about a third
    top = await scalar(db, TOP_FIVE_PROVINCES)
    assert set(top) == TOP_PROVINCES
    older, younger = await scalar(db, FARM_WORK_SHARE_OVER_AND_UNDER_45)
    assert older > younger + 0.15  # older returnees lean to agriculture
    assert 0.80 <= await scalar(db, "SELECT avg(searchable::int)::float FROM returnee_profiles") <= 0.90
    assert await scalar(db, SKILLS_OUTSIDE_THE_WORK_DONE) == 0
    returns = await scalar(db, "SELECT array[min(returned_on), max(returned_on)] FROM returnee_identities")
    assert returns[0].isoformat() >= "2025-01-01" and returns[1].isoformat() <= "2026-10-31"
    assert await scalar(db, AVAILABLE_BEFORE_RETURN) == 0


async def test_every_name_is_written_in_khmer_script(db: Database) -> None:
    await generate_returnees(db, 200, seed=3, today=TODAY)

    names = await scalar(db, "SELECT array_agg(name) FROM returnee_identities")

    assert all(all("\u1780" <= c <= "\u17ff" or c == " " for c in name) for name in names)
    assert len(set(names)) > 100


async def test_a_generation_in_many_chunks_writes_the_seeds_returnees_in_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(synthetic, "CHUNK_SIZE", 7)  # each chunk is made while the one before is written
    expected = {(r.identity[4], r.identity[1]) for r in itertools.islice(synthetic_returnees(5, TODAY), 30)}

    await generate_returnees(db, 30, 5, TODAY)

    async with db.read() as session:
        written = {tuple(row) for row in await session.execute(text("SELECT phone, name FROM returnee_identities"))}
    assert written == expected
