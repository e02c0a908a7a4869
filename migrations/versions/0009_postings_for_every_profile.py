"""A posting for every consenting profile, so that searches without skills read the postings too.

A search without skills (by province, sector, age band, availability, schooling) walked the profiles in
availability order and read each candidate's wide heap row to test the filters: page 50 of a selective search
read a few thousand rows (~9 ms at 750,000 profiles). Each consenting profile now also has one posting under
skill bit -1 (db.search.EVERY_PROFILE): the same covering index then answers those searches by an index-only
scan, as it does searches by skill. The same trigger function keeps them, with one more row per profile.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 09:10:00.000000
"""

import importlib
from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

postings = importlib.import_module("migrations.versions.0005_search_postings")

EVERY_PROFILE = -1  # db.search.EVERY_PROFILE
EVERY_PROFILE_POSTING = f"CROSS JOIN (VALUES ({EVERY_PROFILE}::smallint)) s(bit)"
SKILL_AND_EVERY_PROFILE_POSTINGS = (
    f"CROSS JOIN LATERAL (SELECT k.bit FROM skills k WHERE k.code = ANY (r.skill_codes)"
    f" UNION ALL SELECT {EVERY_PROFILE}::smallint) s(bit)"
)


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = 0")  # about 30 s for 750,000 profiles here
    postings.posting_function(SKILL_AND_EVERY_PROFILE_POSTINGS)
    rows = postings.POSTINGS_OF.format(rows="returnee_profiles", postings=EVERY_PROFILE_POSTING)
    op.execute(f"INSERT INTO profile_postings ({postings.COLUMNS}) {rows}")


def downgrade() -> None:
    postings.posting_function(postings.SKILL_POSTINGS)
    op.execute(f"DELETE FROM profile_postings WHERE skill_bit = {EVERY_PROFILE}")
