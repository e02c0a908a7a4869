"""Vacancies and their required skills, with the caller-scoped statement every read starts from."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.accounts import PROVINCE_ENUM, SECTOR_ENUM
from db.base import Base, created_at_column, pg_enum, sql_in_list
from db.enums import Benefit, ContractType, Province, Sector, VacancyStatus

CONTRACT_TYPE_ENUM = pg_enum(ContractType, "contract_type")


class Vacancy(Base):
    __tablename__ = "vacancies"
    __table_args__ = (
        CheckConstraint("positions BETWEEN 1 AND 10000", name="positions_in_range"),
        CheckConstraint("positions_filled BETWEEN 0 AND positions", name="never_overfilled"),
        CheckConstraint("wage_min_usd >= 0", name="wage_min_not_negative"),
        CheckConstraint("wage_max_usd IS NULL OR wage_max_usd >= wage_min_usd", name="wage_range_ordered"),
        CheckConstraint("hours_per_week IS NULL OR hours_per_week BETWEEN 1 AND 72", name="hours_in_range"),
        CheckConstraint(
            "closing_date IS NULL OR start_date IS NULL OR closing_date >= start_date",
            name="closing_not_before_start",
        ),
        CheckConstraint(f"benefits <@ ARRAY[{sql_in_list(Benefit)}]::text[]", name="benefits_are_known"),
        CheckConstraint("(status = 'DRAFT') = (published_at IS NULL)", name="published_unless_draft"),
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        # Lets hires and contact requests reference a vacancy together with its employer,
        # so that no row can attach itself to another employer's vacancy.
        UniqueConstraint("employer_id", "id", name="uq_vacancies_employer_id_id"),
        UniqueConstraint("employer_id", "idempotency_key", name="uq_vacancies_employer_id_idempotency_key"),
        Index("ix_vacancies_created_at_id", "created_at", "id"),
        Index("ix_vacancies_employer_id_created_at", "employer_id", "created_at"),
        Index("ix_vacancies_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    employer_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("employers.id"))
    title: Mapped[str] = mapped_column(Text)
    occupation_code: Mapped[str] = mapped_column(Text, ForeignKey("occupations.code"))
    sector: Mapped[Sector] = mapped_column(SECTOR_ENUM)
    province: Mapped[Province] = mapped_column(PROVINCE_ENUM)
    workplace_address: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    positions: Mapped[int] = mapped_column(Integer)
    positions_filled: Mapped[int] = mapped_column(Integer, server_default="0")
    contract_type: Mapped[ContractType] = mapped_column(CONTRACT_TYPE_ENUM)
    wage_min_usd: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    wage_max_usd: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    hours_per_week: Mapped[int | None] = mapped_column(Integer)
    start_date: Mapped[date | None] = mapped_column(Date)
    closing_date: Mapped[date | None] = mapped_column(Date)
    benefits: Mapped[list[str]] = mapped_column(ARRAY(Text))
    status: Mapped[VacancyStatus] = mapped_column(
        pg_enum(VacancyStatus, "vacancy_status"), server_default=VacancyStatus.DRAFT.value
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_digest: Mapped[str | None] = mapped_column(Text)


class VacancySkill(Base):
    __tablename__ = "vacancy_skills"

    vacancy_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("vacancies.id", ondelete="CASCADE"), primary_key=True
    )
    skill_code: Mapped[str] = mapped_column(Text, ForeignKey("skills.code"), primary_key=True, index=True)


def readable_vacancies(employer_id: uuid.UUID | None, *, is_ministry: bool) -> Select[Vacancy]:
    """Employers read their own vacancies in any status and other employers' open ones."""
    statement = select(Vacancy)
    if is_ministry:
        return statement
    if employer_id is None:
        return statement.where(Vacancy.status == VacancyStatus.OPEN)
    return statement.where(or_(Vacancy.employer_id == employer_id, Vacancy.status == VacancyStatus.OPEN))


def writable_vacancies(employer_id: uuid.UUID) -> Select[Vacancy]:
    return select(Vacancy).where(Vacancy.employer_id == employer_id)
