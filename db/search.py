"""Candidate search over anonymised profiles: filters, ranking and keyset pages, in one statement."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, cast, func, literal, or_, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from db.anonymity import (
    WITHOUT_AGE_BAND,
    WITHOUT_SEX,
    AnonymisedProfile,
    anonymised_profiles,
    group_of_profile,
    to_view,
)
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
from db.pagination import InvalidCursor
from db.returnees import ProfileGroupCount, ReturneeProfile

EDUCATION_ORDER = list(EducationLevel)


@dataclass(frozen=True)
class ProfileSearch:
    sectors: list[Sector] = field(default_factory=list)
    skills: list[str] = field(default_factory=list)
    all_skills: bool = False
    occupations: list[str] = field(default_factory=list)
    provinces: list[Province] = field(default_factory=list)
    include_willing_to_relocate: bool = True
    age_bands: list[AgeBand] = field(default_factory=list)
    sex: Sex | None = None
    available_by: date | None = None
    languages: list[str] = field(default_factory=list)
    education_at_least: EducationLevel | None = None
    only_available: bool = True


@dataclass(frozen=True)
class Ranked:
    profile: AnonymisedProfile
    score: int
    parts: dict[str, int]
    cursor: str


@dataclass(frozen=True)
class RankedPage:
    rows: list[Ranked]
    has_next: bool
    has_previous: bool
    total: int


def _text_array(values: list[str]) -> Any:
    return cast(literal(values, ARRAY(Text)), ARRAY(Text))


def overlap_count(column: Any, values: list[str]) -> ColumnElement[int]:
    """How many of `values` the array column holds (the lists asked for are short)."""
    terms = [cast(column.contains(_text_array([v])), Integer) for v in dict.fromkeys(values)]
    return sum(terms[1:], terms[0]) if terms else literal(0, Integer)


def conditions(search: ProfileSearch) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a search. Age band and sex only match where the profile shows them."""
    where: list[ColumnElement[bool]] = [ReturneeProfile.searchable]
    if search.only_available:
        where.append(ReturneeProfile.is_available)
    if search.sectors:
        where.append(ReturneeProfile.experience_sectors.overlap(_text_array([s.value for s in search.sectors])))
    if search.skills:
        skills = _text_array(search.skills)
        where.append(
            ReturneeProfile.skill_codes.contains(skills)
            if search.all_skills
            else ReturneeProfile.skill_codes.overlap(skills)
        )
    if search.occupations:
        where.append(ReturneeProfile.occupation_codes.overlap(_text_array(search.occupations)))
    if search.provinces:
        here = ReturneeProfile.province.in_(search.provinces)
        willing = ReturneeProfile.preferred_provinces.overlap(_text_array([p.value for p in search.provinces]))
        where.append(or_(here, willing) if search.include_willing_to_relocate else here)
    if search.age_bands:
        where += [ReturneeProfile.age_band.in_(search.age_bands), ProfileGroupCount.disclosure < WITHOUT_AGE_BAND]
    if search.sex is not None:
        where += [ReturneeProfile.sex == search.sex, ProfileGroupCount.disclosure < WITHOUT_SEX]
    if search.available_by is not None:
        where.append(ReturneeProfile.available_from <= search.available_by)
    if search.languages:
        where.append(ReturneeProfile.languages.overlap(_text_array(search.languages)))
    if search.education_at_least is not None:
        where.append(
            ReturneeProfile.education_level.in_(EDUCATION_ORDER[EDUCATION_ORDER.index(search.education_at_least) :])
        )
    return where


def encode_cursor(score: int, available_from: date, profile_id: uuid.UUID) -> str:
    raw = json.dumps([score, available_from.isoformat(), str(profile_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, date, uuid.UUID]:
    try:
        score, available, profile_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(score, int):
            raise ValueError("score")
        return score, date.fromisoformat(available), uuid.UUID(profile_id)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("The cursor is not one this API returned.") from exc


@dataclass(frozen=True)
class PageStatements:
    """The SQL a page of ranked profiles costs: the page itself and, when asked for, the exact total."""

    page: Select[Any]
    total: Select[Any] | None
    first: int
    parts: tuple[str, ...]


def page_statements(
    where: list[ColumnElement[bool]],
    parts: dict[str, ColumnElement[int]],
    *,
    first: int,
    after: str | None,
    with_total: bool = True,
) -> PageStatements:
    """Ordered by score (the sum of `parts`), then most recently available, then id — all descending.

    The page is chosen from returnee_profiles alone and only its rows are joined to their group's
    disclosure level; the group table joins the search itself only when a filter needs it."""
    score: ColumnElement[int] = sum(parts.values(), literal(0, Integer)) if parts else literal(0, Integer)
    order = [ReturneeProfile.available_from, ReturneeProfile.id]
    if parts:
        order.insert(0, score)
    chosen = (
        select(
            ReturneeProfile.id.label("chosen_id"),
            score.label("score"),
            *(p.label(f"part_{n}") for n, p in parts.items()),
        )
        .select_from(_searched(where))
        .where(*where)
    )
    if after is not None:
        after_score, after_available, after_id = decode_cursor(after)
        position = [after_score, after_available, after_id] if parts else [after_available, after_id]
        chosen = chosen.where(tuple_(*order) < tuple_(*position))
    chosen_page = chosen.order_by(*(column.desc() for column in order)).limit(first + 1).subquery("chosen")
    page = (
        anonymised_profiles()
        .add_columns(chosen_page.c.score, *(chosen_page.c[f"part_{n}"] for n in parts))
        .join(chosen_page, chosen_page.c.chosen_id == ReturneeProfile.id)
        .order_by(chosen_page.c.score.desc(), ReturneeProfile.available_from.desc(), ReturneeProfile.id.desc())
    )
    total = select(func.count()).select_from(_searched(where)).where(*where) if with_total else None
    return PageStatements(page=page, total=total, first=first, parts=tuple(parts))


def _searched(where: list[ColumnElement[bool]]) -> Any:
    """returnee_profiles, joined to the group counts only when a condition reads the disclosure level."""
    needs_groups = any(ProfileGroupCount.__table__ in w._from_objects for w in where)
    if not needs_groups:
        return ReturneeProfile.__table__
    return ReturneeProfile.__table__.join(ProfileGroupCount.__table__, group_of_profile())


async def ranked_page(session: AsyncSession, statements: PageStatements, *, after: str | None) -> RankedPage:
    rows = (await session.execute(statements.page)).all()
    total = (await session.scalar(statements.total) or 0) if statements.total is not None else 0
    first = statements.first
    return RankedPage(
        rows=[
            Ranked(
                profile=to_view(row),
                score=row.score,
                parts={name: getattr(row, f"part_{name}") for name in statements.parts},
                cursor=encode_cursor(row.score, row.available_from, row.id),
            )
            for row in rows[:first]
        ],
        has_next=len(rows) > first,
        has_previous=after is not None,
        total=total,
    )


def search_parts(search: ProfileSearch) -> dict[str, ColumnElement[int]]:
    """Best match first when skills or occupations are asked for: one point per one matched."""
    parts = {}
    if search.skills:
        parts["skills"] = overlap_count(ReturneeProfile.skill_codes, search.skills)
    if search.occupations:
        parts["occupations"] = overlap_count(ReturneeProfile.occupation_codes, search.occupations)
    return parts


@dataclass(frozen=True)
class VacancyNeeds:
    """What a vacancy asks of a candidate, as the ranking weighs it."""

    required_skills: list[str]
    occupation_code: str
    sector: Sector
    province: Province
    needed_by: date


# The most points each part of a match can give; they add up to 100.
MATCH_WEIGHTS = {"skills": 40, "occupation": 25, "sector": 10, "province": 15, "availability": 10}
WILLING_TO_RELOCATE_POINTS = 10


def matching_conditions(needs: VacancyNeeds) -> list[ColumnElement[bool]]:
    """Available, consenting profiles with at least one thing in common with the vacancy."""
    relevant = [
        ReturneeProfile.occupation_codes.contains(_text_array([needs.occupation_code])),
        ReturneeProfile.experience_sectors.contains(_text_array([needs.sector.value])),
    ]
    if needs.required_skills:
        relevant.append(ReturneeProfile.skill_codes.overlap(_text_array(needs.required_skills)))
    return [ReturneeProfile.searchable, ReturneeProfile.is_available, or_(*relevant)]


def matching_parts(needs: VacancyNeeds) -> dict[str, ColumnElement[int]]:
    def points(condition: ColumnElement[bool], weight: int) -> ColumnElement[int]:
        return cast(condition, Integer) * weight

    parts: dict[str, ColumnElement[int]] = {}
    if needs.required_skills:
        covered = overlap_count(ReturneeProfile.skill_codes, needs.required_skills)
        parts["skills"] = covered * MATCH_WEIGHTS["skills"] // len(set(needs.required_skills))
    parts["occupation"] = points(
        ReturneeProfile.occupation_codes.contains(_text_array([needs.occupation_code])), MATCH_WEIGHTS["occupation"]
    )
    parts["sector"] = points(
        ReturneeProfile.experience_sectors.contains(_text_array([needs.sector.value])), MATCH_WEIGHTS["sector"]
    )
    lives_there = ReturneeProfile.province == needs.province
    willing = ReturneeProfile.preferred_provinces.contains(_text_array([needs.province.value]))
    parts["province"] = points(lives_there, MATCH_WEIGHTS["province"]) + points(
        ~lives_there & willing, WILLING_TO_RELOCATE_POINTS
    )
    parts["availability"] = points(ReturneeProfile.available_from <= needs.needed_by, MATCH_WEIGHTS["availability"])
    return parts
