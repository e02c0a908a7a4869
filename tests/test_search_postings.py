"""Searches read the postings (by skill, or every profile's own): the same answers as reading the profiles,
kept in step by triggers."""

from __future__ import annotations

import random
import re
from collections import OrderedDict
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update

from db import search as search_module
from db.engine import Database
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
from db.migrate import downgrade_on, upgrade_on
from db.returnees import ReturneeProfile
from db.search import (
    PageStatements,
    ProfileSearch,
    conditions,
    counted_total,
    encode_cursor,
    page_statements,
    ranked_page,
    search_parts,
    search_statements,
    skill_bits,
)
from tests.factories import Factory

SKILLS = [
    "textile.overlock",
    "textile.pattern-cutting",
    "textile.single-needle-sewing",
    "construction.welding",
    "construction.bricklaying",
    "agriculture.irrigation",
    "general.forklift-operation",
]
EXPERIENCE = [("8153", 2, True), ("7112", 3, False), ("6111", 1, True), ("8344", 4, True)]
PROVINCES = [Province.BATTAMBANG, Province.SIEM_REAP, Province.PREY_VENG, Province.KANDAL]


async def _pages(db: Database, statements: Any, search: ProfileSearch, *, first: int) -> tuple[list[Any], int]:
    """Every page of a search, walked by cursor: (rows as (id, score, skills part), total of the first page)."""
    rows: list[Any] = []
    after = None
    total = -1
    while True:
        async with db.read() as session:
            page = await ranked_page(session, statements(after), after=after)
        if total < 0:
            total = page.total
        rows += [(r.profile.id, r.score, r.parts.get("skills"), r.profile.age_band, r.profile.sex) for r in page.rows]
        if not page.has_next:
            return rows, total
        after = page.rows[-1].cursor


async def _random_registry(make: Factory, rng: random.Random, count: int) -> None:
    for _ in range(count):
        await make.profile(
            province=rng.choice(PROVINCES),
            sex=rng.choice(list(Sex)),
            age_band=rng.choice([AgeBand.AGE_18_24, AgeBand.AGE_25_34, AgeBand.AGE_35_44]),
            return_month=date(2026, rng.choice([1, 2, 3, 7]), 1),
            skills=rng.sample(SKILLS, rng.randint(0, 3)),
            experience=rng.sample(EXPERIENCE, rng.randint(1, 2)),
            available_from=date(2026, 11, 1) + timedelta(days=rng.randint(0, 6) * 10),
            preferred_provinces=rng.sample(PROVINCES, rng.randint(0, 2)),
            education=rng.choice(list(EducationLevel)),
            searchable=rng.random() > 0.1,
        )


def _random_search(rng: random.Random) -> ProfileSearch:
    return ProfileSearch(
        # A third without skills: those read every profile's own posting.
        skills=rng.sample(SKILLS, 0 if rng.random() < 0.33 else rng.randint(1, 3))
        + (["textile.no-such-skill"] if rng.random() < 0.1 else []),
        all_skills=rng.random() < 0.25,
        sectors=rng.sample(list(Sector), rng.randint(0, 1)),
        provinces=rng.sample(PROVINCES, rng.randint(0, 2)),
        include_willing_to_relocate=rng.random() < 0.7,
        age_bands=rng.sample([AgeBand.AGE_18_24, AgeBand.AGE_25_34], rng.randint(0, 1)),
        sex=rng.choice([None, None, Sex.FEMALE, Sex.MALE]),
        available_by=rng.choice([None, date(2026, 11, 21), date(2026, 11, 25)]),
        education_at_least=rng.choice([None, EducationLevel.LOWER_SECONDARY]),
        only_available=rng.random() < 0.8,
    )


@pytest.mark.parametrize("masks_read_at_most", [search_module.MASKS_READ_AT_MOST, 0], ids=["by-mask", "by-skill"])
async def test_skill_searches_from_the_postings_match_the_profiles_page_for_page(
    make: Factory, db: Database, monkeypatch: pytest.MonkeyPatch, masks_read_at_most: int
) -> None:
    """The postings path and the profiles path (the reference) give the same rows, order, scores and totals,
    with k-anonymity coarsening in play (a registry this small has groups of every size). The all-skills level is
    read mask by mask (few masks hold every skill asked for, as here) or, past MASKS_READ_AT_MOST, from the rarest
    skill's postings: both are compared."""
    monkeypatch.setattr(search_module, "MASKS_READ_AT_MOST", masks_read_at_most)
    monkeypatch.setattr(search_module, "_built", OrderedDict())  # statements built with the other threshold
    rng = random.Random(20261127)
    await _random_registry(make, rng, 90)
    async with db.read() as session:
        bits = await skill_bits(session)
        # A returnee hired meanwhile is not available: the postings follow the profile.
        hired = await session.scalar(text("SELECT id FROM returnee_profiles WHERE searchable LIMIT 1"))
    async with db.write() as session:
        await session.execute(update(ReturneeProfile).where(ReturneeProfile.id == hired).values(is_available=False))

    compared = 0
    for _ in range(60):
        search = _random_search(rng)
        first = rng.choice([3, 7])
        # Which skill's postings come first (the rarest, in the service) changes the plan, never the answer.
        holders = {bit: rng.randrange(1000) for bit in bits.values()} if rng.random() < 0.7 else None

        def posted(
            after: str | None, search: ProfileSearch = search, first: int = first, holders: Any = holders
        ) -> PageStatements:
            return search_statements(search, bits, first=first, after=after, holders=holders)

        def reference(after: str | None, search: ProfileSearch = search, first: int = first) -> PageStatements:
            page = page_statements(conditions(search), search_parts(search), first=first, after=after)
            return replace(page, total=counted_total(conditions(search)))

        # A skill the taxonomy lacks leaves nothing to post when it is required, or when it is all that is asked.
        unknown = "textile.no-such-skill" in search.skills
        reads_profiles = unknown and (search.all_skills or search.skills == ["textile.no-such-skill"])
        assert ("profile_postings" in str(posted(None).page)) != reads_profiles, search
        known = {code for code in search.skills if code in bits}
        by_mask = not reads_profiles and len(known) > 1 and not (search.all_skills and unknown)
        assert ("skill_masks" in str(posted(None).page)) == by_mask, search
        expected = await _pages(db, reference, search, first=first)
        assert await _pages(db, posted, search, first=first) == expected, search
        compared += bool(expected[0])
    assert compared > 20  # most searches found someone, so the comparison means something


@pytest.mark.parametrize("masks_read_at_most", [search_module.MASKS_READ_AT_MOST, 0], ids=["by-mask", "by-skill"])
@pytest.mark.parametrize("all_skills", [False, True], ids=["any", "all"])
async def test_profiles_holding_every_skill_asked_come_first_whichever_way_they_are_read(
    make: Factory, db: Database, monkeypatch: pytest.MonkeyPatch, masks_read_at_most: int, all_skills: bool
) -> None:
    """Holders of all three skills, under masks of their own (other skills beside), page by page in search order;
    the same whether the masks or the rarest skill's postings are read, and as the profiles say."""
    monkeypatch.setattr(search_module, "MASKS_READ_AT_MOST", masks_read_at_most)
    monkeypatch.setattr(search_module, "_built", OrderedDict())
    asked = ["textile.overlock", "textile.pattern-cutting", "textile.single-needle-sewing"]
    extras = [[], ["construction.welding"], ["agriculture.irrigation"], ["general.forklift-operation"]]
    rng = random.Random(7)
    for n in range(24):
        held = asked if n % 2 == 0 else rng.sample(asked, 2)
        await make.profile(
            skills=held + extras[n % 4],
            province=PROVINCES[n % 3],
            available_from=date(2026, 11, 1) + timedelta(days=n % 5),
        )
    async with db.read() as session:
        bits = await skill_bits(session)
    for provinces in ([], [Province.BATTAMBANG]):
        search = ProfileSearch(
            skills=asked, all_skills=all_skills, provinces=provinces, include_willing_to_relocate=False
        )

        def posted(after: str | None, search: ProfileSearch = search) -> PageStatements:
            return search_statements(search, bits, first=5, after=after)

        def reference(after: str | None, search: ProfileSearch = search) -> PageStatements:
            page = page_statements(conditions(search), search_parts(search), first=5, after=after)
            return replace(page, total=counted_total(conditions(search)))

        expected = await _pages(db, reference, search, first=5)
        assert await _pages(db, posted, search, first=5) == expected
        holders = [row for row in expected[0] if row[1] == 3]
        assert len(holders) == (12 if not provinces else 4)  # every holder of all three, over several pages
        assert len(expected[0]) == (12 if all_skills else 24) // (1 if not provinces else 3)


async def test_the_postings_follow_consent_availability_and_skills(make: Factory, db: Database) -> None:
    profile = await make.profile(skills=["construction.welding", "construction.tiling"])
    search = ProfileSearch(skills=["construction.tiling"])

    async def found() -> list[Any]:
        async with db.read() as session:
            statements = search_statements(search, await skill_bits(session), first=10, after=None)
            page = await ranked_page(session, statements, after=None)
        assert "profile_postings" in str(statements.page)
        return [(row.profile.id, page.total) for row in page.rows]

    assert await found() == [(profile, 1)]
    for change, visible in (
        ({"searchable": False}, False),  # consent withdrawn: hidden at once
        ({"searchable": True}, True),
        ({"is_available": False}, False),  # hired
        ({"is_available": True}, True),
        ({"skill_codes": ["construction.welding"]}, False),
    ):
        async with db.write() as session:
            await session.execute(update(ReturneeProfile).where(ReturneeProfile.id == profile).values(**change))
        assert await found() == ([(profile, 1)] if visible else []), change


async def _generic_plan(db: Database, search: ProfileSearch, *, settings: str = "") -> str:
    """EXPLAIN of the generic plan of the search's page statement (with `settings`, a SET run first)."""
    async with db.read() as session:
        bits = await skill_bits(session)
    async with db.engine.connect() as connection:
        sql = search_statements(search, bits, first=5, after=None).page.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("SET plan_cache_mode = force_generic_plan")
        if settings:
            await raw.execute(settings)
        await raw.execute(f"PREPARE generic_search AS {sql}")
        try:
            # The generic plan does not depend on the values: nulls will do.
            nulls = ", ".join(["NULL"] * len(sql.positiontup or ()))
            rows = await raw.fetch(f"EXPLAIN EXECUTE generic_search({nulls})")
        finally:
            await raw.execute("DEALLOCATE generic_search")
            await raw.execute("RESET ALL")
    return "\n".join(row[0] for row in rows)


async def test_the_every_skill_level_reads_the_mask_index_in_a_generic_plan(make: Factory, db: Database) -> None:
    """A prepared statement runs a generic plan after five executions (asyncpg and SQLAlchemy prepare every
    statement): the partial index on the every-profile postings must still be usable there, or each mask scans
    the whole posting index (25 s a page at 750,000 profiles, seen in bench/search.py before this test)."""
    await make.profile(skills=["textile.overlock", "textile.ironing"])
    search = ProfileSearch(skills=["textile.overlock", "textile.ironing"], provinces=[Province.BATTAMBANG])
    plan = await _generic_plan(db, search)
    assert "$1" in plan and "ix_profile_postings_mask" in plan, plan


@pytest.mark.parametrize("search", [ProfileSearch(age_bands=[AgeBand.AGE_25_34]), ProfileSearch(sex=Sex.FEMALE)])
async def test_age_and_sex_filters_read_the_withheld_groups_by_index_in_a_generic_plan(
    make: Factory, db: Database, search: ProfileSearch
) -> None:
    """The groups withholding sex or age band are read through their partial index (migration 0013), generic plan
    or not: the disclosure level is written into the statement, since a bound one could not prove the index's
    predicate and every search filtering on either would read every group (0.7 ms each time at 750,000 profiles).
    Sequential scans are discouraged so that the test's few groups do not make the planner skip the index."""
    await make.profile(skills=["textile.overlock"])
    for skills in ([], ["textile.overlock"]):  # the every-profile postings and a skill's
        plan = await _generic_plan(db, replace(search, skills=skills), settings="SET enable_seqscan = off")
        assert re.search(r"\$\d", plan) and "ix_profile_group_counts_withheld" in plan, plan


# (pair of skills, mask) the every-profile postings hold, and how many of them skill_masks lacks.
HELD_MASKS = (
    "SELECT DISTINCT a.bit, b.bit, p.skill_mask FROM profile_postings p"
    " JOIN skills a ON p.skill_mask & (1::bigint << a.bit) <> 0"
    " JOIN skills b ON p.skill_mask & (1::bigint << b.bit) <> 0 AND b.bit > a.bit WHERE p.skill_bit = -1"
)
MASKS = (
    f"SELECT (SELECT count(*) FROM ({HELD_MASKS}) h),"
    f" (SELECT count(*) FROM ({HELD_MASKS} EXCEPT SELECT first_bit, second_bit, mask FROM skill_masks) u)"
)


async def _held_and_unlisted_masks(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        held, unlisted = (await session.execute(text(MASKS))).one()
    return held, unlisted


async def test_every_skill_mask_held_is_listed_by_the_trigger_and_by_the_migration(make: Factory, db: Database) -> None:
    rng = random.Random(11)
    await _random_registry(make, rng, 40)
    async with db.read() as session:
        ids = list(await session.scalars(text("SELECT id FROM returnee_profiles")))
    for profile in rng.sample(ids, 10):  # new skill sets, some never seen before
        async with db.write() as session:
            skills = rng.sample([*SKILLS, "construction.tiling", "agriculture.aquaculture"], rng.randint(1, 4))
            changed = update(ReturneeProfile).where(ReturneeProfile.id == profile).values(skill_codes=skills)
            await session.execute(changed)
    held, unlisted = await _held_and_unlisted_masks(db)
    assert held > 20 and unlisted == 0
    async with db.engine.connect() as connection:
        await downgrade_on(connection, "0010")
        await connection.commit()
        await upgrade_on(connection)  # migration 0011 lists the masks of the profiles already registered
        await connection.commit()
    async with db.read() as session:
        listed = await session.scalar(text("SELECT count(*) FROM skill_masks"))
    assert await _held_and_unlisted_masks(db) == (held, 0) and listed == held


async def test_the_bit_masks_follow_the_database_enums(db: Database) -> None:
    """db/search.py numbers provinces and sectors by their Python order; the triggers by the enum's."""
    async with db.read() as session:
        provinces = (await session.execute(text("SELECT enum_range(NULL::province)::text[]"))).scalar_one()
        sectors = (await session.execute(text("SELECT enum_range(NULL::sector)::text[]"))).scalar_one()
        bits = (await session.execute(text("SELECT count(DISTINCT bit), max(bit) FROM skills"))).one()
    assert provinces == [p.value for p in Province]
    assert sectors == [s.value for s in Sector]
    assert bits[0] == bits[1] + 1 <= 63


async def test_a_cursor_below_the_lowest_level_ends_the_search(make: Factory, db: Database) -> None:
    await make.profile(skills=["construction.welding"])
    search = ProfileSearch(skills=["construction.welding", "construction.tiling"])
    async with db.read() as session:
        bits = await skill_bits(session)
        first = await ranked_page(session, search_statements(search, bits, first=5, after=None), after=None)
        last = encode_cursor(0, date(2026, 12, 1), first.rows[0].profile.id)
        after_last = await ranked_page(session, search_statements(search, bits, first=5, after=last), after=last)
    assert [row.score for row in first.rows] == [1] and after_last.rows == [] and not after_last.has_next
