"""Skills and ISCO-08 occupations, the shared vocabulary of vacancies and profiles."""

from __future__ import annotations

import strawberry

from db import catalog
from schema.common import Sector
from schema.context import Info


@strawberry.type
class Skill:
    code: str
    name: str
    name_km: str
    sector: Sector | None  # type: ignore[valid-type]

    @classmethod
    def from_model(cls, skill: catalog.Skill) -> Skill:
        return cls(code=skill.code, name=skill.name, name_km=skill.name_km, sector=skill.sector)


@strawberry.type(description="An ISCO-08 unit group.")
class Occupation:
    code: str
    name: str
    name_km: str

    @classmethod
    def from_model(cls, occupation: catalog.Occupation) -> Occupation:
        return cls(code=occupation.code, name=occupation.name, name_km=occupation.name_km)


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="The skills vacancies require and profiles list, optionally of one sector.")
    async def skills(self, info: Info, sector: Sector | None = None) -> list[Skill]:  # type: ignore[valid-type]
        async with info.context.db.read() as session:
            return [Skill.from_model(s) for s in await catalog.list_skills(session, sector)]

    @strawberry.field(description="The ISCO-08 unit groups employers hire for, optionally of one sector.")
    async def occupations(self, info: Info, sector: Sector | None = None) -> list[Occupation]:  # type: ignore[valid-type]
        async with info.context.db.read() as session:
            return [Occupation.from_model(o) for o in await catalog.list_occupations(session, sector)]
