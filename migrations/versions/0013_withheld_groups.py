"""The k-anonymity groups that withhold sex or age band, by partial index, for the searches filtering on them.

A search by age band or sex may only match a profile whose group shows that value (db/anonymity.py). It joined
every candidate posting to its group's row in profile_group_counts to read the disclosure level: three buffer
reads a row, a third of the slowest search page of bench/search.py (3.3–3.7 ms, a page by two skills and an age
band). Few groups withhold either (none of ~5,500 at 750,000 profiles, more while a registry is young): the
searches now read those through this index once, into a hash each candidate is looked up in
(db.search._group_shows).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 04:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHOUT_SEX = 3  # db.anonymity.WITHOUT_SEX: this level and the next (WITHOUT_AGE_BAND) withhold something


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_profile_group_counts_withheld ON profile_group_counts (disclosure)"
        f" INCLUDE (age_band, sex, province, return_month) WHERE disclosure >= {WITHOUT_SEX}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_profile_group_counts_withheld")
