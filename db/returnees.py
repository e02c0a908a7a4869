"""Returnees: the identity no employer ever reads, and the anonymised profile employers search."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, BIT, UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.accounts import PROVINCE_ENUM, SECTOR_ENUM
from db.base import Base, created_at_column, pg_enum, sql_in_list
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex

SEX_ENUM = pg_enum(Sex, "sex")
AGE_BAND_ENUM = pg_enum(AgeBand, "age_band")


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
        Index("ix_returnee_profiles_skill_codes", "skill_codes", postgresql_using="gin"),
        Index("ix_returnee_profiles_occupation_codes", "occupation_codes", postgresql_using="gin"),
        Index("ix_returnee_profiles_preferred_provinces", "preferred_provinces", postgresql_using="gin"),
        Index(
            "ix_returnee_profiles_searchable_province_available",
            "province",
            "available_from",
            "id",
            postgresql_where=text("searchable"),
        ),
        Index("ix_returnee_profiles_searchable_available", "available_from", "id", postgresql_where=text("searchable")),
        Index(
            "ix_returnee_profiles_group",
            "province",
            "return_month",
            "age_band",
            "sex",
            postgresql_where=text("searchable"),
        ),
        CheckConstraint(
            f"preferred_provinces <@ ARRAY[{sql_in_list(Province)}]::text[]", name="preferred_provinces_known"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    identity_id: Mapped[uuid.UUID] = mapped_column(
        UUID, ForeignKey("returnee_identities.id", ondelete="CASCADE"), unique=True
    )
    age_band: Mapped[AgeBand] = mapped_column(AGE_BAND_ENUM)
    sex: Mapped[Sex] = mapped_column(SEX_ENUM)
    province: Mapped[Province] = mapped_column(PROVINCE_ENUM)
    return_month: Mapped[date] = mapped_column(Date)
    education_level: Mapped[EducationLevel] = mapped_column(pg_enum(EducationLevel, "education_level"))
    available_from: Mapped[date] = mapped_column(Date)
    preferred_provinces: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    certifications: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    # Denormalised for search (GIN-indexed); skill and occupation codes are checked against the
    # taxonomy when a profile is written. experience holds the years behind occupation_codes.
    skill_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    occupation_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    experience_sectors: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    searchable: Mapped[bool] = mapped_column(Boolean)
    """The returnee consents to be found by employers; withdrawing consent hides the profile at once."""
    is_available: Mapped[bool] = mapped_column(Boolean, server_default="true")
    """False while the returnee holds an active hire; kept by the hire use cases in their transaction."""
    search_ordinal: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('returnee_profiles_search_ordinal_seq')"), unique=True, index=True
    )
    """The profile's bit in the search bitmaps (migration 0008): dense, assigned at registration."""
    created_at: Mapped[datetime] = created_at_column()


class ProfileGroupCount(Base):
    """How many registered returnees share each (age band, sex, province, return month); kept by a trigger."""

    __tablename__ = "profile_group_counts"
    __table_args__ = (
        CheckConstraint("registered >= 0", name="registered_not_negative"),
        CheckConstraint("disclosure BETWEEN 0 AND 4", name="disclosure_level"),
        # The few groups withholding sex or age band (db.anonymity.WITHOUT_SEX and beyond), which searches
        # filtering on either read at once (db.search._group_shows; migration 0013).
        Index(
            "ix_profile_group_counts_withheld",
            "disclosure",
            postgresql_where=text("disclosure >= 3"),
            postgresql_include=["age_band", "sex", "province", "return_month"],
        ),
    )

    age_band: Mapped[AgeBand] = mapped_column(AGE_BAND_ENUM, primary_key=True)
    sex: Mapped[Sex] = mapped_column(SEX_ENUM, primary_key=True)
    province: Mapped[Province] = mapped_column(PROVINCE_ENUM, primary_key=True)
    return_month: Mapped[date] = mapped_column(Date, primary_key=True)
    registered: Mapped[int] = mapped_column(Integer)
    disclosure: Mapped[int] = mapped_column(SmallInteger)
    """How coarsely this group's profiles are shown (see db/anonymity.py); computed by the trigger."""


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


# One row per (consenting profile, skill it holds), kept by triggers on returnee_profiles (migration 0005).
# Searches by skill read these through the covering index instead of the profiles' wide rows.
profile_postings = Table(
    "profile_postings",
    Base.metadata,
    Column("skill_bit", SmallInteger, nullable=False),
    Column("available_from", Date, nullable=False),
    Column("profile_id", UUID, ForeignKey("returnee_profiles.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("skill_mask", BigInteger, nullable=False),
    Column("occupation_mask", BigInteger, nullable=False),  # by occupations.bit (migration 0012)
    Column("is_available", Boolean, nullable=False),
    Column("province", PROVINCE_ENUM, nullable=False),
    Column("age_band", AGE_BAND_ENUM, nullable=False),
    Column("sex", SEX_ENUM, nullable=False),
    Column("return_month", Date, nullable=False),
    Column("education_level", pg_enum(EducationLevel, "education_level"), nullable=False),
    Column("preferred_mask", Integer, nullable=False),
    Column("sector_mask", SmallInteger, nullable=False),
)
# What a search's filters read of a posting: carried in the indexes, so that searches never visit the heap.
POSTING_FILTERS = [
    "is_available",
    "province",
    "preferred_mask",
    "age_band",
    "sex",
    "return_month",
    "education_level",
    "sector_mask",
]
Index(
    "ix_profile_postings_search",
    profile_postings.c.skill_bit,
    profile_postings.c.available_from.desc(),
    profile_postings.c.profile_id.desc(),
    unique=True,
    postgresql_include=["skill_mask", "occupation_mask", *POSTING_FILTERS],
)

# The every-profile postings in search order by province, by occupation mask and by preferred-provinces mask, with
# what a match score reads: a vacancy's candidates living in its province, with its occupation, willing to work
# there (migration 0012).
MATCH_COLUMNS = ["skill_mask", "occupation_mask", "is_available", "province", "preferred_mask", "sector_mask"]
for _key in ("province", "occupation_mask", "preferred_mask"):
    Index(
        f"ix_profile_postings_{_key.removesuffix('_mask')}",
        profile_postings.c[_key],
        profile_postings.c.available_from.desc(),
        profile_postings.c.profile_id.desc(),
        postgresql_where=profile_postings.c.skill_bit == -1,
        postgresql_include=[c for c in MATCH_COLUMNS if c != _key],
    )

# The occupation masks ("occupation") and preferred-provinces masks ("preferred") the every-profile postings hold,
# kept by a trigger on the postings and never deleted (migration 0012).
profile_masks = Table(
    "profile_masks",
    Base.metadata,
    Column("kind", Text, primary_key=True),
    Column("mask", BigInteger, primary_key=True),
)

# The every-profile postings (skill bit -1) by skill mask, in search order: the profiles holding every skill a
# search asks for, read mask by mask (migration 0011), with the occupation mask a match score reads (0012).
Index(
    "ix_profile_postings_mask",
    profile_postings.c.skill_mask,
    profile_postings.c.available_from.desc(),
    profile_postings.c.profile_id.desc(),
    postgresql_where=profile_postings.c.skill_bit == -1,
    postgresql_include=["occupation_mask", *POSTING_FILTERS],
)

# For each pair of skills (first_bit < second_bit), the skill masks of the profiles holding both, kept by a trigger
# on the postings and never deleted (migration 0011).
skill_masks = Table(
    "skill_masks",
    Base.metadata,
    Column("first_bit", SmallInteger, primary_key=True),
    Column("second_bit", SmallInteger, primary_key=True),
    Column("mask", BigInteger, primary_key=True),
)


# For each searchable thing (a skill, a province, a disclosed age band, a day of availability, …) and each
# 32,768 search ordinals, the bitmap of the consenting profiles that have it; kept by triggers on the profiles
# and the group counts (migration 0008). Exact search totals are ANDs and ORs of these and a popcount.
profile_bitmaps = Table(
    "profile_bitmaps",
    Base.metadata,
    Column("key", Text, primary_key=True),
    Column("chunk", Integer, primary_key=True),
    Column("bits", BIT(varying=True), nullable=False),
)
