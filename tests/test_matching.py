"""A vacancy's candidates read from the postings level by level of score: the same pages as ranking every candidate
on the profiles (db.search.matching_statements, the ranking's definition)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from db import search as search_module
from db.caller import APP_ROLE
from db.engine import Database
from db.enums import Province, Sector
from db.migrate import downgrade_on, upgrade_on
from db.returnees import ReturneeProfile
from db.search import RankedPage, VacancyNeeds, matching_page, matching_statements, ranked_page
from tests.factories import Factory
from tests.test_search_postings import PROVINCES, SKILLS, _random_registry

OCCUPATIONS = ["8153", "7112", "6111", "8344", "7212"]  # the first four are the registry's; nobody has worked 7212


def _random_vacancy(rng: random.Random) -> VacancyNeeds:
    return VacancyNeeds(
        # Seven is more than the postings are read for (MATCH_SKILLS_READ_AT_MOST): the profiles are ranked instead.
        required_skills=rng.sample(SKILLS, rng.choice([0, 1, 1, 2, 2, 3, 3, 5, 7])),
        occupation_code=rng.choice(OCCUPATIONS),
        sector=rng.choice(list(Sector)),
        province=rng.choice([*PROVINCES, Province.PHNOM_PENH]),  # where nobody lives, though some would go
        needed_by=date(2026, 11, 1)
        + timedelta(days=rng.randint(0, 7) * 10 - rng.choice([0, 5])),  # on a day some are free
    )


async def _walk(db: Database, read: Any, *, first: int) -> list[Any]:
    """Every page, followed by cursor: each page's rows (id, score, parts, cursor), whether another follows, total."""
    pages: list[Any] = []
    after = None
    while True:
        async with db.search() as session:
            page: RankedPage = await read(session, after)
        pages.append(([(r.profile.id, r.score, r.parts, r.cursor) for r in page.rows], page.has_next, page.total))
        if not page.has_next:
            return pages
        after = page.rows[-1].cursor


@pytest.mark.parametrize("masks_read_at_most", [search_module.MASKS_READ_AT_MOST, 0], ids=["by-mask", "by-skill"])
async def test_candidates_from_the_postings_match_the_ranking_on_the_profiles(
    make: Factory, db: Database, monkeypatch: pytest.MonkeyPatch, masks_read_at_most: int
) -> None:
    """Same rows, scores, parts, cursors, order and totals, page for page, for random vacancies on a random registry
    (some returnees not consenting, one hired, k-anonymity coarsening in play); the profiles holding every skill asked
    for read by mask or, past MASKS_READ_AT_MOST, from the rarest skill's postings; rarity in any order."""
    monkeypatch.setattr(search_module, "MASKS_READ_AT_MOST", masks_read_at_most)
    monkeypatch.setattr(search_module, "_matches", {})  # statements built with the other threshold
    rng = random.Random(20261203)
    await _random_registry(make, rng, 90)
    async with db.write() as session:
        hired = await session.scalar(text("SELECT id FROM returnee_profiles WHERE searchable LIMIT 1"))
        await session.execute(update(ReturneeProfile).where(ReturneeProfile.id == hired).values(is_available=False))
    holders: dict[int, int] = {}
    places: dict[str, int] = {}

    async def skill_holders(session: Any) -> dict[int, int]:
        return holders

    async def place_holders(session: Any) -> dict[str, int]:
        return places

    monkeypatch.setattr(search_module, "skill_holders", skill_holders)
    monkeypatch.setattr(search_module, "place_holders", place_holders)
    compared = 0
    for _ in range(30):
        needs = _random_vacancy(rng)
        first = rng.choice([3, 7, 12])
        # Which postings are read first: the rarest skill's, or those of the province's residents or willing.
        holders = {bit: rng.randrange(1000) for bit in range(64)}
        places = {f"{kind}:{p.value}": rng.randrange(1000) for p in Province for kind in ("province", "willing")}

        async def posted(session: Any, after: str | None, needs: VacancyNeeds = needs, first: int = first) -> Any:
            return await matching_page(session, needs, first=first, after=after, with_total=True)

        async def reference(session: Any, after: str | None, needs: VacancyNeeds = needs, first: int = first) -> Any:
            statements = matching_statements(needs, first=first, after=after, with_total=True)
            return await ranked_page(session, statements, after=after)

        expected = await _walk(db, reference, first=first)
        assert await _walk(db, posted, first=first) == expected, needs
        compared += len(expected) > 1
    assert compared > 15  # most vacancies have several pages of candidates


POSTINGS = text(
    "SELECT p.profile_id, p.skill_bit, p.occupation_mask, r.occupation_codes FROM profile_postings p"
    " JOIN returnee_profiles r ON r.id = p.profile_id ORDER BY 1, 2"
)


async def test_postings_carry_each_profiles_occupations_after_the_migration_and_the_trigger(
    make: Factory, db: Database
) -> None:
    """Migration 0012 gives the postings of a registry the occupation masks of their profiles (each occupation's own
    bit) and lists the occupation and preferred-provinces masks they hold; the triggers do both for profiles
    registered or changed afterwards."""
    await _random_registry(make, random.Random(12), 30)
    async with db.engine.connect() as connection:
        await downgrade_on(connection, "0011")
        await connection.commit()
        await upgrade_on(connection)
        await connection.commit()
    assert await _listed_masks(db) == await _held_masks(db)
    profile = await make.profile(experience=[("7212", 2, True), ("6111", 1, True)], preferred_provinces=[Province.KEP])
    async with db.write() as session:
        bits = dict((await session.execute(text("SELECT code, bit FROM occupations"))).all())
        assert len(set(bits.values())) == len(bits)  # one bit each
        changed = await session.scalar(text("SELECT id FROM returnee_profiles WHERE searchable LIMIT 1 OFFSET 3"))
        await session.execute(
            update(ReturneeProfile).where(ReturneeProfile.id == changed).values(occupation_codes=["8153"])
        )
    async with db.read() as session:
        postings = (await session.execute(POSTINGS)).all()
    assert {row.profile_id for row in postings} >= {profile, changed}
    for row in postings:
        assert row.occupation_mask == sum(1 << bits[code] for code in set(row.occupation_codes)), row
    # The trigger lists the masks of profiles registered or changed; a mask no profile holds any more stays listed.
    held, listed = await _held_masks(db), await _listed_masks(db)
    assert ("occupation", (1 << bits["7212"]) | (1 << bits["6111"])) in held
    assert ("occupation", 1 << bits["8153"]) in held
    assert ("preferred", 1 << list(Province).index(Province.KEP)) in held
    assert listed >= held


async def _held_masks(db: Database) -> set[tuple[str, int]]:
    async with db.read() as session:
        rows = await session.execute(
            text(
                "SELECT 'occupation', occupation_mask FROM profile_postings WHERE skill_bit = -1"
                " UNION SELECT 'preferred', preferred_mask FROM profile_postings WHERE skill_bit = -1"
            )
        )
        return set(map(tuple, rows.all()))


async def _listed_masks(db: Database) -> set[tuple[str, int]]:
    async with db.read() as session:
        return set(map(tuple, (await session.execute(text("SELECT kind, mask FROM profile_masks"))).all()))


async def test_generic_plans_of_the_levels_can_read_every_partial_index(db: Database) -> None:
    """Vacancies of one shape share their statements, which PostgreSQL prepares and, after five runs, may plan once
    for every value (a generic plan). The every-profile postings' partial indexes (by skill mask, province, occupation
    mask and preferred-provinces mask) must stay usable there, so their predicate is written into the statements:
    bound, no generic plan could use them (as test_search_postings found for searches)."""
    shape = search_module._Shape(asked=2, known=2, occupation_known=True, home_first=False, willing_first=False)
    match = search_module._Match.of(shape)
    used: set[str] = set()
    async with db.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        # Whether the index can be used at all, not whether a nearly empty test table is better read whole.
        await raw.execute("SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off")
        try:
            for score in match.fits_by_score:
                sql = match.level(score, positioned=False).compile(dialect=connection.dialect)
                await raw.execute(f"PREPARE generic_level AS {sql}")
                nulls = ", ".join(["NULL"] * len(sql.positiontup or ()))
                plan = "\n".join(row[0] for row in await raw.fetch(f"EXPLAIN EXECUTE generic_level({nulls})"))
                await raw.execute("DEALLOCATE generic_level")
                assert "$1" in plan, plan  # generic indeed
                used |= {name for name in INDEXES if name in plan}
        finally:
            await raw.execute("RESET plan_cache_mode; RESET enable_seqscan")
    assert used == set(INDEXES)


INDEXES = [f"ix_profile_postings_{name}" for name in ("mask", "province", "occupation", "preferred")]


async def test_the_place_counts_steering_a_match_are_the_registrys(make: Factory, db: Database) -> None:
    """place_holders (read every few minutes; which postings a match reads first) counts, per province, the
    consenting returnees living there and those willing to work there."""
    for province, preferred, searchable in (
        (Province.KEP, [Province.KANDAL], True),
        (Province.KEP, [], True),
        (Province.KEP, [Province.KANDAL], False),
        (Province.KANDAL, [Province.KEP, Province.TAKEO], True),
    ):
        await make.profile(province=province, preferred_provinces=preferred, searchable=searchable)
    async with db.read() as session:
        counts = await search_module._RecentCounts(search_module.PLACE_HOLDERS)(session)
    assert {key: n for key, n in counts.items() if n} == {
        "province:KEP": 2,
        "province:KANDAL": 1,
        "willing:KANDAL": 1,
        "willing:KEP": 1,
        "willing:TAKEO": 1,
    }


async def test_the_steering_counts_are_read_again_after_a_few_minutes_not_before(
    make: Factory, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process reads the counts once and again every COUNTS_READ_EVERY seconds: between two reads it steers by
    the counts it has (they only decide which postings come first), after it by the registry's new ones."""
    now = [10_000.0]
    monkeypatch.setattr(search_module.time, "monotonic", lambda: now[0])
    counts = search_module._RecentCounts(search_module.PLACE_HOLDERS)
    await make.profile(province=Province.KEP)
    async with db.read() as session:
        first = await counts(session)

    await make.profile(province=Province.KEP)
    now[0] += search_module.COUNTS_READ_EVERY - 1
    async with db.read() as session:
        soon = await counts(session)
    now[0] += 1
    async with db.read() as session:
        later = await counts(session)

    assert (first["province:KEP"], soon["province:KEP"], later["province:KEP"]) == (1, 1, 2)


async def test_the_api_role_reads_the_masks_and_cannot_write_them(db: Database) -> None:
    """Only the postings' trigger writes profile_masks (as skill_masks): the API's role may read them."""
    async with db.engine.connect() as connection:
        await connection.execute(text(f"SET ROLE {APP_ROLE}"))
        await connection.execute(text("SELECT count(*) FROM profile_masks"))
        with pytest.raises(DBAPIError, match="permission denied"):
            await connection.execute(text("INSERT INTO profile_masks (kind, mask) VALUES ('occupation', 1)"))
