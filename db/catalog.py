"""Skills and ISCO-08 occupations, with their English and Khmer names."""

from __future__ import annotations

from sqlalchemy import ARRAY, CheckConstraint, SmallInteger, Text, any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.accounts import SECTOR_ENUM
from db.base import Base
from db.enums import Sector


class Skill(Base):
    __tablename__ = "skills"
    __table_args__ = (
        CheckConstraint("code ~ '^[a-z]+\\.[a-z0-9-]+$'", name="code_is_a_slug"),
        CheckConstraint("bit BETWEEN 0 AND 62", name="bit_fits_a_bigint"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_km: Mapped[str] = mapped_column(Text)
    sector: Mapped[Sector | None] = mapped_column(SECTOR_ENUM)
    bit: Mapped[int] = mapped_column(SmallInteger, unique=True)
    """The skill's bit in a profile's skill mask (search postings, migration 0005); a new skill takes the next."""


class Occupation(Base):
    """An ISCO-08 unit group."""

    __tablename__ = "occupations"
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{4}$'", name="code_is_an_isco_unit_group"),
        CheckConstraint("sectors <@ ARRAY['TEXTILE', 'CONSTRUCTION', 'AGRICULTURE']::text[]", name="sectors_are_known"),
        CheckConstraint("bit BETWEEN 0 AND 62", name="bit_fits_a_bigint"),
    )

    code: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_km: Mapped[str] = mapped_column(Text)
    sectors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    bit: Mapped[int] = mapped_column(SmallInteger, unique=True)
    """The occupation's bit in a profile's occupation mask (search postings, migration 0012), as Skill.bit."""


async def list_skills(session: AsyncSession, sector: Sector | None) -> list[Skill]:
    statement = select(Skill).order_by(Skill.code)
    if sector is not None:
        statement = statement.where(Skill.sector == sector)
    return list((await session.scalars(statement)).all())


async def list_occupations(session: AsyncSession, sector: Sector | None) -> list[Occupation]:
    statement = select(Occupation).order_by(Occupation.code)
    if sector is not None:
        statement = statement.where(literal(sector.value) == any_(Occupation.sectors))
    return list((await session.scalars(statement)).all())


# The skill taxonomy changes only with a migration: each process reads it whole once (skill names for
# profiles, skill bits for search), and again only when asked for a code it does not hold.
_taxonomy: dict[str, Skill] = {}


def known_skills(codes: list[str]) -> list[Skill] | None:
    """The skills of `codes` from the process's taxonomy, or None when it lacks one of them."""
    known = [_taxonomy.get(code) for code in codes]
    return None if None in known else known  # type: ignore[return-value]


async def skill_taxonomy(session: AsyncSession, codes: list[str] | None = None) -> dict[str, Skill]:
    """Every skill by code; read again when one of `codes` is missing (a code unknown to the database costs
    that one query each time it is asked for)."""
    if not _taxonomy or (codes and known_skills(codes) is None):
        _taxonomy.update((skill.code, skill) for skill in await session.scalars(select(Skill)))
    return _taxonomy


async def skills_by_codes(session: AsyncSession, codes: list[str]) -> dict[str, Skill]:
    rows = await session.scalars(select(Skill).where(Skill.code.in_(codes)))
    return {skill.code: skill for skill in rows}


async def occupations_by_codes(session: AsyncSession, codes: list[str]) -> dict[str, Occupation]:
    rows = await session.scalars(select(Occupation).where(Occupation.code.in_(codes)))
    return {occupation.code: occupation for occupation in rows}
