"""The append-only audit trail: one event per change, chained by SHA-256 so tampering shows."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Select, Text, func, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.pagination import InvalidCursor, Page

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
    (event,) = await append_audit_events(session, actor, [Change(action, entity_type, entity_id, change)])
    return event


@dataclass(frozen=True)
class Change:
    """What one audit event records: the action, the entity it changed, and the change itself."""

    action: str
    entity_type: str
    entity_id: uuid.UUID | str
    change: dict[str, Any]


async def append_audit_events(session: AsyncSession, actor: Actor, changes: Sequence[Change]) -> list[AuditEvent]:
    """Append one event per change to the chain, in order, inside the caller's transaction: one lock, one read of the
    chain's head and one insert however many."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_CHAIN_LOCK})
    head = (
        await session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    ).first()
    seq, previous_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    at = datetime.now(UTC)
    events = []
    for c in changes:
        seq += 1
        event = AuditEvent(
            seq=seq,
            at=at,
            actor=actor.name,
            actor_employer_id=actor.employer_id,
            action=c.action,
            entity_type=c.entity_type,
            entity_id=str(c.entity_id),
            digest=hashlib.sha256(canonical_json(c.change)).hexdigest(),
            previous_hash=previous_hash,
        )
        event.hash = previous_hash = event_hash(event)
        events.append(event)
    session.add_all(events)
    await session.flush()
    return events


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    events_checked: int
    first_broken_seq: int | None


async def verify_chain(session: AsyncSession, *, batch_size: int = 1000) -> ChainVerification:
    """Recompute the whole chain in seq order, streamed in batches, and name the first seq that breaks it.

    A row changed in place fails its own hash; a row changed and re-hashed breaks the next row's link;
    a removed row leaves a gap, named by the missing seq. Removing the newest events leaves no trace in
    the chain itself: compare eventsChecked and the newest hash with a copy kept elsewhere.
    """
    expected_seq, previous_hash, checked, broken = 1, GENESIS_HASH, 0, None
    events = await session.stream_scalars(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    )
    async for event in events:
        checked += 1
        if broken is None and event.seq != expected_seq:
            broken = expected_seq
        elif broken is None and (event.previous_hash != previous_hash or event.hash != event_hash(event)):
            broken = event.seq
        expected_seq, previous_hash = event.seq + 1, event.hash
    return ChainVerification(ok=broken is None, events_checked=checked, first_broken_seq=broken)


def audit_events_matching(
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
) -> Select[AuditEvent]:
    """Events about one entity and/or by one actor, from `at_from` (inclusive) to `at_to` (exclusive)."""
    statement = select(AuditEvent)
    if entity_type is not None:
        statement = statement.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        statement = statement.where(AuditEvent.entity_id == entity_id)
    if actor is not None:
        statement = statement.where(AuditEvent.actor == actor)
    if at_from is not None:
        statement = statement.where(AuditEvent.at >= at_from)
    if at_to is not None:
        statement = statement.where(AuditEvent.at < at_to)
    return statement


def encode_seq_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_seq_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "seq" or not number.isdigit():
            raise ValueError(raw)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not one this API returned.") from exc


async def newest_events_first(
    session: AsyncSession, statement: Select[AuditEvent], *, first: int, after: str | None
) -> Page[AuditEvent]:
    """One page of `statement` by seq, newest first; seq is the chain's own order, so it is the keyset."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    paged = statement if after is None else statement.where(AuditEvent.seq < decode_seq_cursor(after))
    rows = list((await session.scalars(paged.order_by(AuditEvent.seq.desc()).limit(first + 1))).all())
    visible = rows[:first]
    return Page(
        rows=visible,
        cursors=[encode_seq_cursor(e.seq) for e in visible],
        has_next=len(rows) > first,
        has_previous=after is not None,
        total=total or 0,
    )
