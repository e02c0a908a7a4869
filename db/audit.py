"""The append-only audit trail: one event per change, chained by SHA-256 so tampering shows."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Text, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base

GENESIS_HASH = "0" * 64
# Every writer takes this transaction-scoped lock before reading the chain's head, so
# concurrent transactions append one after another and the sequence has no gaps.
AUDIT_CHAIN_LOCK = 0x6B61726E  # "karn"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("seq > 0", name="seq_positive"),
        CheckConstraint("hash ~ '^[0-9a-f]{64}$' AND previous_hash ~ '^[0-9a-f]{64}$'", name="hashes_are_sha256"),
        Index("ix_audit_events_entity", "entity_type", "entity_id"),
        Index("ix_audit_events_actor", "actor"),
        Index("ix_audit_events_at", "at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    actor_employer_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    action: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the audit trail names it (e.g. "user:alice", "client:hr-1")."""

    name: str
    employer_id: uuid.UUID | None


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(event: AuditEvent) -> str:
    material = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "actor_employer_id": str(event.actor_employer_id) if event.actor_employer_id else None,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "digest": event.digest,
        "previous_hash": event.previous_hash,
    }
    return hashlib.sha256(canonical_json(material)).hexdigest()


async def append_audit_event(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | str,
    change: dict[str, Any],
) -> AuditEvent:
    """Append one event to the chain inside the caller's transaction."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
    head = (
        await session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    ).first()
    event = AuditEvent(
        seq=(head.seq + 1) if head else 1,
        at=datetime.now(UTC),
        actor=actor.name,
        actor_employer_id=actor.employer_id,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        digest=hashlib.sha256(canonical_json(change)).hexdigest(),
        previous_hash=head.hash if head else GENESIS_HASH,
    )
    event.hash = event_hash(event)
    session.add(event)
    await session.flush()
    return event
