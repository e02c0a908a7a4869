"""Hires: each ACTIVE or ENDED hire is a formal placement from the moment it commits."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    Row,
    Select,
    Subquery,
    Text,
    case,
    func,
    literal,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.accounts import PROVINCE_ENUM, SECTOR_ENUM, Employer
from db.base import Base, created_at_column, pg_enum, violated_constraint
from db.catalog import Occupation
from db.enums import ContractType, HireStatus, Province, Sector, VacancyStatus
from db.returnees import ReturneeProfile
from db.vacancies import CONTRACT_TYPE_ENUM, Vacancy


class Hire(Base):
    __tablename__ = "hires"
    __table_args__ = (
        ForeignKeyConstraint(
            ["employer_id", "vacancy_id"],
            ["vacancies.employer_id", "vacancies.id"],
            name="fk_hires_employer_vacancy",
        ),
        # A returnee never holds two active hires, whatever the application does.
        Index(
            "uq_hires_one_active_per_profile",
            "profile_id",
            unique=True,
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        Index("uq_hires_employer_id_idempotency_key", "employer_id", "idempotency_key", unique=True),
        Index("ix_hires_vacancy_id_status", "vacancy_id", "status"),
        Index("ix_hires_recorded_at_id", "recorded_at", "id"),
        CheckConstraint("monthly_wage_usd > 0", name="wage_positive"),
        # A voided hire stays as it was, so one that had ended keeps its end date (migration 0004).
        CheckConstraint("status = 'VOIDED' OR (status = 'ENDED') = (ended_on IS NOT NULL)", name="ended_has_a_date"),
        CheckConstraint("(status = 'VOIDED') = (void_reason IS NOT NULL)", name="voided_has_a_reason"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    employer_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    vacancy_id: Mapped[uuid.UUID] = mapped_column(UUID)
    profile_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("returnee_profiles.id"))
    start_date: Mapped[date] = mapped_column(Date)
    contract_type: Mapped[ContractType] = mapped_column(CONTRACT_TYPE_ENUM)
    monthly_wage_usd: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    nssf_number: Mapped[str | None] = mapped_column(Text)
    status: Mapped[HireStatus] = mapped_column(
        pg_enum(HireStatus, "hire_status"), server_default=HireStatus.ACTIVE.value
    )
    recorded_at: Mapped[datetime] = created_at_column()
    recorded_by: Mapped[str] = mapped_column(Text)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[str | None] = mapped_column(Text)
    void_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_digest: Mapped[str | None] = mapped_column(Text)


class DailyPlacementCount(Base):
    """Placements (ACTIVE and ENDED hires) by the vacancy's province and sector and the hire's start date.

    Kept by the triggers of migration 0004 in each hire's own transaction (COPY included); read only for
    the partial months at the edges of a date range, which the monthly counts cannot bound by the day.
    """

    __tablename__ = "daily_placement_counts"
    __table_args__ = (CheckConstraint("placements >= 0", name="placements_not_negative"),)

    province: Mapped[Province] = mapped_column(PROVINCE_ENUM, primary_key=True)
    sector: Mapped[Sector] = mapped_column(SECTOR_ENUM, primary_key=True)
    start_date: Mapped[date] = mapped_column(Date, primary_key=True)
    placements: Mapped[int] = mapped_column(Integer)


class MonthlyPlacementCount(Base):
    """The same placements by start month: at most 75 rows a month, so the ministry's statistics stay fast."""

    __tablename__ = "monthly_placement_counts"
    __table_args__ = (
        CheckConstraint("placements >= 0", name="placements_not_negative"),
        CheckConstraint("month = date_trunc('month', month)::date", name="month_is_a_month"),
    )

    province: Mapped[Province] = mapped_column(PROVINCE_ENUM, primary_key=True)
    sector: Mapped[Sector] = mapped_column(SECTOR_ENUM, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    placements: Mapped[int] = mapped_column(Integer)


class PlacementDimension(enum.StrEnum):
    PROVINCE = "PROVINCE"
    SECTOR = "SECTOR"
    MONTH = "MONTH"


@dataclass(frozen=True)
class HireCriteria:
    """What a list or an export of hires is narrowed to; province and sector are the vacancy's."""

    statuses: Sequence[HireStatus] = ()
    employer_id: uuid.UUID | None = None
    vacancy_id: uuid.UUID | None = None
    provinces: Sequence[Province] = ()
    sectors: Sequence[Sector] = ()
    recorded_from: datetime | None = None
    """Inclusive."""
    recorded_to: datetime | None = None
    """Exclusive."""


@dataclass(frozen=True)
class PlacementCriteria:
    """Placements of vacancies in these provinces and sectors, starting between two dates (both inclusive)."""

    provinces: Sequence[Province] = ()
    sectors: Sequence[Sector] = ()
    start_from: date | None = None
    start_to: date | None = None


@dataclass(frozen=True)
class PlacementRow:
    province: Province | None
    sector: Sector | None
    month: str | None
    placements: int


def readable_hires(employer_id: uuid.UUID | None) -> Select[Hire]:
    """One employer's hires, or every employer's when `employer_id` is None (the ministry)."""
    statement = select(Hire)
    return statement if employer_id is None else statement.where(Hire.employer_id == employer_id)


def matching(statement: Select[*tuple[Any, ...]], criteria: HireCriteria) -> Select[*tuple[Any, ...]]:
    if criteria.statuses:
        statement = statement.where(Hire.status.in_(criteria.statuses))
    if criteria.employer_id is not None:
        statement = statement.where(Hire.employer_id == criteria.employer_id)
    if criteria.vacancy_id is not None:
        statement = statement.where(Hire.vacancy_id == criteria.vacancy_id)
    if criteria.provinces or criteria.sectors:
        # Not correlated: an export joins vacancies too, and this must stay a list of vacancy ids.
        vacancies = select(Vacancy.id).correlate(None)
        if criteria.provinces:
            vacancies = vacancies.where(Vacancy.province.in_(criteria.provinces))
        if criteria.sectors:
            vacancies = vacancies.where(Vacancy.sector.in_(criteria.sectors))
        statement = statement.where(Hire.vacancy_id.in_(vacancies))
    if criteria.recorded_from is not None:
        statement = statement.where(Hire.recorded_at >= criteria.recorded_from)
    if criteria.recorded_to is not None:
        statement = statement.where(Hire.recorded_at < criteria.recorded_to)
    return statement


async def earlier_hire(session: AsyncSession, employer_id: uuid.UUID, key: str) -> Hire | None:
    """The hire an earlier request with this idempotency key recorded, if any.

    Takes a transaction lock on (employer, key) first, so concurrent retries look one after another and
    only the first of them records the hire.
    """
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"hire:{employer_id}:{key}"}
    )
    return await session.scalar(select(Hire).where(Hire.employer_id == employer_id, Hire.idempotency_key == key))


async def take_position(session: AsyncSession, employer_id: uuid.UUID, vacancy_id: uuid.UUID) -> bool:
    """Fill one position of an OPEN vacancy of this employer; False when it is not open or already full.

    One conditional UPDATE: concurrent hires queue on the vacancy's row and each re-checks the count, so
    a vacancy is never overfilled (the CHECK never_overfilled is the last wall). The last position sets
    the vacancy FILLED.
    """
    filled = Vacancy.positions_filled + 1
    taken = await session.execute(
        update(Vacancy)
        .where(
            Vacancy.id == vacancy_id,
            Vacancy.employer_id == employer_id,
            Vacancy.status == VacancyStatus.OPEN,
            Vacancy.positions_filled < Vacancy.positions,
        )
        .values(
            positions_filled=filled,
            status=case((filled == Vacancy.positions, VacancyStatus.FILLED), else_=Vacancy.status),
            updated_at=func.now(),
        )
        .returning(Vacancy.id)
        .execution_options(synchronize_session=False)
    )
    return taken.first() is not None


async def release_position(session: AsyncSession, vacancy_id: uuid.UUID) -> None:
    """Free the position an active hire held: a FILLED vacancy opens again, a CLOSED one stays closed.

    Called before the hire itself changes, so every hire writer locks the vacancy row first (one lock
    order, and the placement counts' province move in migration 0004 relies on it).
    """
    await session.execute(
        update(Vacancy)
        .where(Vacancy.id == vacancy_id)
        .values(
            positions_filled=Vacancy.positions_filled - 1,
            status=case((Vacancy.status == VacancyStatus.FILLED, VacancyStatus.OPEN), else_=Vacancy.status),
            updated_at=func.now(),
        )
        .execution_options(synchronize_session=False)
    )


async def insert_hire(session: AsyncSession, hire: Hire) -> bool:
    """Add `hire`; False, with nothing added, when its returnee already holds an active hire.

    uq_hires_one_active_per_profile decides, inside a savepoint, so that a concurrent hire of the same
    returnee is caught however the two transactions interleave.
    """
    try:
        async with session.begin_nested():
            session.add(hire)
            await session.flush()
    except IntegrityError as error:
        if violated_constraint(error) == "uq_hires_one_active_per_profile":
            return False
        raise
    return True


async def set_availability(session: AsyncSession, profile_id: uuid.UUID, *, available: bool) -> None:
    await session.execute(
        update(ReturneeProfile)
        .where(ReturneeProfile.id == profile_id)
        .values(is_available=available)
        .execution_options(synchronize_session=False)
    )


def _month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _whole_months(low: date | None, high: date | None) -> tuple[date | None, date | None]:
    """The first day of the first month the start-date range holds whole, and of the month after its last."""
    first = after = None
    if low is not None:
        first = low if low.day == 1 else _month_after(low)
    if high is not None:
        # The day after `high` is the first of a month exactly when `high` ends one.
        after = _month_after(high) if (high + timedelta(days=1)).day == 1 else high.replace(day=1)
    return first, after


def _ministry_placements(criteria: PlacementCriteria) -> Subquery:
    """(province, sector, month, placements) from the maintained counts, exact for any start-date range.

    Months the range holds whole are read from the monthly counts; the days of a month it cuts, from the
    daily counts. At 300,000 hires that is a few thousand rows instead of every hire joined to its vacancy.
    """
    low, high = criteria.start_from, criteria.start_to
    first, after = _whole_months(low, high)
    monthly, daily = MonthlyPlacementCount, DailyPlacementCount
    months = select(monthly.province, monthly.sector, monthly.month, monthly.placements)
    days = select(daily.province, daily.sector, func.date_trunc("month", daily.start_date).cast(Date), daily.placements)
    if first is not None and after is not None and first >= after:
        return days.where(daily.start_date.between(low, high)).subquery()
    edges = []
    if first is not None:
        months = months.where(monthly.month >= first)
        if low is not None and low < first:
            edges.append(days.where(daily.start_date >= low, daily.start_date < first))
    if after is not None:
        months = months.where(monthly.month < after)
        if high is not None and high >= after:
            edges.append(days.where(daily.start_date >= after, daily.start_date <= high))
    return union_all(months, *edges).subquery()


def _employer_placements(criteria: PlacementCriteria, employer_id: uuid.UUID) -> Subquery:
    """(province, sector, month, 1) for each of one employer's placements: a few thousand at most."""
    hires = (
        select(Vacancy.province, Vacancy.sector, func.date_trunc("month", Hire.start_date).cast(Date), literal(1))
        .join(Vacancy, Vacancy.id == Hire.vacancy_id)
        .where(Hire.employer_id == employer_id, Hire.status != HireStatus.VOIDED)
    )
    if criteria.start_from is not None:
        hires = hires.where(Hire.start_date >= criteria.start_from)
    if criteria.start_to is not None:
        hires = hires.where(Hire.start_date <= criteria.start_to)
    return hires.subquery()


async def placement_counts(
    session: AsyncSession,
    dimensions: Sequence[PlacementDimension],
    criteria: PlacementCriteria,
    *,
    employer_id: uuid.UUID | None,
) -> list[PlacementRow]:
    """Placements grouped by `dimensions` (one ungrouped row when there are none); every employer's when None."""
    source = _ministry_placements(criteria) if employer_id is None else _employer_placements(criteria, employer_id)
    province, sector, month, placements = source.c
    by = {PlacementDimension.PROVINCE: province, PlacementDimension.SECTOR: sector, PlacementDimension.MONTH: month}
    keys = [by[d] for d in dict.fromkeys(dimensions)]
    total = func.coalesce(func.sum(placements), 0)
    # Always the same four columns, NULL where not grouped, so that each row is a PlacementRow as it comes.
    statement = select(
        province if PlacementDimension.PROVINCE in dimensions else null(),
        sector if PlacementDimension.SECTOR in dimensions else null(),
        func.to_char(month, "YYYY-MM") if PlacementDimension.MONTH in dimensions else null(),
        total,
    )
    if criteria.provinces:
        statement = statement.where(province.in_(criteria.provinces))
    if criteria.sectors:
        statement = statement.where(sector.in_(criteria.sectors))
    if keys:
        statement = statement.group_by(*keys).having(total > 0).order_by(*keys)
    # A Core execution: the ORM has no entities to load here, only up to a few thousand plain rows.
    result = await (await session.connection()).execute(statement)
    return [PlacementRow(*row) for row in result.all()]


EXPORT_COLUMNS = (
    Hire.id,
    Hire.employer_id,
    Employer.legal_name.label("employer_name"),
    Hire.vacancy_id,
    Vacancy.title.label("vacancy_title"),
    Vacancy.occupation_code,
    Occupation.name.label("occupation_name"),
    Occupation.name_km.label("occupation_name_km"),
    Vacancy.province,
    Vacancy.sector,
    Hire.profile_id,
    Hire.start_date,
    Hire.contract_type,
    Hire.monthly_wage_usd,
    Hire.nssf_number,
    Hire.status,
    Hire.recorded_by,
    Hire.recorded_at,
    Hire.ended_on,
    Hire.end_reason,
    Hire.voided_at,
    Hire.voided_by,
    Hire.void_reason,
)


async def hires_for_export(session: AsyncSession, criteria: HireCriteria) -> AsyncIterator[Row[Any]]:
    """Every hire that meets `criteria`, oldest first, streamed from a server-side cursor.

    No identity column is selected: the profile id is all an export says of the returnee.
    """
    statement = (
        matching(select(*EXPORT_COLUMNS).select_from(Hire), criteria)
        .join(Vacancy, Vacancy.id == Hire.vacancy_id)
        .join(Employer, Employer.id == Hire.employer_id)
        .join(Occupation, Occupation.code == Vacancy.occupation_code)
        .order_by(Hire.recorded_at, Hire.id)
        .execution_options(yield_per=1000)
    )
    async for row in await session.stream(statement):
        yield row
