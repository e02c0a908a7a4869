"""Token buckets shared by every API process: the rate limit (when KARNGAR_RATE_LIMIT_STORE=postgres) and the
login throttle (always, so that N API processes do not give an attacker N times the guesses).

UNLOGGED: a bucket is worth nothing after a crash (it refills within minutes anyway), so its writes skip the WAL;
fillfactor 70 leaves room on each page for HOT updates (the key, the only indexed column, never changes).
The model and the statements are in db/rate_limits.py.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_limit_buckets (
            key text NOT NULL,
            tokens double precision NOT NULL,
            capacity double precision NOT NULL,
            refill_per_second double precision NOT NULL,
            allowed boolean NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_rate_limit_buckets PRIMARY KEY (key),
            CONSTRAINT ck_rate_limit_buckets_capacity_at_least_one CHECK (capacity >= 1),
            CONSTRAINT ck_rate_limit_buckets_refills CHECK (refill_per_second > 0)
        ) WITH (fillfactor = 70)
        """
    )
    op.execute(
        "COMMENT ON TABLE rate_limit_buckets IS "
        "'Token buckets of the rate limit and the login throttle: key, tokens left at updated_at, refill rate.'"
    )


def downgrade() -> None:
    op.execute("DROP TABLE rate_limit_buckets")
