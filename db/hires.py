"""Hires: each ACTIVE or ENDED hire is a formal placement from the moment it commits."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column, pg_enum
from db.enums import ContractType, HireStatus
from db.vacancies import CONTRACT_TYPE_ENUM


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
        CheckConstraint("(status = 'ENDED') = (ended_on IS NOT NULL)", name="ended_has_a_date"),
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
