"""Batch queries for nested fields: one query for many keys, results in key order."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select

from db import anonymity
from db.accounts import Employer
from db.anonymity import AnonymisedProfile
from db.catalog import Occupation, Skill, known_skills, skill_taxonomy
from db.engine import Database
from db.returnees import ProfileExperience
from db.vacancies import Vacancy, VacancySkill


async def employers_by_id(db: Database, ids: list[uuid.UUID]) -> list[Employer | None]:
    async with db.read() as session:
        rows = {e.id: e for e in await session.scalars(select(Employer).where(Employer.id.in_(ids)))}
    return [rows.get(i) for i in ids]


async def occupations_by_code(db: Database, codes: list[str]) -> list[Occupation | None]:
    async with db.read() as session:
        rows = {o.code: o for o in await session.scalars(select(Occupation).where(Occupation.code.in_(codes)))}
    return [rows.get(c) for c in codes]


async def skills_by_vacancy_id(db: Database, ids: list[uuid.UUID]) -> list[list[Skill]]:
    async with db.read() as session:
        rows = await session.execute(
            select(VacancySkill.vacancy_id, Skill)
            .join(Skill, Skill.code == VacancySkill.skill_code)
            .where(VacancySkill.vacancy_id.in_(ids))
            .order_by(Skill.code)
        )
        by_vacancy: dict[uuid.UUID, list[Skill]] = defaultdict(list)
        for vacancy_id, skill in rows:
            by_vacancy[vacancy_id].append(skill)
    return [by_vacancy.get(i, []) for i in ids]


async def anonymised_profiles_by_id(db: Database, ids: list[uuid.UUID]) -> list[AnonymisedProfile | None]:
    async with db.read() as session:
        return await anonymity.anonymised_profiles_by_id(session, ids)


async def experience_by_profile_id(db: Database, ids: list[uuid.UUID]) -> list[list[ProfileExperience]]:
    async with db.read() as session:
        rows = await session.scalars(
            select(ProfileExperience)
            .where(ProfileExperience.profile_id.in_(ids))
            .order_by(ProfileExperience.years.desc(), ProfileExperience.occupation_code)
        )
        by_profile: dict[uuid.UUID, list[ProfileExperience]] = defaultdict(list)
        for experience in rows:
            by_profile[experience.profile_id].append(experience)
    return [by_profile.get(i, []) for i in ids]


async def skills_by_code(db: Database, codes: list[str]) -> list[Skill | None]:
    if (known := known_skills(codes)) is not None:
        return known  # type: ignore[return-value]
    async with db.read() as session:
        taxonomy = await skill_taxonomy(session, codes)
    return [taxonomy.get(c) for c in codes]


async def vacancies_by_id(db: Database, ids: list[uuid.UUID]) -> list[Vacancy | None]:
    """Vacancies of contact requests and hires the caller may already read; not scoped again here."""
    async with db.read() as session:
        rows = {v.id: v for v in await session.scalars(select(Vacancy).where(Vacancy.id.in_(ids)))}
    return [rows.get(i) for i in ids]
