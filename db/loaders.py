"""Batch queries for nested fields: one query for many keys, results in key order."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy import select

from db.accounts import Employer
from db.catalog import Occupation, Skill
from db.engine import Database
from db.vacancies import VacancySkill


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
