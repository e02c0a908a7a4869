"""Anonymised returnee profiles: what employers see, and nothing that could name the returnee."""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Awaitable, Callable
from functools import partial

import strawberry

from db.anonymity import AnonymisedProfile
from db.catalog import known_skills
from db.pagination import InvalidCursor
from db.search import ProfileSearch, RankedPage
from resolvers import profiles as use_cases
from resolvers.errors import Forbidden
from schema.catalog import Occupation, Skill
from schema.common import (
    AgeBand,
    ApiError,
    EducationLevel,
    Node,
    PageInfo,
    Province,
    Sector,
    Sex,
    check_page_size,
    to_global_id,
)
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
    def skills(self, info: Info) -> list[Skill]:
        # Answered at once from the process's taxonomy (no awaitable per profile); the loader, awaited by
        # graphql-core, reads the taxonomy the first time and when a skill is new to this process.
        if (known := known_skills(self.view.skill_codes)) is not None:
            return [Skill.from_model(s) for s in known]
        return self._loaded_skills(info)  # type: ignore[return-value]

    async def _loaded_skills(self, info: Info) -> list[Skill]:
        skills = await info.context.loaders.skill_by_code.load_many(self.view.skill_codes)
        return [Skill.from_model(s) for s in skills if s is not None]

    @strawberry.field
    async def experience(self, info: Info) -> list[Experience]:
        rows = await info.context.loaders.experience_by_profile_id.load(self.view.id)
        return [
            Experience(sector=e.sector, years=e.years, abroad=e.abroad, occupation_code=e.occupation_code) for e in rows
        ]


async def profile_of(info: Info, profile_id: uuid.UUID) -> ReturneeProfile:
    """The anonymised profile a hire or contact request refers to."""
    view = await info.context.loaders.profile_by_id.load(profile_id)
    assert view is not None
    return ReturneeProfile.from_view(view)


@strawberry.enum(description="A part of how well a candidate fits a vacancy.")
class MatchFactor(enum.Enum):
    SKILLS = "skills"
    OCCUPATION = "occupation"
    SECTOR = "sector"
    PROVINCE = "province"
    AVAILABILITY = "availability"
    OCCUPATIONS = "occupations"


@strawberry.type(
    description="One part of a ranking score, so that a person can see why a candidate ranks where it does."
)
class MatchReason:
    factor: MatchFactor
    points: int
    max_points: int | None = strawberry.field(description="The most this factor can give; null in plain searches.")


@strawberry.type
class ReturneeProfileEdge:
    cursor: str
    node: ReturneeProfile
    score: int = strawberry.field(description="Best match first. 0 when neither skills nor occupations are asked for.")
    match_reasons: list[MatchReason] = strawberry.field(description="The parts of the score, largest first.")


@strawberry.type
class ReturneeProfileConnection:
    edges: list[ReturneeProfileEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: RankedPage, weights: dict[str, int] | None = None) -> ReturneeProfileConnection:
        edges = [
            ReturneeProfileEdge(
                cursor=row.cursor,
                node=ReturneeProfile.from_view(row.profile),
                score=row.score,
                match_reasons=sorted(
                    (
                        MatchReason(factor=MatchFactor(name), points=points, max_points=(weights or {}).get(name))
                        for name, points in row.parts.items()
                    ),
                    key=lambda reason: -reason.points,
                ),
            )
            for row in page.rows
        ]
        info = PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info, total_count=page.total)


@strawberry.enum
class MatchMode(enum.Enum):
    ANY = "ANY"
    ALL = "ALL"


@strawberry.input
class ProfileFilter:
    sectors: list[Sector] | None = None  # type: ignore[valid-type]
    skills: list[str] | None = None
    skills_match: MatchMode | None = MatchMode.ANY
    occupations: list[str] | None = None
    provinces: list[Province] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Profiles in these provinces, and (unless includeWillingToRelocate is false) profiles willing"
        " to work there.",
    )
    include_willing_to_relocate: bool | None = True
    age_bands: list[AgeBand] | None = None  # type: ignore[valid-type]
    sex: Sex | None = None  # type: ignore[valid-type]
    available_by: datetime.date | None = None
    languages: list[str] | None = None
    education_at_least: EducationLevel | None = None  # type: ignore[valid-type]
    only_available: bool | None = True

    def to_search(self) -> ProfileSearch:
        return ProfileSearch(
            sectors=list(self.sectors or []),
            skills=list(self.skills or []),
            all_skills=self.skills_match == MatchMode.ALL,
            occupations=list(self.occupations or []),
            provinces=list(self.provinces or []),
            include_willing_to_relocate=self.include_willing_to_relocate is not False,
            age_bands=list(self.age_bands or []),
            sex=self.sex,
            available_by=self.available_by,
            languages=list(self.languages or []),
            education_at_least=self.education_at_least,
            only_available=self.only_available is not False,
        )


def wants_total(info: Info) -> bool:
    """totalCount costs a second query over every match: run it only when it was asked for."""
    return any(f.name == "totalCount" for f in info.selected_fields[0].selections if hasattr(f, "name"))


async def profile_page(
    info: Info, load: Callable[..., Awaitable[RankedPage]], first: int | None, after: str | None
) -> RankedPage:
    try:
        return await load(first=check_page_size(first), after=after, with_total=wants_total(info))
    except InvalidCursor as exc:
        raise ApiError(str(exc), "BAD_USER_INPUT") from exc
    except Forbidden as exc:
        raise ApiError(str(exc), "FORBIDDEN") from exc


@strawberry.type
class ProfileQuery:
    @strawberry.field(
        description="Anonymised profiles of consenting returnees, best match first when skills or"
        " occupations are asked for, then most recently available."
    )
    async def returnee_profiles(
        self, info: Info, filter: ProfileFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> ReturneeProfileConnection:
        search = (filter or ProfileFilter()).to_search()
        load = partial(use_cases.search_profiles, info.context.db, info.context.principal, search)
        return ReturneeProfileConnection.from_page(await profile_page(info, load, first, after))
