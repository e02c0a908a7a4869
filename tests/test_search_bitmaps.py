"""Exact search totals come from the search bitmaps (migration 0008): the bitmaps hold exactly what the
profiles say through every kind of change, and their totals equal counting the matching rows."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update

from db.engine import Database
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
from db.migrate import downgrade_on, upgrade_on
from db.returnees import ReturneeIdentity, ReturneeProfile
from db.search import (
    DAY_END,
    DAY_ZERO,
    EDUCATION_ORDER,
    ProfileSearch,
    VacancyNeeds,
    conditions,
    counted_total,
    day_keys,
    matching_conditions,
    matching_statements,
    search_statements,
    skill_bits,
)
from tests.factories import Factory
from tests.test_search_postings import EXPERIENCE, PROVINCES, SKILLS, _random_registry

CHUNK_BITS = 32768
LANGUAGES = ["km", "th", "en"]
OCCUPATIONS = [code for code, _, _ in EXPERIENCE]
DAYS = [
    date(1999, 6, 1),
    date(2000, 1, 1),
    date(2025, 1, 1),
    date(2026, 11, 1),
    date(2026, 11, 21),
    date(2031, 1, 1),
    date(2100, 6, 1),
]


async def _expected_bitmaps(db: Database) -> dict[tuple[str, int], set[int]]:
    """What the bitmaps must hold, worked out here from the profiles and their groups' disclosure."""
    expected: dict[tuple[str, int], set[int]] = defaultdict(set)
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT r.*, g.disclosure FROM returnee_profiles r LEFT JOIN profile_group_counts g"
                " USING (age_band, sex, province, return_month) WHERE r.searchable"
            )
        )
        for r in rows.mappings():
            day = max((r["available_from"] - DAY_ZERO).days, 0)
            keys = {"searchable", f"province:{r['province']}"}
            keys |= {f"d{4**k}:{day // 4**k}" for k in range(8)}
            level = EDUCATION_ORDER.index(EducationLevel(r["education_level"]))
            keys |= {f"education_at_least:{e.value}" for e in EDUCATION_ORDER[: level + 1]}
            keys |= {"available"} if r["is_available"] else set()
            keys |= {f"age:{r['age_band']}"} if r["disclosure"] < 4 else set()
            keys |= {f"sex:{r['sex']}"} if r["disclosure"] < 3 else set()
            for prefix, column in (
                ("willing", "preferred_provinces"),
                ("sector", "experience_sectors"),
                ("skill", "skill_codes"),
                ("occupation", "occupation_codes"),
                ("language", "languages"),
            ):
                keys |= {f"{prefix}:{value}" for value in r[column]}
            for key in keys:
                expected[key, r["search_ordinal"] // CHUNK_BITS].add(r["search_ordinal"] % CHUNK_BITS)
    return dict(expected)


async def _stored_bitmaps(db: Database) -> dict[tuple[str, int], set[int]]:
    async with db.read() as session:
        rows = await session.execute(text("SELECT key, chunk, bits::text FROM profile_bitmaps"))
        stored = {(key, chunk): {i for i, bit in enumerate(bits) if bit == "1"} for key, chunk, bits in rows}
    return {place: bits for place, bits in stored.items() if bits}  # a cleared bitmap may stay, all zeros


def _random_search(rng: random.Random) -> ProfileSearch:
    return ProfileSearch(
        skills=rng.sample(SKILLS, rng.randint(0, 3)) + (["textile.no-such-skill"] if rng.random() < 0.1 else []),
        all_skills=rng.random() < 0.25,
        sectors=rng.sample(list(Sector), rng.randint(0, 2)),
        occupations=rng.sample(OCCUPATIONS, rng.randint(0, 2)) if rng.random() < 0.3 else [],
        provinces=rng.sample(PROVINCES, rng.randint(0, 2)),
        include_willing_to_relocate=rng.random() < 0.7,
        age_bands=rng.sample([AgeBand.AGE_18_24, AgeBand.AGE_25_34, AgeBand.AGE_35_44], rng.randint(0, 2)),
        sex=rng.choice([None, None, Sex.FEMALE, Sex.MALE]),
        available_by=rng.choice([None, None, *DAYS, date(2026, 11, 1) + timedelta(days=rng.randint(0, 70))]),
        languages=rng.sample(LANGUAGES, rng.randint(0, 2)) if rng.random() < 0.3 else [],
        education_at_least=rng.choice([None, *EDUCATION_ORDER]),
        only_available=rng.random() < 0.7,
    )


async def _totals_agree(db: Database, rng: random.Random, searches: int) -> int:
    """Bitmap totals against counting the rows; returns how many searches matched someone."""
    matched = 0
    async with db.read() as session:
        bits = await skill_bits(session)
        for _ in range(searches):
            search = _random_search(rng)
            statements = search_statements(search, bits, first=5, after=None)
            assert statements.total is not None
            # Only a day outside the bitmaps' days falls back to counting rows.
            from_bitmaps = "profile_bitmaps" in str(statements.total)
            assert from_bitmaps == (search.available_by is None or DAY_ZERO <= search.available_by < DAY_END), search
            expected = await session.scalar(counted_total(conditions(search)))
            assert await session.scalar(statements.total) == expected, search
            matched += bool(expected)
    return matched


def test_available_by_a_day_reads_whole_blocks_covering_exactly_the_days_up_to_it() -> None:
    last = (DAY_END - DAY_ZERO).days - 1
    for n in [0, 1, 3, 4, 5, 15, 16, 63, 64, 65, 255, 256, 9886, last, *random.Random(4).sample(range(last), 200)]:
        covered: list[int] = []
        per_tier: dict[int, int] = defaultdict(int)
        for key in day_keys(DAY_ZERO + timedelta(days=n)):
            size, block = (int(part) for part in key.removeprefix("d").split(":"))
            covered += range(block * size, (block + 1) * size)
            per_tier[size] += 1
        assert covered == list(range(n + 1)), n
        assert max(per_tier.values()) <= 3, n


async def test_bitmap_totals_equal_counted_rows_through_every_kind_of_change(make: Factory, db: Database) -> None:
    rng = random.Random(20261127)
    await _random_registry(make, rng, 70)
    async with db.read() as session:
        ids = list(await session.scalars(select(ReturneeProfile.id).order_by(ReturneeProfile.id)))
    async with db.write() as session:  # languages are not set by the registry helper
        for profile_id in rng.sample(ids, 6):
            languages = rng.sample(LANGUAGES, rng.randint(1, 3))
            await session.execute(
                update(ReturneeProfile).where(ReturneeProfile.id == profile_id).values(languages=languages)
            )
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)
    assert await _totals_agree(db, rng, 120) > 15  # many found someone: the comparison means something

    # Consent withdrawn and given, hires, new skills and wishes, a later start, returnees erased (cascade):
    # each statement's triggers keep the bitmaps, and erasing returnees changes groups' disclosure.
    changes: list[dict[str, Any]] = [
        {"searchable": False},
        {"searchable": True},
        {"is_available": False},
        {"skill_codes": ["construction.welding", "textile.overlock"]},
        {"preferred_provinces": [Province.KANDAL.value]},
        {"available_from": date(2027, 2, 3)},
        {"education_level": EducationLevel.UPPER_SECONDARY},
    ]
    for change in changes:
        chosen = rng.sample(ids, 8)
        async with db.write() as session:
            await session.execute(update(ReturneeProfile).where(ReturneeProfile.id.in_(chosen)).values(**change))
    async with db.write() as session:
        erased = select(ReturneeProfile.identity_id).where(ReturneeProfile.id.in_(rng.sample(ids, 12)))
        await session.execute(delete(ReturneeIdentity).where(ReturneeIdentity.id.in_(erased)))
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)
    assert await _totals_agree(db, rng, 120) > 15  # many found someone: the comparison means something


async def test_migrating_a_registry_down_and_up_again_rebuilds_its_bitmaps(make: Factory, db: Database) -> None:
    """Migration 0010 re-keys the bitmaps of the profiles already registered (and its downgrade restores the
    keys of migration 0008: every searchable profile in one education and one 8- and 512-day key)."""
    await _random_registry(make, random.Random(10), 40)
    async with db.engine.connect() as connection:
        await downgrade_on(connection, "0009")
        await connection.commit()
        older = await connection.execute(
            text(
                "SELECT split_part(key, ':', 1), sum(bit_count(bits)) FROM profile_bitmaps"
                " WHERE split_part(key, ':', 1) IN ('education', 'd8', 'd512', 'education_at_least', 'd4') GROUP BY 1"
            )
        )
        searchable = await connection.scalar(text("SELECT count(*) FROM returnee_profiles WHERE searchable"))
        assert dict(older.all()) == {"education": searchable, "d8": searchable, "d512": searchable}
        await upgrade_on(connection)
        await connection.commit()
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)
    await make.profile(skills=["construction.welding"])  # the trigger function writes the new keys again
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)


async def test_a_group_growing_past_five_discloses_its_age_band_and_sex_to_filters(make: Factory, db: Database) -> None:
    """Age band and sex count in a total only while the profile's group shows them (k-anonymity)."""
    search = ProfileSearch(age_bands=[AgeBand.AGE_45_54], sex=Sex.MALE, provinces=[Province.KEP])
    for registered in range(1, 7):
        await make.profile(
            age_band=AgeBand.AGE_45_54, sex=Sex.MALE, province=Province.KEP, return_month=date(2026, 5, 1)
        )
        async with db.read() as session:
            statements = search_statements(search, await skill_bits(session), first=10, after=None)
            total = await session.scalar(statements.total)
            shown = len((await session.execute(statements.page)).all())
        assert total == shown == (registered if registered >= 5 else 0), registered
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)


async def test_a_vacancys_candidate_total_comes_from_the_bitmaps(make: Factory, db: Database) -> None:
    rng = random.Random(7)
    await _random_registry(make, rng, 40)
    async with db.read() as session:
        for skills in ([], ["textile.overlock"], ["construction.welding", "agriculture.irrigation"]):
            needs = VacancyNeeds(skills, "7112", Sector.CONSTRUCTION, Province.KANDAL, date(2026, 12, 1))
            statements = matching_statements(needs, first=5, after=None, with_total=True)
            assert "profile_bitmaps" in str(statements.total)
            expected = await session.scalar(counted_total(matching_conditions(needs)))
            assert expected and await session.scalar(statements.total) == expected, skills


async def test_concurrent_registrations_and_hires_keep_every_bit(make: Factory, db: Database) -> None:
    """Writers in separate transactions at once: each trigger reads and rewrites the bitmaps it touches under
    the audit chain's lock, so no transaction's bits overwrite another's."""
    rng = random.Random(5)

    async def register(k: int) -> None:
        await make.profile(
            province=rng.choice(PROVINCES),
            skills=rng.sample(SKILLS, 2),
            available_from=date(2026, 11, 1) + timedelta(days=k),
            phone=f"+85510{k:06d}",
        )

    await asyncio.gather(*(register(k) for k in range(24)))
    async with db.read() as session:
        ids = list(await session.scalars(select(ReturneeProfile.id)))

    async def hire(profile_id: Any) -> None:
        async with db.write() as session:
            await session.execute(
                update(ReturneeProfile).where(ReturneeProfile.id == profile_id).values(is_available=False)
            )

    await asyncio.gather(*(hire(i) for i in ids[:12]), *(register(k) for k in range(24, 36)))
    assert await _stored_bitmaps(db) == await _expected_bitmaps(db)
    async with db.read() as session:
        total = await session.scalar(
            search_statements(ProfileSearch(), await skill_bits(session), first=1, after=None).total
        )
    assert total == 36 - 12
