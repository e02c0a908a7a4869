"""Keyset pagination over (created_at, id), newest first, with opaque cursors."""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

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


def _newest(created_at: InstrumentedAttribute[datetime], row_id: InstrumentedAttribute[uuid.UUID]) -> tuple[Any, Any]:
    return created_at.desc(), row_id.desc()


def _after(
    statement: Select[Any],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    after: str | None,
) -> Select[Any]:
    """`statement` narrowed to the rows that come after the cursor `after`, newest first (all rows without one)."""
    if after is None:
        return statement
    after_created, after_id = decode_cursor(after)
    return statement.where(tuple_(created_at, row_id) < tuple_(after_created, after_id))


def _page(
    rows: Sequence[T],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    first: int,
    after: str | None,
    total: int,
) -> Page[T]:
    """The page of `rows`, read newest first one more than `first`: the extra row only says a next page exists."""
    visible = list(rows[:first])
    return Page(
        rows=visible,
        cursors=[encode_cursor(getattr(r, created_at.key), getattr(r, row_id.key)) for r in visible],
        has_next=len(rows) > first,
        has_previous=after is not None,
        total=total,
    )


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
    paged = _after(statement, created_at, row_id, after).order_by(*_newest(created_at, row_id)).limit(first + 1)
    rows: Sequence[Any] = (await session.scalars(paged)).all()
    return _page(rows, created_at, row_id, first=first, after=after, total=total or 0)


async def newest_first_by_group(
    session: AsyncSession,
    statement: Select[Any],
    group: InstrumentedAttribute[uuid.UUID],
    keys: Sequence[uuid.UUID],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[uuid.UUID],
    *,
    first: int,
    after: str | None,
) -> dict[uuid.UUID, Page[Any]]:
    """For each key, the page `newest_first` gives of `statement` narrowed to `group == key`, in two statements.

    One counts every group's rows; the other numbers each group's rows after the cursor newest first and keeps
    the first `first + 1` of each, so a nested list costs the same for one parent as for a page of them.
    """
    statement = statement.where(group.in_(keys)).order_by(None)
    paged = _after(statement, created_at, row_id, after)  # a cursor that is not ours costs no statement
    counted = await session.execute(statement.with_only_columns(group, func.count()).group_by(group))
    totals: dict[uuid.UUID, int] = {key: rows for key, rows in counted}
    position = func.row_number().over(partition_by=group, order_by=_newest(created_at, row_id))
    ranked = paged.add_columns(position.label("position")).subquery()
    row = aliased(created_at.class_, ranked)
    rows = await session.scalars(select(row).where(ranked.c.position <= first + 1).order_by(ranked.c.position))
    by_group: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in rows:
        by_group[getattr(r, group.key)].append(r)
    return {
        key: _page(by_group[key], created_at, row_id, first=first, after=after, total=totals.get(key, 0))
        for key in keys
    }
