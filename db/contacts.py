"""Contact requests: an employer asks, for one vacancy, to meet a profile; an officer records the answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, Index, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, created_at_column, pg_enum
from db.enums import ContactRequestStatus


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
