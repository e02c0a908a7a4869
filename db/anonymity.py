"""What an employer may see of a returnee: the anonymised profile, generalised until k others share it.

No identity column is ever selected here. Quasi-identifiers (age band, sex, province, return month)
are coarsened per profile, in order, until at least K registered returnees share what is shown:
return month → quarter → year, then sex withheld, then age band withheld. Province always shows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AgeBand, EducationLevel, Province, Sex
from db.returnees import ProfileGroupCount, ReturneeProfile

K = 5


@dataclass(frozen=True)
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


GroupKey = tuple[AgeBand, Sex, Province, date]


def disclose(key: GroupKey, counts: dict[GroupKey, int]) -> tuple[AgeBand | None, Sex | None, str]:
    """The coarsest-needed (age band, sex, return period) for one profile, given its (province, year) counts."""
    age_band, sex, province, month = key
    same_year = {k: n for k, n in counts.items() if k[2] == province and k[3].year == month.year}
    quarter = (month.month - 1) // 3

    def shared(match_age: bool, match_sex: bool, period: str) -> int:
        return sum(
            n
            for (a, s, _, m), n in same_year.items()
            if (not match_age or a == age_band)
            and (not match_sex or s == sex)
            and (period == "year" or (period == "quarter" and (m.month - 1) // 3 == quarter) or m == month)
        )

    if shared(True, True, "month") >= K:
        return age_band, sex, f"{month.year}-{month.month:02d}"
    if shared(True, True, "quarter") >= K:
        return age_band, sex, f"{month.year}-Q{quarter + 1}"
    if shared(True, True, "year") >= K:
        return age_band, sex, str(month.year)
    if shared(True, False, "year") >= K:
        return age_band, None, str(month.year)
    return None, None, str(month.year)


async def anonymise(session: AsyncSession, profiles: list[ReturneeProfile]) -> list[AnonymisedProfile]:
    """Anonymised views of `profiles`, with one query for the group counts they need."""
    years = {(p.province, p.return_month.year) for p in profiles}
    counts: dict[GroupKey, int] = defaultdict(int)
    if years:
        rows = await session.execute(
            select(ProfileGroupCount).where(
                or_(
                    *(
                        and_(
                            ProfileGroupCount.province == province,
                            extract("year", ProfileGroupCount.return_month) == year,
                        )
                        for province, year in years
                    )
                )
            )
        )
        for (row,) in rows:
            counts[(row.age_band, row.sex, row.province, row.return_month)] = row.registered
    views = []
    for p in profiles:
        age_band, sex, returned_in = disclose((p.age_band, p.sex, p.province, p.return_month), counts)
        views.append(
            AnonymisedProfile(
                id=p.id,
                age_band=age_band,
                sex=sex,
                province=p.province,
                returned_in=returned_in,
                skill_codes=list(p.skill_codes),
                certifications=list(p.certifications),
                languages=list(p.languages),
                education_level=p.education_level,
                available_from=p.available_from,
                preferred_provinces=list(p.preferred_provinces),
                is_available=p.is_available,
                searchable=p.searchable,
            )
        )
    return views


async def anonymised_profiles_by_id(session: AsyncSession, ids: list[uuid.UUID]) -> list[AnonymisedProfile | None]:
    rows = {p.id: p for p in await session.scalars(select(ReturneeProfile).where(ReturneeProfile.id.in_(ids)))}
    found = await anonymise(session, [rows[i] for i in ids if i in rows])
    by_id = {v.id: v for v in found}
    return [by_id.get(i) for i in ids]
