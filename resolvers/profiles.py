"""Profile use cases: search anonymised profiles, rank candidates for a vacancy, read one profile."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from auth.principal import Principal
from db.anonymity import AnonymisedProfile, anonymised_profiles_by_id
from db.engine import Database
from db.search import (
    ProfileSearch,
    RankedPage,
    VacancyNeeds,
    matching_page,
    ranked_page,
    search_statements,
    skill_bits,
    skill_holders,
)
from db.vacancies import Vacancy, VacancySkill, readable_vacancies
from resolvers.errors import Forbidden
from resolvers.validation import today_in_cambodia


def require_profiles_read(principal: Principal) -> None:
    if principal.is_ministry or principal.has_scope("profiles:read"):
        return
    raise Forbidden("This operation needs the scope profiles:read.")


async def search_profiles(
    db: Database, principal: Principal, search: ProfileSearch, *, first: int, after: str | None, with_total: bool
) -> RankedPage:
    require_profiles_read(principal)
    async with db.search() as session:
        bits, holders = await skill_bits(session), await skill_holders(session)
        statements = search_statements(search, bits, first=first, after=after, with_total=with_total, holders=holders)
        return await ranked_page(session, statements, after=after)


async def matching_profiles(
    db: Database, principal: Principal, vacancy: Vacancy, *, first: int, after: str | None, with_total: bool
) -> RankedPage:
    """Candidates for a vacancy the caller can read, best fit first."""
    require_profiles_read(principal)
    async with db.read() as session:
        readable = await session.scalar(
            readable_vacancies(principal.employer_id, is_ministry=principal.is_ministry)
            .where(Vacancy.id == vacancy.id)
            .with_only_columns(Vacancy.id)
        )
        if readable is None:
            raise Forbidden("This vacancy is not visible to you.")
        skills = list(
            await session.scalars(select(VacancySkill.skill_code).where(VacancySkill.vacancy_id == vacancy.id))
        )
    needs = VacancyNeeds(
        required_skills=skills,
        occupation_code=vacancy.occupation_code,
        sector=vacancy.sector,
        province=vacancy.province,
        needed_by=max(vacancy.start_date or today_in_cambodia(), today_in_cambodia()),
    )
    # The vacancy is read on the primary (it may have been created a moment ago); its candidates on the replica.
    async with db.search() as session:
        return await matching_page(session, needs, first=first, after=after, with_total=with_total)


async def get_profile(db: Database, principal: Principal, profile_id: uuid.UUID) -> AnonymisedProfile | None:
    """A profile by id: the ministry sees every one, employers only those whose returnee consents."""
    require_profiles_read(principal)
    async with db.read() as session:
        (view,) = await anonymised_profiles_by_id(session, [profile_id])
    if view is None or not (view.searchable or principal.is_ministry):
        return None
    return view
