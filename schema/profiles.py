"""Anonymised returnee profiles: what employers see, and nothing that could name the returnee."""

from __future__ import annotations

import datetime

import strawberry

from db.anonymity import AnonymisedProfile
from schema.catalog import Occupation, Skill
from schema.common import AgeBand, EducationLevel, Node, PageInfo, Province, Sector, Sex, to_global_id
from schema.context import Info


@strawberry.type
class Experience:
    sector: Sector | None  # type: ignore[valid-type]
    years: int
    abroad: bool
    occupation_code: strawberry.Private[str]

    @strawberry.field
    async def occupation(self, info: Info) -> Occupation:
        occupation = await info.context.loaders.occupation_by_code.load(self.occupation_code)
        assert occupation is not None
        return Occupation.from_model(occupation)


@strawberry.type(
    description="What an employer may see of a returnee. Never a name, a phone, an id number or a place finer"
    " than a province."
)
class ReturneeProfile(Node):
    age_band: AgeBand | None = strawberry.field(  # type: ignore[valid-type]
        description="Null only when showing it would single the returnee out (see returnedIn)."
    )
    sex: Sex | None = strawberry.field(  # type: ignore[valid-type]
        description="Null only when showing it would single the returnee out (see returnedIn)."
    )
    province: Province  # type: ignore[valid-type]
    certifications: list[str]
    languages: list[str]
    education_level: EducationLevel  # type: ignore[valid-type]
    available_from: datetime.date
    preferred_provinces: list[Province]  # type: ignore[valid-type]
    returned_in: str = strawberry.field(
        description="Month of return as YYYY-MM; coarsened to YYYY-Qn, then YYYY, then sex and age band withheld,"
        " until at least 5 registered returnees share what is shown of (age band, sex, province, return period)."
    )
    is_available: bool = strawberry.field(description="False while the returnee holds an active hire.")
    view: strawberry.Private[AnonymisedProfile]

    @classmethod
    def from_view(cls, view: AnonymisedProfile) -> ReturneeProfile:
        return cls(
            id=to_global_id("ReturneeProfile", view.id),
            age_band=view.age_band,
            sex=view.sex,
            province=view.province,
            certifications=view.certifications,
            languages=view.languages,
            education_level=view.education_level,
            available_from=view.available_from,
            preferred_provinces=view.preferred_provinces,
            returned_in=view.returned_in,
            is_available=view.is_available,
            view=view,
        )

    @strawberry.field
    async def skills(self, info: Info) -> list[Skill]:
        skills = await info.context.loaders.skill_by_code.load_many(self.view.skill_codes)
        return [Skill.from_model(s) for s in skills if s is not None]

    @strawberry.field
    async def experience(self, info: Info) -> list[Experience]:
        rows = await info.context.loaders.experience_by_profile_id.load(self.view.id)
        return [
            Experience(sector=e.sector, years=e.years, abroad=e.abroad, occupation_code=e.occupation_code) for e in rows
        ]


@strawberry.type
class ReturneeProfileEdge:
    cursor: str
    node: ReturneeProfile


@strawberry.type
class ReturneeProfileConnection:
    edges: list[ReturneeProfileEdge]
    page_info: PageInfo
    total_count: int
