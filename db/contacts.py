"""Contact requests: an employer asks, for one vacancy, to meet a profile; an officer records the answer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Select,
    Text,
    and_,
    case,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, aliased, mapped_column

from db.base import Base, created_at_column, pg_enum, violated_constraint
from db.enums import ContactRequestStatus, Province
from db.returnees import ReturneeIdentity, ReturneeProfile

# How long a returnee has to answer, through their provincial officer.
ANSWER_WITHIN = timedelta(days=14)


class ContactRequest(Base):
    __tablename__ = "contact_requests"
    __table_args__ = (
        ForeignKeyConstraint(
            ["employer_id", "vacancy_id"],
            ["vacancies.employer_id", "vacancies.id"],
            name="fk_contact_requests_employer_vacancy",
        ),
        Index(
            "uq_contact_requests_one_pending_per_vacancy_profile",
            "vacancy_id",
            "profile_id",
            unique=True,
            postgresql_where=text("status = 'PENDING'"),
        ),
        Index("uq_contact_requests_employer_id_idempotency_key", "employer_id", "idempotency_key", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, server_default=func.gen_random_uuid())
    employer_id: Mapped[uuid.UUID] = mapped_column(UUID)
    vacancy_id: Mapped[uuid.UUID] = mapped_column(UUID)
    profile_id: Mapped[uuid.UUID] = mapped_column(UUID, ForeignKey("returnee_profiles.id"), index=True)
    status: Mapped[ContactRequestStatus] = mapped_column(
        pg_enum(ContactRequestStatus, "contact_request_status"),
        server_default=ContactRequestStatus.PENDING.value,
    )
    message: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    responded_by: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text)
    request_digest: Mapped[str | None] = mapped_column(Text)


def _status_now() -> ColumnElement[ContactRequestStatus]:
    """An unanswered request past its expiry is EXPIRED, whether or not the lazy update has marked it yet."""
    overdue = and_(ContactRequest.status == ContactRequestStatus.PENDING, ContactRequest.expires_at < func.now())
    return case((overdue, ContactRequestStatus.EXPIRED), else_=ContactRequest.status)


_requests_now = select(
    *(column for column in ContactRequest.__table__.c if column.key != "status"), _status_now().label("status")
).subquery("contact_requests_now")
CurrentContactRequest = aliased(ContactRequest, _requests_now, name="current", adapt_on_names=True)
"""Contact requests with their status as it stands now: every read goes through this, never the table."""


@dataclass(frozen=True)
class ReturneeContact:
    name: str
    phone: str
    profile_id: uuid.UUID


def readable_contact_requests(
    *, employer_id: uuid.UUID | None = None, province: Province | None = None
) -> Select[ContactRequest]:
    """One employer's requests, the requests for returnees of one province, or every request (neither given)."""
    statement = select(CurrentContactRequest)
    if employer_id is not None:
        statement = statement.where(CurrentContactRequest.employer_id == employer_id)
    if province is not None:
        statement = statement.join(ReturneeProfile, ReturneeProfile.id == CurrentContactRequest.profile_id).where(
            ReturneeProfile.province == province
        )
    return statement


async def expire_overdue(session: AsyncSession) -> None:
    """Mark unanswered requests past their expiry EXPIRED, skipping any that another transaction holds."""
    overdue = (
        select(ContactRequest.id)
        .where(ContactRequest.status == ContactRequestStatus.PENDING, ContactRequest.expires_at < func.now())
        .with_for_update(skip_locked=True)
    )
    await session.execute(
        update(ContactRequest)
        .where(ContactRequest.id.in_(overdue))
        .values(status=ContactRequestStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )


async def earlier_contact_request(session: AsyncSession, employer_id: uuid.UUID, key: str) -> ContactRequest | None:
    """The request an earlier call with this idempotency key made; concurrent retries look one after another."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"contact:{employer_id}:{key}"}
    )
    return await session.scalar(
        select(CurrentContactRequest).where(
            CurrentContactRequest.employer_id == employer_id, CurrentContactRequest.idempotency_key == key
        )
    )


async def insert_contact_request(session: AsyncSession, request: ContactRequest) -> bool:
    """Add `request`; False, with nothing added, when one for the same vacancy and profile is still pending."""
    try:
        async with session.begin_nested():
            session.add(request)
            await session.flush()
    except IntegrityError as error:
        if violated_constraint(error) == "uq_contact_requests_one_pending_per_vacancy_profile":
            return False
        raise
    return True


async def request_to_answer(session: AsyncSession, request_id: uuid.UUID, province: Province) -> ContactRequest | None:
    """The request, locked, if its returnee lives in `province`; one that has run out is marked EXPIRED here."""
    row = (
        await session.execute(
            select(ContactRequest, ContactRequest.expires_at < func.now())
            .join(ReturneeProfile, ReturneeProfile.id == ContactRequest.profile_id)
            .where(ContactRequest.id == request_id, ReturneeProfile.province == province)
            .with_for_update(of=ContactRequest)
        )
    ).first()
    if row is None:
        return None
    request, overdue = row
    if request.status == ContactRequestStatus.PENDING and overdue:
        request.status = ContactRequestStatus.EXPIRED
    return request


def _contact(request_id: uuid.UUID) -> Select[str, str, uuid.UUID]:
    return (
        select(ReturneeIdentity.name, ReturneeIdentity.phone, ContactRequest.profile_id)
        .select_from(ContactRequest)
        .join(ReturneeProfile, ReturneeProfile.id == ContactRequest.profile_id)
        .join(ReturneeIdentity, ReturneeIdentity.id == ReturneeProfile.identity_id)
        .where(ContactRequest.id == request_id)
    )


async def disclosed_contact(
    session: AsyncSession, request_id: uuid.UUID, employer_id: uuid.UUID
) -> ReturneeContact | None:
    """The returnee's name and phone for the employer that made this request, once the returnee accepted it.

    The one place an employer-facing path reads returnee_identities.
    """
    row = (
        await session.execute(
            _contact(request_id).where(
                ContactRequest.employer_id == employer_id, ContactRequest.status == ContactRequestStatus.ACCEPTED
            )
        )
    ).first()
    return ReturneeContact(row.name, row.phone, row.profile_id) if row else None


async def contact_for_ministry(session: AsyncSession, request_id: uuid.UUID) -> ReturneeContact | None:
    row = (await session.execute(_contact(request_id))).first()
    return ReturneeContact(row.name, row.phone, row.profile_id) if row else None
