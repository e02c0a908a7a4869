"""Candidate search over anonymised profiles: filters, ranking and keyset pages, in one statement."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    SmallInteger,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable
from sqlalchemy.types import Text

from db.anonymity import (
    ANONYMISED_WIDTH,
    GROUP_KEY,
    WITHOUT_AGE_BAND,
    WITHOUT_SEX,
    AnonymisedProfile,
    anonymised_profiles,
    to_view,
)
from db.catalog import Occupation, skill_taxonomy
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
from db.pagination import InvalidCursor
from db.returnees import ProfileGroupCount, ReturneeProfile, profile_masks, profile_postings, skill_masks

EDUCATION_ORDER = list(EducationLevel)
POSTING = profile_postings.c
# Availability is kept in the bitmaps as days since DAY_ZERO (migrations 0008 and 0010 use the same day); "available
# by" a day outside [DAY_ZERO, DAY_END) is counted row by row (registration allows at most a year ahead).
DAY_ZERO = date(2000, 1, 1)
DAY_END = date(2100, 1, 1)
DAY_TIERS = tuple(4**k for k in range(8))  # days per block of each availability tier (migration 0010)


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
    """The WHERE clauses of a search on the profiles."""
    where: list[ColumnElement[bool]] = [ReturneeProfile.searchable.expression]
    if search.only_available:
        where.append(ReturneeProfile.is_available.expression)
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
    if search.languages:
        where.append(ReturneeProfile.languages.overlap(_text_array(search.languages)))
    return where + column_conditions(search, ReturneeProfile)


def column_conditions(search: ProfileSearch, columns: Any) -> list[ColumnElement[bool]]:
    """The filters on plain columns, which profiles and postings both have (`columns` is either's): age band
    and sex match only where the profile's group shows them, so a filter cannot reveal a withheld value."""
    where: list[ColumnElement[bool]] = []
    if search.age_bands:
        where += [columns.age_band.in_(search.age_bands), _group_shows(columns, WITHOUT_AGE_BAND)]
    if search.sex is not None:
        where += [columns.sex == search.sex, _group_shows(columns, WITHOUT_SEX)]
    if search.available_by is not None:
        where.append(columns.available_from <= search.available_by)
    if search.education_at_least is not None:
        where.append(columns.education_level.in_(EDUCATION_ORDER[EDUCATION_ORDER.index(search.education_at_least) :]))
    return where


def _group_shows(columns: Any, withheld_from: int) -> ColumnElement[bool]:
    """The profile's group (age band, sex, province, return month) is not among the groups at disclosure level
    `withheld_from` or beyond. Few groups are (none of ~5,500 at 750,000 profiles): PostgreSQL reads them once
    through their partial index (migration 0013) into a hash that each candidate row is looked up in, where joining
    every row to its group took three buffer reads a row (a third of the slowest search page's time). The level
    is written into the statement rather than bound, so that a generic plan can still use that index."""
    withheld = select(*(getattr(ProfileGroupCount, key) for key in GROUP_KEY)).where(
        ProfileGroupCount.disclosure >= literal_column(str(withheld_from), SmallInteger)
    )
    # Never correlated: a page's outer statement joins the group counts too, for what it shows.
    withheld = withheld.correlate(None)
    return tuple_(*(getattr(columns, key) for key in GROUP_KEY)).not_in(withheld)


def encode_cursor(score: int, available_from: date, profile_id: uuid.UUID) -> str:
    raw = orjson.dumps([score, available_from.isoformat(), str(profile_id)])  # compact, as json.dumps(separators)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, date, uuid.UUID]:
    try:
        score, available, profile_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(score, int):
            raise ValueError("score")
        return score, date.fromisoformat(available), uuid.UUID(profile_id)
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # uuid.UUID(5): AttributeError
        raise InvalidCursor("The cursor is not one this API returned.") from exc


@dataclass(frozen=True)
class PageStatements:
    """The SQL a page of ranked profiles costs: the page itself and, when asked for, the exact total."""

    page: Select[Any]
    total: Executable | None
    first: int
    parts: tuple[str, ...]


def page_statements(
    where: list[ColumnElement[bool]],
    parts: dict[str, ColumnElement[int]],
    *,
    first: int,
    after: str | None,
) -> PageStatements:
    """Ordered by score (the sum of `parts`), then most recently available, then id — all descending.

    The page is chosen from returnee_profiles alone and only its rows are joined to their group's
    disclosure level (filters on age band and sex look their group up in the few withheld, _group_shows)."""
    score: ColumnElement[int] = sum(parts.values(), literal(0, Integer)) if parts else literal(0, Integer)
    order: list[ColumnElement[Any]] = [ReturneeProfile.available_from.expression, ReturneeProfile.id.expression]
    if parts:
        order.insert(0, score)
    chosen = select(
        ReturneeProfile.id.label("chosen_id"),
        score.label("score"),
        *(p.label(f"part_{n}") for n, p in parts.items()),
    ).where(*where)
    if after is not None:
        chosen = chosen.where(tuple_(*order) < tuple_(*_position(after, scored=bool(parts))))
    chosen_page = chosen.order_by(*(column.desc() for column in order)).limit(first + 1).subquery("chosen")
    return _page_of(chosen_page, tuple(parts), first=first)


def counted_total(where: list[ColumnElement[bool]]) -> Select[Any]:
    """The exact total by counting the matching profiles: what the bitmaps' totals must equal."""
    return select(func.count()).select_from(ReturneeProfile).where(*where)


def _position(after: str, *, scored: bool) -> list[Any]:
    after_score, after_available, after_id = decode_cursor(after)
    return [after_score, after_available, after_id] if scored else [after_available, after_id]


def _page_of(chosen_page: Any, parts: tuple[str, ...], *, first: int) -> PageStatements:
    """The chosen ids (with score and parts) joined to what an employer may see of each, in page order; the
    total, when asked for, is added by the caller (search_statements, matching_statements)."""
    page = (
        anonymised_profiles()
        .add_columns(chosen_page.c.score, *(chosen_page.c[f"part_{n}"] for n in parts))
        .join(chosen_page, chosen_page.c.chosen_id == ReturneeProfile.id)
        .order_by(chosen_page.c.score.desc(), ReturneeProfile.available_from.desc(), ReturneeProfile.id.desc())
    )
    return PageStatements(page=page, total=None, first=first, parts=parts)


async def ranked_page(session: AsyncSession, statements: PageStatements, *, after: str | None) -> RankedPage:
    rows = (await session.execute(statements.page)).all()
    total = (await session.scalar(statements.total) or 0) if statements.total is not None else 0
    first = statements.first
    return RankedPage(
        rows=_ranked(rows[:first], statements.parts),
        has_next=len(rows) > first,
        has_previous=after is not None,
        total=total,
    )


def _ranked(rows: Any, part_names: tuple[str, ...]) -> list[Ranked]:
    """Rows of a _page_of statement as ranked profiles with their cursors."""
    ranked = []
    for row in rows:
        profile = to_view(row)
        # After the profile's columns come the score and its parts, in _page_of's order.
        score, *parts = row[ANONYMISED_WIDTH:]
        ranked.append(
            Ranked(
                profile=profile,
                score=score,
                parts=dict(zip(part_names, parts, strict=True)),
                cursor=encode_cursor(score, profile.available_from, profile.id),
            )
        )
    return ranked


# Searches read the postings (migrations 0005 and 0009) instead of the profiles: by skill, each skill's postings;
# without skills, the posting every consenting profile has under EVERY_PROFILE. Languages and occupations are
# not posted, so a search asking for them reads the profiles.
EVERY_PROFILE = -1
# -1 written into the statements, not bound: the generic plan of a prepared statement (PostgreSQL's after five
# runs) can use the partial index on these postings (migration 0011) only if its predicate is there to match.
EVERY_PROFILE_POSTING = POSTING.skill_bit == literal_column(str(EVERY_PROFILE), SmallInteger)
# Postings in search order: most recently available first, then by id; a cursor's position is a place in it.
POSTING_ORDER = (POSTING.available_from.desc(), POSTING.profile_id.desc())


def _posted_after(available_from_and_id: list[Any]) -> ColumnElement[bool]:
    return tuple_(POSTING.available_from, POSTING.profile_id) < tuple_(*available_from_and_id)


async def skill_bits(session: AsyncSession) -> dict[str, int]:
    """Each skill's bit in the postings' skill masks, from the process's skill taxonomy."""
    return {code: skill.bit for code, skill in (await skill_taxonomy(session)).items()}


COUNTS_READ_EVERY = 300.0  # seconds


class _RecentCounts:
    """Counts read from the bitmaps that only steer which postings are read first: each process reads them again
    every few minutes rather than exactly."""

    def __init__(self, query: str) -> None:
        self.query = text(query)
        self.counts: dict[Any, int] = {}
        self.read_at = -COUNTS_READ_EVERY

    async def __call__(self, session: AsyncSession) -> dict[Any, int]:
        if time.monotonic() - self.read_at >= COUNTS_READ_EVERY:
            self.counts = dict((await session.execute(self.query)).all())
            self.read_at = time.monotonic()
        return self.counts


# How many consenting profiles hold each skill (by bit): a search by several skills reads the rarest one's
# postings first (see _posting_statements).
SKILL_HOLDERS = (
    "SELECT s.bit, coalesce(sum(bit_count(b.bits)), 0)::bigint FROM skills s"
    " LEFT JOIN profile_bitmaps b ON b.key = 'skill:' || s.code GROUP BY s.bit"
)
skill_holders = _RecentCounts(SKILL_HOLDERS)
# How many live in each province ("province:…") and would work there ("willing:…"): a vacancy's candidates holding
# its skills are read from whichever postings are fewer (_Match.level).
PLACE_HOLDERS = (
    "SELECT key, sum(bit_count(bits))::bigint FROM profile_bitmaps"
    " WHERE key LIKE 'province:%' OR key LIKE 'willing:%' GROUP BY key"
)
place_holders = _RecentCounts(PLACE_HOLDERS)


# Building a search's statements costs more Python than anything else in a search request, and HR systems
# send the same searches again and again: each process keeps the statements of the last searches it built
# (immutable SQLAlchemy statements, whose cache keys SQLAlchemy then computes once).
_built: OrderedDict[Hashable, PageStatements] = OrderedDict()
BUILT_SEARCHES_KEPT = 256  # about 55 kB each


def search_statements(
    search: ProfileSearch,
    bits: dict[str, int],
    *,
    first: int,
    after: str | None,
    with_total: bool = True,
    holders: dict[int, int] | None = None,
) -> PageStatements:
    """The statements of one search: from the postings unless it asks for languages or occupations (see
    _search_statements). `holders` (skill_holders) puts the rarest skill's postings first; any order gives the
    same answers."""
    wanted = [bits[code] for code in dict.fromkeys(search.skills) if code in bits]
    if holders:
        wanted.sort(key=lambda bit: holders.get(bit, 0))
    key = (
        tuple(tuple(v) if isinstance(v, list) else v for v in (getattr(search, f.name) for f in fields(search))),
        tuple(wanted),
        first,
        after,
        with_total,
    )
    if (statements := _built.get(key)) is not None:
        _built.move_to_end(key)
        return statements
    _built[key] = statements = _search_statements(search, wanted, first=first, after=after, with_total=with_total)
    if len(_built) > BUILT_SEARCHES_KEPT:
        _built.popitem(last=False)
    return statements


def _search_statements(
    search: ProfileSearch, wanted: list[int], *, first: int, after: str | None, with_total: bool
) -> PageStatements:
    postable = not search.occupations and not search.languages  # the postings carry every other filter
    unknown_skill_required = search.all_skills and len(wanted) < len(set(search.skills))
    if postable and not search.skills:
        statements = _unscored_posting_statements(search, first=first, after=after)
    elif postable and wanted and not unknown_skill_required:
        statements = _posting_statements(search, wanted, first=first, after=after)
    else:
        statements = page_statements(conditions(search), search_parts(search), first=first, after=after)
    if not with_total:
        return statements
    terms = bitmap_terms(search)
    return replace(statements, total=bitmap_total(terms) if terms else counted_total(conditions(search)))


def bitmap_terms(search: ProfileSearch) -> list[list[str]] | None:
    """The search as bitmap keys (migration 0008): a profile matches when it has at least one key of every
    term. None for the one filter the bitmaps do not answer: available by a day outside [DAY_ZERO, DAY_END)."""
    terms = [["available" if search.only_available else "searchable"]]
    if search.sectors:
        terms.append([f"sector:{s.value}" for s in search.sectors])
    if search.skills:
        skills = [f"skill:{code}" for code in dict.fromkeys(search.skills)]
        terms += [[key] for key in skills] if search.all_skills else [skills]
    if search.occupations:
        terms.append([f"occupation:{code}" for code in search.occupations])
    if search.provinces:
        terms.append(
            [f"province:{p.value}" for p in search.provinces]
            + ([f"willing:{p.value}" for p in search.provinces] if search.include_willing_to_relocate else [])
        )
    if search.languages:
        terms.append([f"language:{code}" for code in search.languages])
    if search.age_bands:
        terms.append([f"age:{band.value}" for band in search.age_bands])  # set only while the group shows it
    if search.sex is not None:
        terms.append([f"sex:{search.sex.value}"])
    if search.available_by is not None:
        if not DAY_ZERO <= search.available_by < DAY_END:
            return None
        terms.append(day_keys(search.available_by))
    if search.education_at_least is not None:
        terms.append([f"education_at_least:{search.education_at_least.value}"])
    return terms


def day_keys(day: date) -> list[str]:
    """The keys of "available from `day` or earlier": days 0 to n as whole blocks of the largest tiers that fit
    (at most three blocks of each tier)."""
    n = (day - DAY_ZERO).days
    keys, start = [], 0  # start: the first day not yet covered, a multiple of every tier still to come
    for size in reversed(DAY_TIERS):
        while start + size <= n + 1:
            keys.append(f"d{size}:{start // size}")
            start += size
    return keys


def bitmap_total(terms: list[list[str]]) -> Executable:
    """The exact number of profiles matching every term: per chunk of ordinals, the OR of each term's
    bitmaps, ANDed together, popcounted. A term without any bitmap in a chunk leaves nothing there. Each
    bitmap read is joined to its term's number, so sorting bitmaps into terms costs an integer comparison."""
    keys = [key for keys in terms for key in dict.fromkeys(keys)]
    numbers = [n for n, keys in enumerate(terms) for _ in dict.fromkeys(keys)]
    matched = " & ".join(f"bit_or(b.bits) FILTER (WHERE t.term = {n})" for n in range(len(terms)))
    return text(
        f"SELECT coalesce(sum(bit_count(m)), 0)::bigint FROM (SELECT {matched} AS m"
        " FROM unnest(CAST(:keys AS text[]), CAST(:terms AS int[])) AS t(key, term)"
        " JOIN profile_bitmaps b ON b.key = t.key GROUP BY b.chunk) AS chunks"
    ).bindparams(bindparam("keys", keys, type_=ARRAY(Text)), bindparam("terms", numbers, type_=ARRAY(Integer)))


def _bits(values: list[Any], among: list[Any]) -> Any:
    return literal(sum(1 << among.index(v) for v in set(values)), BigInteger)


def _has_any(mask_column: Any, mask: Any) -> ColumnElement[bool]:
    return mask_column.op("&")(mask) != 0


def posting_conditions(search: ProfileSearch) -> list[ColumnElement[bool]]:
    """`conditions` on the postings: the same filters, read from the posting's columns and masks."""
    where: list[ColumnElement[bool]] = []
    if search.only_available:
        where.append(POSTING.is_available)
    if search.sectors:
        where.append(_has_any(POSTING.sector_mask, _bits(search.sectors, list(Sector))))
    if search.provinces:
        here = POSTING.province.in_(search.provinces)
        willing = _has_any(POSTING.preferred_mask, _bits(search.provinces, list(Province)))
        where.append(or_(here, willing) if search.include_willing_to_relocate else here)
    return where + column_conditions(search, POSTING)


def _unscored_posting_statements(search: ProfileSearch, *, first: int, after: str | None) -> PageStatements:
    """A search without skills: every profile's own posting (EVERY_PROFILE), most recently available first."""
    where = [EVERY_PROFILE_POSTING, *posting_conditions(search)]
    chosen = select(POSTING.profile_id.label("chosen_id"), literal(0, Integer).label("score")).where(*where)
    if after is not None:
        chosen = chosen.where(_posted_after(_position(after, scored=False)))
    chosen_page = chosen.order_by(*POSTING_ORDER).limit(first + 1).subquery("chosen")
    return _page_of(chosen_page, (), first=first)


def _posting_statements(search: ProfileSearch, wanted: list[int], *, first: int, after: str | None) -> PageStatements:
    """Candidates from the postings of each skill asked for, each profile once: under the first skill of
    `wanted` it holds (the postings of later skills skip profiles holding an earlier one; the rarest skill
    comes first). The score is how many requested skills the profile's mask holds; with all_skills, only the
    profiles holding every skill. Those, the first level, are read by mask when few masks hold every skill asked for
    (_few_masks), else from the rarest skill's postings filtered by the mask."""
    where = posting_conditions(search)
    score = sum(
        (cast(POSTING.skill_mask.op(">>")(literal(bit, Integer)).op("&")(1), Integer) for bit in wanted),
        literal(0, Integer),
    )
    every = literal(sum(1 << bit for bit in wanted), BigInteger)
    branch_conditions = []
    for n, bit in enumerate(wanted[:1] if search.all_skills else wanted):
        conditions_of_branch = [POSTING.skill_bit == bit, *where]
        if search.all_skills:
            conditions_of_branch.append(POSTING.skill_mask.op("&")(every) == every)
        elif n:
            earlier = literal(sum(1 << b for b in wanted[:n]), BigInteger)
            conditions_of_branch.append(POSTING.skill_mask.op("&")(earlier) == 0)
        branch_conditions.append(conditions_of_branch)
    # The page, level by level of skills matched: each (level, branch) part is read in index order and stops
    # after a page's worth, so a page costs about one page of index entries per part, not every candidate.
    position = _position(after, scored=True) if after is not None else None
    parts = []
    for level in [len(wanted)] if search.all_skills else range(len(wanted), 0, -1):
        if position is not None and level > position[0]:
            continue  # the pages before this one held every match at this level
        for n, branch in enumerate(branch_conditions):
            if not search.all_skills and level > len(wanted) - n:
                continue  # this branch's profiles lack the n skills before it
            part = select(
                POSTING.profile_id.label("id"), POSTING.available_from, literal(level, Integer).label("score")
            ).where(*branch)
            if level == len(wanted) > 1 and n == 0:
                # Every skill: by mask when few masks hold them all, else this skill's postings (see _few_masks).
                of_mask = select(
                    POSTING.profile_id.label("id"), POSTING.available_from, literal(level, Integer).label("score")
                ).where(*where)
                if position is not None and level == position[0]:
                    of_mask = of_mask.where(_posted_after(position[1:]))
                low, high = sorted(wanted[:2])
                few = _few_masks(low, high, every)
                masks = _skill_masks_holding(low, high, every)
                parts.append(_read_by_masks(masks, POSTING.skill_mask, of_mask, limit=first + 1).where(few))
                part = part.where(~few)
            if level == len(wanted) and not search.all_skills:
                # Every skill: one mask test per posting read, cheaper than summing a bit per skill.
                part = part.where(POSTING.skill_mask.op("&")(every) == every)
            elif not search.all_skills:
                part = part.where(score == level)
            if position is not None and level == position[0]:
                part = part.where(_posted_after(position[1:]))
            parts.append(part.order_by(*POSTING_ORDER).limit(first + 1))
    if not parts:  # a cursor below the lowest level: nothing follows it
        parts.append(
            select(POSTING.profile_id.label("id"), POSTING.available_from, literal(0).label("score")).where(false())
        )
    candidates = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("candidates")
    order = [candidates.c.score, candidates.c.available_from, candidates.c.id]
    chosen_page = (
        select(candidates.c.id.label("chosen_id"), candidates.c.score, candidates.c.score.label("part_skills"))
        .order_by(*(column.desc() for column in order))
        .limit(first + 1)
        .subquery("chosen")
    )
    return _page_of(chosen_page, ("skills",), first=first)


# A search's all-skills level is read mask by mask when at most this many masks hold every skill asked for: each
# mask costs an index descent and up to a page of rows, so a common pair of skills (~900 masks) reads its skill's
# postings in order instead, which soon finds a page.
MASKS_READ_AT_MOST = 300


def _skill_masks_holding(low: Any, high: Any, every: ColumnElement[int]) -> Select[Any]:
    """The skill masks profiles hold that have every skill of `every` (their mask), from the masks of the pair of
    them `low` < `high` (the two rarest: the pair with the fewest masks, as a rule; migration 0011)."""
    return select(skill_masks.c.mask).where(
        skill_masks.c.first_bit == low,
        skill_masks.c.second_bit == high,
        skill_masks.c.mask.op("&")(every) == every,
    )


def _few_masks(low: Any, high: Any, every: ColumnElement[int]) -> ColumnElement[bool]:
    """Whether at most MASKS_READ_AT_MOST skill masks hold every skill of `every` (_skill_masks_holding): then reading
    them mask by mask costs less than reading the rarest skill's postings in order."""
    holding = _skill_masks_holding(low, high, every).limit(MASKS_READ_AT_MOST + 1).subquery()
    return select(func.count()).select_from(holding).scalar_subquery() <= MASKS_READ_AT_MOST


def _read_by_masks(masks: Select[Any], column: Any, of_mask: Select[Any], *, limit: Any) -> Select[Any]:
    """`of_mask` (a select on the postings, the profile's id labelled "id") of the every-profile postings whose
    `column` is one of `masks`, in search order: a page of each mask's postings through the partial index on `column`,
    merged."""
    listed = masks.subquery("masks")
    of_mask = of_mask.where(EVERY_PROFILE_POSTING, column == listed.c.mask)
    per_mask = of_mask.order_by(*POSTING_ORDER).limit(limit).lateral("per_mask")
    return (
        select(*per_mask.c)
        .select_from(listed.join(per_mask, true()))
        .order_by(per_mask.c.available_from.desc(), per_mask.c.id.desc())
        .limit(limit)
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
    return [ReturneeProfile.searchable.expression, ReturneeProfile.is_available.expression, or_(*relevant)]


def matching_total(needs: VacancyNeeds) -> Executable:
    """How many candidates a vacancy has, from the bitmaps: what `matching_conditions` reads."""
    relevant = [f"occupation:{needs.occupation_code}", f"sector:{needs.sector.value}"]
    relevant += [f"skill:{code}" for code in needs.required_skills]
    return bitmap_total([["available"], relevant])


def matching_statements(needs: VacancyNeeds, *, first: int, after: str | None, with_total: bool) -> PageStatements:
    """A vacancy's candidates ranked on the profiles' own columns in one statement: the definition of the ranking,
    which matching_page reads from the postings level by level (tests hold them equal; this one reads every
    candidate's wide row: hundreds of milliseconds at 750,000 profiles)."""
    statements = page_statements(matching_conditions(needs), matching_parts(needs), first=first, after=after)
    return replace(statements, total=matching_total(needs) if with_total else None)


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


# The taxonomy changes only with a migration: each process reads the occupations' bits once, and again only when
# asked for a code it does not hold (as skill_taxonomy).
_occupation_bits: dict[str, int] = {}


async def occupation_bits(session: AsyncSession, code: str) -> dict[str, int]:
    """Each occupation's bit in the postings' occupation masks (migration 0012), read again when `code` is missing."""
    if code not in _occupation_bits:
        _occupation_bits.update((await session.execute(select(Occupation.code, Occupation.bit))).all())
    return _occupation_bits


@dataclass(frozen=True)
class _Fit:
    """One way of scoring against a vacancy: skills held of those asked for, and each other part met or not."""

    skills: int
    occupation: bool
    sector: bool
    province: str  # HOME, WILLING or ELSEWHERE
    available: bool


HOME, WILLING, ELSEWHERE = "home", "willing", "elsewhere"
PROVINCE_POINTS = {HOME: MATCH_WEIGHTS["province"], WILLING: WILLING_TO_RELOCATE_POINTS, ELSEWHERE: 0}


def _value(name: str, type_: Any = BigInteger) -> Any:
    """A vacancy's value in its match statements, bound when they run (_Match.values): one set of statements serves
    every vacancy of the same shape."""
    return bindparam(name, type_=type_)


@dataclass(frozen=True)
class _Shape:
    """What a vacancy's match statements depend on; the vacancy's own values are bound when they run."""

    asked: int  # skills asked for
    known: int  # of which the taxonomy knows (all, unless the vacancy names one it no longer has)
    occupation_known: bool
    home_first: bool  # fewer live in the vacancy's province than hold its rarest skill
    willing_first: bool  # fewer would work there than hold its rarest skill


@dataclass(frozen=True)
class _Match:
    """A vacancy ranking's shape as expressions on the postings, and every score it can give with the fits giving it."""

    shape: _Shape
    parts: dict[str, ColumnElement[int]]
    relevant: ColumnElement[bool]
    occupation: ColumnElement[bool]
    willing: ColumnElement[bool]
    fits_by_score: dict[int, list[_Fit]]
    statements: dict[tuple[int, bool], Select[Any]] = field(default_factory=dict)  # built once each (level)

    @classmethod
    def of(cls, shape: _Shape) -> _Match:
        asked, known = shape.asked, shape.known
        every = _value("every")
        occupation = _has_any(POSTING.occupation_mask, _value("occupation")) if shape.occupation_known else false()
        sector = _has_any(POSTING.sector_mask, _value("sector"))
        lives_there = POSTING.province == _value("province", POSTING.province.type)
        willing = _has_any(POSTING.preferred_mask, _value("willing"))
        available = POSTING.available_from <= _value("needed_by", POSTING.available_from.type)
        parts: dict[str, ColumnElement[int]] = {}
        if asked:
            covered = sum(
                (
                    cast(POSTING.skill_mask.op(">>")(_value(f"skill_{n}", Integer)).op("&")(1), Integer)
                    for n in range(known)
                ),
                literal(0, Integer),
            )
            parts["skills"] = covered * MATCH_WEIGHTS["skills"] // asked
        parts["occupation"] = case((occupation, MATCH_WEIGHTS["occupation"]), else_=0)
        parts["sector"] = case((sector, MATCH_WEIGHTS["sector"]), else_=0)
        parts["province"] = case(
            (lives_there, PROVINCE_POINTS[HOME]), (willing, PROVINCE_POINTS[WILLING]), else_=PROVINCE_POINTS[ELSEWHERE]
        )
        parts["availability"] = case((available, MATCH_WEIGHTS["availability"]), else_=0)
        relevant = or_(occupation, sector, _has_any(POSTING.skill_mask, every)) if known else or_(occupation, sector)
        fits_by_score: dict[int, list[_Fit]] = {}
        for held in range(known + 1):
            for has_occupation in (True, False) if shape.occupation_known else (False,):
                for has_sector in (True, False):
                    if not (held or has_occupation or has_sector):
                        continue  # nothing in common with the vacancy: not a candidate
                    for province, province_points in PROVINCE_POINTS.items():
                        for is_available in (True, False):
                            fit = _Fit(held, has_occupation, has_sector, province, is_available)
                            score = (
                                (held * MATCH_WEIGHTS["skills"] // asked if asked else 0)
                                + has_occupation * MATCH_WEIGHTS["occupation"]
                                + has_sector * MATCH_WEIGHTS["sector"]
                                + province_points
                                + is_available * MATCH_WEIGHTS["availability"]
                            )
                            fits_by_score.setdefault(score, []).append(fit)
        fits = dict(sorted(fits_by_score.items(), reverse=True))
        return cls(shape, parts, relevant, occupation, willing, fits)

    @staticmethod
    def values(needs: VacancyNeeds, wanted: list[int], occupation_bit: int | None) -> dict[str, Any]:
        """The values of a vacancy that its statements bind."""
        values: dict[str, Any] = {
            "every": sum(1 << bit for bit in wanted),
            "sector": 1 << list(Sector).index(needs.sector),
            "province": needs.province,
            "willing": 1 << list(Province).index(needs.province),
            "needed_by": needs.needed_by,
            "occupation": 1 << occupation_bit if occupation_bit is not None else 0,
        }
        for n, bit in enumerate(wanted):
            values[f"skill_{n}"] = bit
            values[f"earlier_{n}"] = sum(1 << b for b in wanted[:n])  # the skills of the postings read before
        if len(wanted) > 1:
            values["low"], values["high"] = sorted(wanted[:2])
        return values

    def masks(self, kind: str) -> Select[Any]:
        """The masks of `kind` ("preferred" or "occupation") the every-profile postings hold that have the vacancy's
        province or occupation."""
        bit = _value("willing" if kind == "preferred" else "occupation")
        return select(profile_masks.c.mask).where(profile_masks.c.kind == kind, profile_masks.c.mask.op("&")(bit) != 0)

    def level(self, score: int, *, positioned: bool) -> Select[Any]:
        """Up to `:need` candidates scoring exactly `score`, in search order (after `:after_available`,
        `:after_id` when `positioned`), joined to what an employer may see of them. Each fit is read from the
        postings that hold it most densely:
        - holding every skill asked for: by skill mask (as a search's first level) when two or more are asked for
          and few masks hold them all, else from the rarest skill's postings, or from the residents' or the
          willing's postings (as below) when fewer live there or would go than hold that skill;
        - the others living in the vacancy's province: the every-profile postings by province;
        - willing to work there: by preferred-provinces mask, each mask holding the province;
        - with the vacancy's occupation: by occupation mask, each mask holding the occupation;
        - holding some of the skills: each skill's postings (each profile once: under the rarest it holds);
        - the rest (with experience in the sector): the every-profile postings.
        Each class leaves out those of the classes above it."""
        if (statement := self.statements.get((score, positioned))) is not None:
            return statement
        fits = self.fits_by_score[score]
        asked, home_first, willing_first = self.shape.known, self.shape.home_first, self.shape.willing_first
        every = _value("every")
        holds_every = POSTING.skill_mask.op("&")(every) == every
        home = POSTING.province == _value("province", POSTING.province.type)
        scored = [POSTING.is_available, sum(self.parts.values(), literal(0, Integer)) == score]
        need: BindParameter[Any] = bindparam("need")
        position = [
            bindparam("after_available", type_=POSTING.available_from.type),
            bindparam("after_id", type_=POSTING.profile_id.type),
        ]
        # (the fits read, how: "in order" of an index the conditions choose, or mask by mask, and the conditions)
        sources: list[tuple[list[_Fit], str, list[ColumnElement[bool]]]] = []
        all_held = [f for f in fits if asked and f.skills == asked]
        few, unless_by_mask = _few_masks(*SKILL_PAIR, every) if asked > 1 else true(), []
        if asked > 1 and all_held:  # by skill mask when few masks hold every skill asked for
            sources.append((all_held, "skill masks", [holds_every]))
            unless_by_mask.append(~few)
        # Else each from the rarest skill's postings, or from the postings of those living there or willing to go
        # when fewer do than hold that skill.
        held_home = [f for f in all_held if f.province == HOME and home_first]
        held_willing = [f for f in all_held if f.province == WILLING and willing_first]
        held_here = [f for f in all_held if f not in held_home and f not in held_willing]
        first_skill = POSTING.skill_bit == _value("skill_0", SmallInteger) if asked else false()
        not_read_below = ([~home] if home_first else []) + ([or_(home, ~self.willing)] if willing_first else [])
        sources.append((held_here, "in order", [*unless_by_mask, first_skill, holds_every, *not_read_below]))
        sources.append((held_home, "in order", [*unless_by_mask, EVERY_PROFILE_POSTING, home, holds_every]))
        sources.append((held_willing, "preferred", [*unless_by_mask, ~home, self.willing, holds_every]))
        some = [~holds_every] if asked else []  # those holding every skill are read above
        rest = [f for f in fits if f not in all_held]
        sources.append(
            ([f for f in rest if f.province == HOME], "in order", [EVERY_PROFILE_POSTING, home, self.relevant, *some])
        )
        # Willing to work there, or with the vacancy's occupation: read mask by mask.
        willing = [f for f in rest if f.province == WILLING]
        sources.append((willing, "preferred", [~home, self.willing, self.relevant, *some]))
        occupied = [f for f in rest if f.province == ELSEWHERE and f.occupation]
        sources.append((occupied, "occupation", [~home, ~self.willing, self.occupation, *some]))
        elsewhere = [~home, ~self.willing, ~self.occupation]
        for n in range(asked):
            bit, earlier = _value(f"skill_{n}", SmallInteger), _value(f"earlier_{n}")
            fits_here = [f for f in rest if f.province == ELSEWHERE and not f.occupation and 0 < f.skills <= asked - n]
            where = [POSTING.skill_bit == bit, *elsewhere, POSTING.skill_mask.op("&")(earlier) == 0, *some]
            sources.append((fits_here, "in order", where))
        unskilled = [f for f in rest if f.province == ELSEWHERE and not f.occupation and not f.skills]
        where = [EVERY_PROFILE_POSTING, *elsewhere, POSTING.skill_mask.op("&")(every) == 0, self.relevant]
        sources.append((unskilled, "in order", where))
        parts = []
        for fits_here, how, where in sources:
            if not fits_here:
                continue
            if all(f.available for f in fits_here):
                where.append(POSTING.available_from <= _value("needed_by", POSTING.available_from.type))
            elif not any(f.available for f in fits_here):
                where.append(POSTING.available_from > _value("needed_by", POSTING.available_from.type))
            part = select(
                POSTING.profile_id.label("id"),
                POSTING.available_from,
                literal(score, Integer).label("score"),
                *(p.label(f"part_{n}") for n, p in self.parts.items()),
            ).where(*scored, *where)
            if positioned:
                part = part.where(_posted_after(position))
            if how == "in order":
                parts.append(part.order_by(*POSTING_ORDER).limit(need))
            elif how == "skill masks":
                masks = _skill_masks_holding(*SKILL_PAIR, every)
                parts.append(_read_by_masks(masks, POSTING.skill_mask, part, limit=need).where(few))
            else:
                column = POSTING.preferred_mask if how == "preferred" else POSTING.occupation_mask
                parts.append(_read_by_masks(self.masks(how), column, part, limit=need))
        candidates = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("candidates")
        chosen = (
            select(candidates.c.id.label("chosen_id"), *(c for c in candidates.c if c.name != "id"))
            .order_by(candidates.c.available_from.desc(), candidates.c.id.desc())
            .limit(need)
            .subquery("chosen")
        )
        self.statements[(score, positioned)] = statement = _page_of(chosen, tuple(self.parts), first=0).page
        return statement


SKILL_PAIR = (_value("low", SmallInteger), _value("high", SmallInteger))  # a match's two rarest skills
# A vacancy asking for more skills than this is ranked on the profiles in one statement: each skill is one more
# source in every level's statement, and the levels multiply (vacancies ask for one to four).
MATCH_SKILLS_READ_AT_MOST = 6
# A process keeps the statements of each shape of vacancy (_Shape: a few dozen) for the levels it read.
_matches: dict[_Shape, _Match] = {}


async def matching_page(
    session: AsyncSession, needs: VacancyNeeds, *, first: int, after: str | None, with_total: bool
) -> RankedPage:
    """A vacancy's candidates best fit first (the ranking of matching_statements), read from the postings one score
    at a time: from the best score (or the cursor's) down, each level a statement reading at most a page's worth
    of postings per source in search order, until a page and one more are found. A page costs a statement for
    each score it spans, instead of scoring every candidate."""
    if len(set(needs.required_skills)) > MATCH_SKILLS_READ_AT_MOST:
        statements = matching_statements(needs, first=first, after=after, with_total=with_total)
        return await ranked_page(session, statements, after=after)
    bits, occupations = await skill_bits(session), await occupation_bits(session, needs.occupation_code)
    holders, places = await skill_holders(session), await place_holders(session)
    wanted = sorted({bits[code] for code in needs.required_skills if code in bits}, key=lambda b: holders.get(b, 0))
    rarest = holders.get(wanted[0], 0) if wanted else 0
    shape = _Shape(
        asked=len(set(needs.required_skills)),
        known=len(wanted),
        occupation_known=needs.occupation_code in occupations,
        home_first=places.get(f"province:{needs.province.value}", 0) < rarest,
        willing_first=places.get(f"willing:{needs.province.value}", 0) < rarest,
    )
    if (match := _matches.get(shape)) is None:
        _matches[shape] = match = _Match.of(shape)
    values = _Match.values(needs, wanted, occupations.get(needs.occupation_code))
    position = decode_cursor(after) if after is not None else None
    rows: list[Any] = []
    seen: set[uuid.UUID] = set()
    for score in match.fits_by_score:
        if position is not None and score > position[0]:
            continue  # the pages before this one held every candidate scoring this
        positioned = position is not None and score == position[0]
        parameters: dict[str, Any] = {**values, "need": first + 1 - len(rows)}
        if positioned and position is not None:
            parameters.update(after_available=position[1], after_id=position[2])
        for row in (await session.execute(match.level(score, positioned=positioned), parameters)).all():
            if row[0] not in seen:  # a profile changed between two levels' statements is shown once
                seen.add(row[0])
                rows.append(row)
        if len(rows) > first:
            break
    total = (await session.scalar(matching_total(needs)) or 0) if with_total else 0
    return RankedPage(
        rows=_ranked(rows[:first], tuple(match.parts)),
        has_next=len(rows) > first,
        has_previous=after is not None,
        total=total,
    )
