"""Keyset pagination over (created_at, id), newest first, with opaque cursors."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total: int


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment.astimezone(UTC), uuid.UUID(row_id)
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:  # uuid.UUID(5): AttributeError
        raise InvalidCursor("The cursor is not one this API returned.") from exc


async def newest_first(
    session: AsyncSession,
    statement: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    first: int,
    after: str | None,
) -> Page[Any]:
    """One page of `statement`, ordered newest first; stable under inserts because it seeks by key."""
    total = await session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    paged = statement
    if after is not None:
        after_created, after_id = decode_cursor(after)
        paged = paged.where(tuple_(created_at, row_id) < tuple_(after_created, after_id))
    paged = paged.order_by(created_at.desc(), row_id.desc()).limit(first + 1)
    rows: Sequence[Any] = (await session.scalars(paged)).all()
    visible = list(rows[:first])
    return Page(
        rows=visible,
        cursors=[encode_cursor(getattr(r, created_at.key), getattr(r, row_id.key)) for r in visible],
        has_next=len(rows) > first,
        has_previous=after is not None,
        total=total or 0,
    )
