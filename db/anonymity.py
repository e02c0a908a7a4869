"""What an employer may see of a returnee: the anonymised profile, generalised until k others share it.

No identity column is ever selected here. Each profile's quasi-identifiers (age band, sex, province,
return month) are shown at the disclosure level of its group, which a trigger keeps in
profile_group_counts (migration 0003): return month → quarter → year, then sex withheld, then age
band withheld, until at least five registered returnees share what is shown. Province always shows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AgeBand, EducationLevel, Province, Sex
from db.returnees import ProfileGroupCount, ReturneeProfile

MONTH, QUARTER, YEAR, WITHOUT_SEX, WITHOUT_AGE_BAND = range(5)

# The only profile columns an employer-facing query may select; the group's disclosure level comes along.
ANONYMISED_COLUMNS = (
    ReturneeProfile.id,
    ReturneeProfile.age_band,
    ReturneeProfile.sex,
    ReturneeProfile.province,
    ReturneeProfile.return_month,
    ReturneeProfile.skill_codes,
    ReturneeProfile.certifications,
    ReturneeProfile.languages,
    ReturneeProfile.education_level,
    ReturneeProfile.available_from,
    ReturneeProfile.preferred_provinces,
    ReturneeProfile.is_available,
    ReturneeProfile.searchable,
    ProfileGroupCount.disclosure,
)
ANONYMISED_WIDTH = len(ANONYMISED_COLUMNS)


@dataclass(frozen=True, slots=True)
class AnonymisedProfile:
    id: uuid.UUID
    age_band: AgeBand | None
    sex: Sex | None
    province: Province
    returned_in: str
    skill_codes: list[str]
    certifications: list[str]
    languages: list[str]
    education_level: EducationLevel
    available_from: date
    preferred_provinces: list[str]
    is_available: bool
    searchable: bool


def returned_in(month: date, level: int) -> str:
    if level == MONTH:
        return f"{month.year}-{month.month:02d}"
    if level == QUARTER:
        return f"{month.year}-Q{(month.month - 1) // 3 + 1}"
    return str(month.year)


# What makes a group: age band, sex, province, return month (profile_group_counts' primary key).
GROUP_KEY = tuple(column.name for column in inspect(ProfileGroupCount).primary_key)


def group_of_profile() -> ColumnElement[bool]:
    """Joins a profile to its (age band, sex, province, return month) group."""
    return and_(*(getattr(ProfileGroupCount, key) == getattr(ReturneeProfile, key) for key in GROUP_KEY))


def anonymised_profiles() -> Select[*tuple[Any, ...]]:
    """Profiles joined to their group's disclosure level, selecting nothing else."""
    return select(*ANONYMISED_COLUMNS).join(ProfileGroupCount, group_of_profile())


def to_view(row: Sequence[Any]) -> AnonymisedProfile:
    """One row of `anonymised_profiles()` as what an employer sees. Its first columns are ANONYMISED_COLUMNS,
    read by position: a search page reads twenty rows, and a Row's attributes cost ~1 µs each to look up."""
    (
        profile_id,
        age_band,
        sex,
        province,
        return_month,
        skill_codes,
        certifications,
        languages,
        education_level,
        available_from,
        preferred_provinces,
        is_available,
        searchable,
        level,
    ) = row[:ANONYMISED_WIDTH]
    return AnonymisedProfile(
        id=profile_id,
        age_band=age_band if level < WITHOUT_AGE_BAND else None,
        sex=sex if level < WITHOUT_SEX else None,
        province=province,
        returned_in=returned_in(return_month, level),
        skill_codes=list(skill_codes),
        certifications=list(certifications),
        languages=list(languages),
        education_level=education_level,
        available_from=available_from,
        preferred_provinces=list(preferred_provinces),
        is_available=is_available,
        searchable=searchable,
    )


async def anonymised_profiles_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> list[AnonymisedProfile | None]:
    rows = await session.execute(anonymised_profiles().where(ReturneeProfile.id.in_(ids)))
    by_id = {view.id: view for view in map(to_view, rows)}
    return [by_id.get(i) for i in ids]


async def anonymise(session: AsyncSession, profiles: list[ReturneeProfile]) -> list[AnonymisedProfile]:
    """Anonymised views of profiles already loaded (e.g. just registered), in the same order."""
    views = await anonymised_profiles_by_id(session, [p.id for p in profiles])
    return [v for v in views if v is not None]
