"""Returnees: the identity no employer ever reads, and the anonymised profile employers search."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.accounts import PROVINCE_ENUM, SECTOR_ENUM
from db.base import Base, created_at_column, pg_enum, sql_in_list
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex

SEX_ENUM = pg_enum(Sex, "sex")


class ReturneeIdentity(Base):
    """Who the returnee is. Read only by the ministry and, on consent, by one employer's request."""

    __tablename__ = "returnee_identities"
    __table_args__ = (
        CheckConstraint("phone ~ '^\\+855[0-9]{8,9}$'", name="phone_is_cambodian_e164"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        UniqueConstraint("registered_by", "idempotency_key", name="uq_returnee_identities_registered_by_key"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    name: Mapped[str] = mapped_column(Text)
    sex: Mapped[Sex] = mapped_column(SEX_ENUM)
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone: Mapped[str] = mapped_column(Text, unique=True)
    national_id: Mapped[str | None] = mapped_column(Text, unique=True)
    province: Mapped[Province] = mapped_column(PROVINCE_ENUM)
    district: Mapped[str | None] = mapped_column(Text)
    commune: Mapped[str | None] = mapped_column(Text)
    village: Mapped[str | None] = mapped_column(Text)
    returned_on: Mapped[date] = mapped_column(Date)
    consent_to_search: Mapped[bool] = mapped_column(Boolean)
    consent_recorded_at: Mapped[datetime] = created_at_column()
    registered_by: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_digest: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class ReturneeProfile(Base):
    """What employers may see. Its id is random and unrelated to the identity's."""

    __tablename__ = "returnee_profiles"
    __table_args__ = (
        CheckConstraint("return_month = date_trunc('month', return_month)::date", name="return_month_is_a_month"),
        CheckConstraint(
            f"preferred_provinces <@ ARRAY[{sql_in_list(Province)}]::text[]", name="preferred_provinces_known"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    identity_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("returnee_identities.id", ondelete="CASCADE"), unique=True
    )
    age_band: Mapped[AgeBand] = mapped_column(pg_enum(AgeBand, "age_band"))
    sex: Mapped[Sex] = mapped_column(SEX_ENUM)
    province: Mapped[Province] = mapped_column(PROVINCE_ENUM)
    return_month: Mapped[date] = mapped_column(Date)
    education_level: Mapped[EducationLevel] = mapped_column(pg_enum(EducationLevel, "education_level"))
    available_from: Mapped[date] = mapped_column(Date)
    preferred_provinces: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    certifications: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    searchable: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = created_at_column()


class ProfileSkill(Base):
    __tablename__ = "profile_skills"

    profile_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("returnee_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    skill_code: Mapped[str] = mapped_column(Text, ForeignKey("skills.code"), primary_key=True, index=True)


class ProfileExperience(Base):
    __tablename__ = "profile_experience"
    __table_args__ = (CheckConstraint("years BETWEEN 0 AND 60", name="years_in_range"),)

    profile_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("returnee_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    occupation_code: Mapped[str] = mapped_column(Text, ForeignKey("occupations.code"), primary_key=True)
    abroad: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    sector: Mapped[Sector | None] = mapped_column(SECTOR_ENUM)
    years: Mapped[int] = mapped_column(Integer)
