"""Synthetic returnees for load tests and demos: realistic, deterministic for a seed, written with COPY."""

from __future__ import annotations

import asyncio
import calendar
import itertools
import random
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.audit import Actor, append_audit_event
from db.engine import Database, create_engine
from db.enums import AgeBand, Province, Sex
from db.returnees import ReturneeIdentity
from db.taxonomy import AGRICULTURE, CONSTRUCTION, OCCUPATIONS, SKILLS, TEXTILE

ACTOR = Actor(name="system:generate-profiles", employer_id=None)
CHUNK_SIZE = 50_000
T = TypeVar("T")

FAMILY_NAMES = (
    "សុខ", "ចាន់", "ឈឹម", "ហេង", "លី", "គឹម", "ស៊ុន", "ម៉ៅ", "ពេជ្រ", "សេង",
    "ឡុង", "ហ៊ុន", "ខៀវ", "នួន", "ទេព", "អ៊ុំ", "យិន", "ជា", "ប៊ុន", "សៅ",
)  # fmt: skip
FEMALE_NAMES = (
    "ស្រីមុំ", "សុភា", "ចាន់ធី", "ដាវី", "ស្រីនាង", "ធារី", "បុប្ផា", "រចនា", "ស្រីល័ក្ខ", "មាលា",
    "សោភា", "ចន្ថា", "ពិសី", "សុគន្ធា", "ស្រីពៅ", "កញ្ញា", "លក្ខិណា", "សុខឃីម",
)  # fmt: skip
MALE_NAMES = (
    "ដារ៉ា", "សុភាព", "វណ្ណៈ", "រតនា", "សំណាង", "វិចិត្រ", "បញ្ញា", "ពិសិដ្ឋ", "វាសនា", "ចំរើន",
    "សុផល", "ប៊ុនថន", "រិទ្ធី", "សារឿន", "ចាន់ថា", "សុខា", "ពិសាល", "មករា",
)  # fmt: skip

# Where returnees come from: the north-western border provinces and the populous rice plains first.
PROVINCE_WEIGHTS = {
    Province.BATTAMBANG: 14.0, Province.BANTEAY_MEANCHEY: 13.0, Province.SIEM_REAP: 11.0,
    Province.KAMPONG_THOM: 9.0, Province.PREY_VENG: 8.0, Province.KAMPONG_CHAM: 5.5,
    Province.ODDAR_MEANCHEY: 5.0, Province.SVAY_RIENG: 4.5, Province.TAKEO: 4.0,
    Province.KAMPONG_CHHNANG: 3.5, Province.PURSAT: 3.5, Province.TBOUNG_KHMUM: 3.0,
    Province.KAMPOT: 2.5, Province.KANDAL: 2.5, Province.KAMPONG_SPEU: 2.5, Province.PREAH_VIHEAR: 2.0,
    Province.PAILIN: 1.5, Province.KRATIE: 1.0, Province.PHNOM_PENH: 1.0, Province.KOH_KONG: 0.7,
    Province.STUNG_TRENG: 0.5, Province.PREAH_SIHANOUK: 0.5, Province.RATANAKIRI: 0.4,
    Province.MONDULKIRI: 0.3, Province.KEP: 0.2,
}  # fmt: skip
# Returns peaked when the border closed in mid-2025 and tailed off through 2026.
RETURN_MONTH_WEIGHTS = {
    **{date(2025, m, 1): 2.0 for m in range(1, 6)},
    date(2025, 6, 1): 12.0, date(2025, 7, 1): 18.0, date(2025, 8, 1): 12.0,
    **{date(2025, m, 1): 5.0 for m in range(9, 13)},
    **{date(2026, m, 1): 2.8 for m in range(1, 11)},
}  # fmt: skip
SHARE_OVER_45 = 0.34
# Older returnees lean to farm work; younger ones to factories and building sites.
SECTOR_WEIGHTS = {
    False: {TEXTILE: 45, CONSTRUCTION: 35, AGRICULTURE: 20},
    True: {TEXTILE: 15, CONSTRUCTION: 30, AGRICULTURE: 55},
}
FEMALE_SHARE = {TEXTILE: 0.8, CONSTRUCTION: 0.25, AGRICULTURE: 0.5}
# The occupations most returnees held; every other occupation of the sector counts once.
COMMON_OCCUPATIONS = {"8153": 6, "7533": 3, "9321": 2, "9313": 6, "7112": 3, "9211": 6, "6111": 3, "9213": 2}
EDUCATION_WEIGHTS = {
    False: {"NONE": 6, "PRIMARY": 36, "LOWER_SECONDARY": 34, "UPPER_SECONDARY": 14, "VOCATIONAL": 7, "TERTIARY": 3},
    True: {"NONE": 22, "PRIMARY": 50, "LOWER_SECONDARY": 18, "UPPER_SECONDARY": 6, "VOCATIONAL": 3, "TERTIARY": 1},
}
CERTIFICATIONS = {
    TEXTILE: ("Sewing machine operation (TVET level 1)", "Garment quality control (NTTI short course)"),
    CONSTRUCTION: (
        "Construction site safety (MLVT)",
        "Welding (TVET level 2)",
        "Electrical installation (TVET level 1)",
    ),
    AGRICULTURE: ("Safe pesticide use (MAFF)", "Tractor operation licence"),
}
# Where the jobs of each sector are, beyond the returnee's home province.
PREFERRED_PROVINCES = {
    TEXTILE: (Province.PHNOM_PENH, Province.KANDAL, Province.KAMPONG_SPEU, Province.KAMPONG_CHHNANG),
    CONSTRUCTION: (Province.PHNOM_PENH, Province.PREAH_SIHANOUK, Province.SIEM_REAP, Province.KANDAL),
    AGRICULTURE: (Province.BATTAMBANG, Province.KAMPONG_CHAM, Province.TBOUNG_KHMUM, Province.PURSAT),
}
# Mobile prefixes whose numbers have 7 digits after the prefix: +855 and 9 digits in all.
PHONE_PREFIXES = ("97", "96", "88", "71", "60", "66", "67", "68", "90", "38")
IDENTITY_COLUMNS = (
    "id", "name", "sex", "date_of_birth", "phone", "national_id", "province", "returned_on", "consent_to_search",
    "registered_by",
)  # fmt: skip
PROFILE_COLUMNS = (
    "id", "identity_id", "age_band", "sex", "province", "return_month", "education_level", "available_from",
    "preferred_provinces", "certifications", "languages", "skill_codes", "occupation_codes", "experience_sectors",
    "searchable",
)  # fmt: skip
EXPERIENCE_COLUMNS = ("profile_id", "occupation_code", "abroad", "sector", "years")


@dataclass(frozen=True)
class Weighted:
    """Choices with their cumulative weights, so that each draw is one bisection."""

    choices: Sequence[Any]
    cum_weights: list[float]

    @classmethod
    def of(cls, weights: Mapping[Any, float]) -> Weighted:
        return cls(tuple(weights), list(itertools.accumulate(weights.values())))

    def draw(self, rng: random.Random) -> Any:
        return rng.choices(self.choices, cum_weights=self.cum_weights)[0]


PROVINCES = Weighted.of(PROVINCE_WEIGHTS)
RETURN_MONTHS = Weighted.of(RETURN_MONTH_WEIGHTS)
SECTORS = {older: Weighted.of(w) for older, w in SECTOR_WEIGHTS.items()}
EDUCATION = {older: Weighted.of(w) for older, w in EDUCATION_WEIGHTS.items()}
OCCUPATIONS_OF = {
    sector: Weighted.of({o.code: COMMON_OCCUPATIONS.get(o.code, 1) for o in OCCUPATIONS if sector in o.sectors})
    for sector in (TEXTILE, CONSTRUCTION, AGRICULTURE)
}
SECTORS_OF_OCCUPATION = {o.code: o.sectors for o in OCCUPATIONS}
SKILLS_OF = {
    sector: tuple(s.code for s in SKILLS if s.sector == sector) for sector in (TEXTILE, CONSTRUCTION, AGRICULTURE)
}
GENERAL_SKILLS = tuple(s.code for s in SKILLS if s.sector is None)


@dataclass(frozen=True)
class SyntheticReturnee:
    """One returnee as rows ready for COPY."""

    identity: tuple[Any, ...]
    profile: tuple[Any, ...]
    experience: list[tuple[Any, ...]]


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years) if (day.month, day.day) != (2, 29) else date(day.year - years, 2, 28)


def phone_number(k: int) -> str:
    """The k-th synthetic phone number: distinct for every k below 10**8, scattered over the prefixes."""
    # 7_654_321 is coprime with 10**7, so k mod 10**7 -> subscriber number is one-to-one, and the prefix
    # then tells apart the (at most ten) k below 10**8 that share a subscriber number.
    subscriber = (k * 7_654_321 + 1_234_567) % 10**7
    prefix = PHONE_PREFIXES[(k + k // 10**7) % len(PHONE_PREFIXES)]
    return f"+855{prefix}{subscriber:07d}"


def national_id(k: int) -> str:
    """The k-th synthetic nine-digit national id: distinct for every k below 9 * 10**8."""
    return str(100_000_000 + (k * 7_919 + 104_729) % 900_000_000)


def synthetic_returnee(rng: random.Random, k: int, today: date) -> SyntheticReturnee:
    """The k-th returnee of a generation: who, where, what work, when back, when available."""
    older = rng.random() < SHARE_OVER_45
    age = rng.randint(46, 60) if older else int(rng.triangular(18, 46, 27))
    sector = SECTORS[older].draw(rng)
    sex = Sex.FEMALE if rng.random() < FEMALE_SHARE[sector] else Sex.MALE
    province = PROVINCES.draw(rng)
    month = RETURN_MONTHS.draw(rng)
    returned_on = min(month + timedelta(days=rng.randrange(calendar.monthrange(month.year, month.month)[1])), today)
    born = years_before(today, age) - timedelta(days=rng.randrange(365))
    experience, sectors = _work_history(rng, sector, older, age)
    identity_id, profile_id = uuid.uuid4(), uuid.uuid4()
    given = rng.choice(FEMALE_NAMES if sex == Sex.FEMALE else MALE_NAMES)
    consent = rng.random() < 0.85
    identity = (
        identity_id,
        f"{rng.choice(FAMILY_NAMES)} {given}",
        sex.value,
        born,
        phone_number(k),
        national_id(k) if rng.random() < 0.8 else None,
        province.value,
        returned_on,
        consent,
        ACTOR.name,
    )
    profile = (
        profile_id,
        identity_id,
        AgeBand.of_age(age).value,
        sex.value,
        province.value,
        month,
        EDUCATION[older].draw(rng),
        max(returned_on, today + timedelta(days=rng.randint(-45, 90))),
        _preferred_provinces(rng, sector, province),
        [rng.choice(CERTIFICATIONS[sector])] if rng.random() < 0.08 else [],
        _languages(rng),
        _skills(rng, sectors),
        sorted({code for code, _, _ in experience}),
        sorted({s for code, _, _ in experience if (s := _single(SECTORS_OF_OCCUPATION[code]))}),
        consent,
    )
    rows = [
        (profile_id, code, abroad, _single(SECTORS_OF_OCCUPATION[code]), years) for code, years, abroad in experience
    ]
    return SyntheticReturnee(identity, profile, rows)


def _single(sectors: tuple[str, ...]) -> str | None:
    return sectors[0] if len(sectors) == 1 else None


def _work_history(
    rng: random.Random, sector: str, older: bool, age: int
) -> tuple[list[tuple[str, int, bool]], list[str]]:
    """Work abroad in the main sector, and for some, earlier work at home (farm work, more often for older people)."""
    experience = [(OCCUPATIONS_OF[sector].draw(rng), rng.randint(1, min(15, age - 16)), True)]
    sectors = [sector]
    if rng.random() < 0.45:
        home = AGRICULTURE if rng.random() < (0.6 if older else 0.3) else sector
        experience.append((OCCUPATIONS_OF[home].draw(rng), rng.randint(1, min(10, age - 16)), False))
        sectors.append(home)
    return experience, sectors


def _skills(rng: random.Random, sectors: list[str]) -> list[str]:
    """Skills of the sectors the returnee worked in, so search by skill and by occupation agree."""
    skills = rng.sample(SKILLS_OF[sectors[0]], rng.randint(1, 4))
    if len(sectors) > 1 and sectors[1] != sectors[0]:
        skills.append(rng.choice(SKILLS_OF[sectors[1]]))
    if rng.random() < 0.1:
        skills.append(rng.choice(GENERAL_SKILLS))
    return skills


def _languages(rng: random.Random) -> list[str]:
    """Khmer, and for most Thai, learnt at work in Thailand."""
    if rng.random() >= 0.75:
        return ["km"]
    return ["km", "th", "en"] if rng.random() < 0.05 else ["km", "th"]


def _preferred_provinces(rng: random.Random, sector: str, home: Province) -> list[str]:
    if rng.random() >= 0.3:
        return []
    choices = [p.value for p in PREFERRED_PROVINCES[sector] if p != home]
    return rng.sample(choices, rng.randint(1, 2))


def synthetic_returnees(seed: int, today: date, first: int = 0) -> Iterator[SyntheticReturnee]:
    """An endless, seed-determined stream of returnees; `first` numbers their phones and ids after earlier runs."""
    rng = random.Random(seed)
    for k in itertools.count(first):
        yield synthetic_returnee(rng, k, today)


async def group_count_mismatches(session: AsyncSession) -> int:
    """How many (age band, sex, province, return month) groups profile_group_counts counts wrongly."""
    return int(
        await session.scalar(
            text(
                "SELECT count(*) FROM (SELECT age_band, sex, province, return_month, count(*) AS n"
                " FROM returnee_profiles GROUP BY 1, 2, 3, 4) p"
                " FULL JOIN profile_group_counts c USING (age_band, sex, province, return_month)"
                " WHERE coalesce(p.n, 0) <> coalesce(c.registered, 0)"
            )
        )
        or 0
    )


async def generate_returnees(
    db: Database, count: int, seed: int, today: date, on_chunk: Callable[[int], None] | None = None
) -> None:
    """Write `count` synthetic returnees in one transaction, CHUNK_SIZE rows per COPY, with one audit event."""
    async with db.write() as session:
        # A bulk load's COPYs run longer than the API's statement timeout allows.
        await session.execute(text("SET LOCAL statement_timeout = 0"))
        # First, so the audit chain's lock also serialises two generations counting earlier ones.
        await append_audit_event(
            session, ACTOR, "returnees.generated", "ReturneeProfile", "synthetic", {"count": count, "seed": seed}
        )
        earlier = await session.scalar(
            select(func.count()).select_from(ReturneeIdentity).where(ReturneeIdentity.registered_by == ACTOR.name)
        )
        raw = await (await session.connection()).get_raw_connection()
        copy = raw.driver_connection
        assert copy is not None
        returnees = synthetic_returnees(seed, today, first=earlier or 0)
        sizes = list(_chunk_sizes(count))
        # Each chunk is made in a thread while PostgreSQL writes the one before: its COPY's statement triggers (the
        # postings, bitmaps and masks) keep the server busy for most of a chunk's time, and the event loop idle.
        upcoming = asyncio.create_task(asyncio.to_thread(_take, returnees, sizes[0])) if sizes else None
        for n, size in enumerate(sizes):
            assert upcoming is not None
            chunk = await upcoming
            upcoming = (
                asyncio.create_task(asyncio.to_thread(_take, returnees, sizes[n + 1])) if n + 1 < len(sizes) else None
            )
            await copy.copy_records_to_table(
                "returnee_identities", records=[r.identity for r in chunk], columns=IDENTITY_COLUMNS
            )
            await copy.copy_records_to_table(
                "returnee_profiles", records=[r.profile for r in chunk], columns=PROFILE_COLUMNS
            )
            await copy.copy_records_to_table(
                "profile_experience", records=[e for r in chunk for e in r.experience], columns=EXPERIENCE_COLUMNS
            )
            if on_chunk is not None:
                on_chunk(size)
        if mismatches := await group_count_mismatches(session):
            raise RuntimeError(f"profile_group_counts is wrong for {mismatches} groups after the load; rolled back.")


# The tables a generation fills. Until autovacuum passes, the planner has no statistics of the new rows, index-only
# scans of the new postings visit the heap (no visibility map yet), and each group count row carries a dead version
# per profile added to it. The first search run after generating 750,000 profiles had four plans of 77-261 ms that
# took ~1 ms once autovacuum had been by (not pinned to one of these causes: each alone did not reproduce it).
BULK_LOADED = (
    "returnee_identities",
    "returnee_profiles",
    "profile_experience",
    "profile_group_counts",
    "profile_postings",
    "profile_bitmaps",
    "skill_masks",
)


async def settle_after_bulk_load(database_url: str) -> None:
    """VACUUM ANALYZE what a generation wrote, at once rather than whenever autovacuum comes by (on a connection
    of its own: the statement timeout it lifts goes with it)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
            await connection.execute(text("SET statement_timeout = 0"))
            await connection.execute(text(f"VACUUM (ANALYZE) {', '.join(BULK_LOADED)}"))
    finally:
        await engine.dispose()


def _take(returnees: Iterator[SyntheticReturnee], size: int) -> list[SyntheticReturnee]:
    return list(itertools.islice(returnees, size))


def _chunk_sizes(count: int) -> Iterator[int]:
    for start in range(0, count, CHUNK_SIZE):
        yield min(CHUNK_SIZE, count - start)
