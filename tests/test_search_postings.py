"""Searches read the postings (by skill, or every profile's own): the same answers as reading the profiles,
kept in step by triggers."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text, update

from db.engine import Database
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
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


async def test_skill_searches_from_the_postings_match_the_profiles_page_for_page(make: Factory, db: Database) -> None:
    """The postings path and the profiles path (the reference) give the same rows, order, scores and totals,
    with k-anonymity coarsening in play (a registry this small has groups of every size)."""
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
        expected = await _pages(db, reference, search, first=first)
        assert await _pages(db, posted, search, first=first) == expected, search
        compared += bool(expected[0])
    assert compared > 20  # most searches found someone, so the comparison means something


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
