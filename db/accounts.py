"""Employers, the people and HR systems that act for them or for the ministry, and web sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column, pg_enum
from db.enums import EmployerStatus, Province, Role, Sector

PROVINCE_ENUM = pg_enum(Province, "province")
SECTOR_ENUM = pg_enum(Sector, "sector")
ROLE_ENUM = pg_enum(Role, "role")
MINISTRY_SCOPES = ("ministry:audit", "returnees:write")


class Employer(Base):
    __tablename__ = "employers"
    __table_args__ = (
        CheckConstraint(
            "(sector = 'TEXTILE' AND isic_division IN (13, 14, 15))"
            " OR (sector = 'CONSTRUCTION' AND isic_division IN (41, 42, 43))"
            " OR (sector = 'AGRICULTURE' AND isic_division = 1)",
            name="isic_division_matches_sector",
        ),
        CheckConstraint("length(btrim(legal_name)) > 0", name="legal_name_not_blank"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    legal_name: Mapped[str] = mapped_column(Text)
    registration_number: Mapped[str] = mapped_column(Text, unique=True)
    nssf_employer_number: Mapped[str | None] = mapped_column(Text, unique=True)
    sector: Mapped[Sector] = mapped_column(SECTOR_ENUM)
    isic_division: Mapped[int] = mapped_column(SmallInteger)
    province: Mapped[Province] = mapped_column(PROVINCE_ENUM)
    status: Mapped[EmployerStatus] = mapped_column(
        pg_enum(EmployerStatus, "employer_status"), server_default=EmployerStatus.ACTIVE.value
    )
    created_at: Mapped[datetime] = created_at_column()


class User(Base):
    """A person who logs in to the web client, for one employer or for the ministry."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('EMPLOYER_ADMIN', 'HIRING_MANAGER')) = (employer_id IS NOT NULL)",
            name="employer_roles_belong_to_an_employer",
        ),
        CheckConstraint(
            "(role = 'PROVINCIAL_OFFICER') = (province IS NOT NULL)",
            name="officers_have_a_province",
        ),
        Index("uq_users_lower_username", text("lower(username)"), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    username: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[Role] = mapped_column(ROLE_ENUM)
    employer_id: Mapped[uuid.UUID | None] = mapped_column(UUID, ForeignKey("employers.id"), index=True)
    province: Mapped[Province | None] = mapped_column(PROVINCE_ENUM)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = created_at_column()


class ApiClient(Base):
    """An HR or ministry system that obtains tokens with the OAuth2 client-credentials grant."""

    __tablename__ = "api_clients"
    __table_args__ = (
        CheckConstraint(
            "employer_id IS NULL OR NOT (scopes && ARRAY['ministry:audit', 'returnees:write']::text[])",
            name="ministry_scopes_only_for_the_ministry",
        ),
        CheckConstraint("province IS NULL OR employer_id IS NULL", name="only_ministry_clients_have_a_province"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    client_id: Mapped[str] = mapped_column(Text, unique=True)
    secret_hash: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    employer_id: Mapped[uuid.UUID | None] = mapped_column(UUID, ForeignKey("employers.id"), index=True)
    province: Mapped[Province | None] = mapped_column(PROVINCE_ENUM)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = created_at_column()


class UserSession(Base):
    """A web-client login; the cookie holds a random token whose SHA-256 is stored here."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _not_suspended(employer_id: Any) -> ColumnElement[bool]:
    """Ministry accounts, or accounts of an employer the ministry has not suspended."""
    return or_(employer_id.is_(None), employer_id.in_(select(Employer.id).where(Employer.status == "ACTIVE")))


async def active_api_client(session: AsyncSession, client_id: str) -> ApiClient | None:
    return await session.scalar(
        select(ApiClient).where(
            ApiClient.client_id == client_id, ApiClient.is_active, _not_suspended(ApiClient.employer_id)
        )
    )


async def active_user(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(
        select(User).where(
            func.lower(User.username) == func.lower(username), User.is_active, _not_suspended(User.employer_id)
        )
    )


async def start_session(session: AsyncSession, user_id: uuid.UUID, token_hash: str, expires_at: datetime) -> None:
    # The table stays small without a cleaning job: each login sweeps its user's expired sessions.
    await session.execute(
        delete(UserSession).where(UserSession.user_id == user_id, UserSession.expires_at <= func.now())
    )
    session.add(UserSession(token_hash=token_hash, user_id=user_id, expires_at=expires_at))


async def end_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


async def user_of_session(session: AsyncSession, token_hash: str) -> User | None:
    """The active user behind an unexpired session."""
    return await session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == token_hash,
            UserSession.expires_at > func.now(),
            User.is_active,
            _not_suspended(User.employer_id),
        )
    )
