"""Token buckets in PostgreSQL, shared by every API process: the rate limit's (KARNGAR_RATE_LIMIT_STORE=postgres)
and the login throttle's. Each operation is one statement on an autocommit connection: one round trip."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Double, Text, func, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class RateLimitBucket(Base):
    """UNLOGGED: a bucket is worth nothing after a crash (it refills within minutes anyway), so its many small
    writes skip the write-ahead log."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_at_least_one"),
        CheckConstraint("refill_per_second > 0", name="refills"),
        {
            "prefixes": ["UNLOGGED"],
            "comment": "Token buckets of the rate limit and the login throttle: "
            "key, tokens left at updated_at, refill rate.",
        },
    )

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    tokens: Mapped[float] = mapped_column(Double, nullable=False)
    capacity: Mapped[float] = mapped_column(Double, nullable=False)
    refill_per_second: Mapped[float] = mapped_column(Double, nullable=False)
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    """Whether the last take found a token (the statement's answer, kept on the row it updates)."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# Insert a full bucket less one token, or refill the existing one by the time elapsed and take a token if there
# is one. The right-hand sides of SET all read the row as it was before the update.
_REFILLED = (
    "least(excluded.capacity, b.tokens + extract(epoch FROM now() - b.updated_at)::float8 * excluded.refill_per_second)"
)
_TAKE = text(f"""
INSERT INTO rate_limit_buckets AS b (key, tokens, capacity, refill_per_second, allowed, updated_at)
SELECT k, c - 1, c, r, true, now()
FROM unnest(CAST(:keys AS text[]), CAST(:capacities AS float8[]), CAST(:rates AS float8[])) AS t(k, c, r)
ON CONFLICT (key) DO UPDATE SET
    allowed = {_REFILLED} >= 1,
    tokens = {_REFILLED} - CASE WHEN {_REFILLED} >= 1 THEN 1 ELSE 0 END,
    capacity = excluded.capacity,
    refill_per_second = excluded.refill_per_second,
    updated_at = now()
RETURNING key, tokens, allowed
""")
# A success forgets the account's failures and gives its address back the token the attempt took.
_FORGIVE = text("""
WITH forgotten AS (DELETE FROM rate_limit_buckets WHERE key = :account)
UPDATE rate_limit_buckets SET tokens = least(capacity, tokens + 1) WHERE key = :address
""")
# Buckets that have refilled completely hold no information.
_FORGET_FULL = text("""
DELETE FROM rate_limit_buckets
WHERE tokens + extract(epoch FROM now() - updated_at)::float8 * refill_per_second >= capacity
""")


async def take_tokens(
    connection: AsyncConnection, buckets: list[tuple[str, float, float]]
) -> dict[str, tuple[float, bool]]:
    """One token from each (key, capacity, refill per second) bucket: {key: (tokens left, whether one was
    taken)}. Keys go in a fixed order, so two callers taking the same buckets never deadlock."""
    ordered = sorted(set(buckets))
    parameters = {
        "keys": [key for key, _, _ in ordered],
        "capacities": [capacity for _, capacity, _ in ordered],
        "rates": [rate for _, _, rate in ordered],
    }
    rows = (await connection.execute(_TAKE, parameters)).all()
    return {key: (tokens, allowed) for key, tokens, allowed in rows}


async def forgive(connection: AsyncConnection, account_key: str, address_key: str) -> None:
    await connection.execute(_FORGIVE, {"account": account_key, "address": address_key})


async def forget_full_buckets(connection: AsyncConnection) -> None:
    await connection.execute(_FORGET_FULL)
