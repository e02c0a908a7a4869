"""Occupations in the postings, and the every-profile postings by province: vacancy matches read the postings.

`Vacancy.matchingProfiles` scored every available profile with anything in common with the vacancy from its wide
row (a parallel scan of the whole registry, 260-580 ms at 750,000 profiles). Every part of the score can be read
from a posting once it carries the profile's occupations: each occupation gets a fixed bit (occupations.bit, as
skills.bit) and each posting an `occupation_mask`. db.search reads a match level by level of score, each level from
the postings of the vacancy's skills, the every-profile postings, and, for the candidates living in the vacancy's
province (the sparsest and highest-scoring), a new partial index of the every-profile postings by province.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 20:15:00.000000
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

postings = importlib.import_module("migrations.versions.0005_search_postings")
every_profile = importlib.import_module("migrations.versions.0009_postings_for_every_profile")

EVERY_PROFILE = -1  # db.search.EVERY_PROFILE
OCCUPATION_MASK = (
    "(SELECT coalesce(bit_or(1::bigint << o.bit), 0) FROM occupations o WHERE o.code = ANY (r.occupation_codes))"
)
POSTINGS_OF = postings.POSTINGS_OF.replace(
    "r.is_available,", f"{OCCUPATION_MASK} AS occupation_mask,\n        r.is_available,"
)
COLUMNS = postings.COLUMNS.replace("skill_mask,", "skill_mask, occupation_mask,")
FILTERS = "is_available, province, preferred_mask, age_band, sex, return_month, education_level, sector_mask"
SEARCH_INDEX = (
    "CREATE UNIQUE INDEX ix_profile_postings_search ON profile_postings (skill_bit, available_from DESC,"
    " profile_id DESC) INCLUDE (skill_mask, {occupation}" + FILTERS + ")"
)


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = 0")  # about a minute for 750,000 profiles here
    op.add_column("occupations", sa.Column("bit", sa.SmallInteger(), nullable=True))
    op.execute(
        "UPDATE occupations SET bit = b.n - 1"
        " FROM (SELECT code, row_number() OVER (ORDER BY code) AS n FROM occupations) b WHERE b.code = occupations.code"
    )
    op.alter_column("occupations", "bit", nullable=False)
    op.create_unique_constraint(op.f("uq_occupations_bit"), "occupations", ["bit"])
    op.create_check_constraint(op.f("ck_occupations_bit_fits_a_bigint"), "occupations", "bit BETWEEN 0 AND 62")
    op.add_column("profile_postings", sa.Column("occupation_mask", sa.BigInteger(), nullable=True))
    op.execute(
        f"UPDATE profile_postings p SET occupation_mask = {OCCUPATION_MASK}"
        " FROM returnee_profiles r WHERE r.id = p.profile_id"
    )
    op.alter_column("profile_postings", "occupation_mask", nullable=False)
    op.execute("DROP INDEX ix_profile_postings_search")
    op.execute(SEARCH_INDEX.format(occupation="occupation_mask, "))
    op.execute(
        "CREATE INDEX ix_profile_postings_province ON profile_postings (province, available_from DESC, profile_id DESC)"
        " INCLUDE (skill_mask, occupation_mask, is_available, preferred_mask, sector_mask)"
        f" WHERE skill_bit = {EVERY_PROFILE}"
    )
    postings.posting_function(every_profile.SKILL_AND_EVERY_PROFILE_POSTINGS, POSTINGS_OF, COLUMNS)


def downgrade() -> None:
    postings.posting_function(every_profile.SKILL_AND_EVERY_PROFILE_POSTINGS)
    op.execute("DROP INDEX ix_profile_postings_province")
    op.execute("DROP INDEX ix_profile_postings_search")
    op.drop_column("profile_postings", "occupation_mask")
    op.execute(SEARCH_INDEX.format(occupation=""))
    op.drop_constraint(op.f("ck_occupations_bit_fits_a_bigint"), "occupations", type_="check")
    op.drop_constraint(op.f("uq_occupations_bit"), "occupations", type_="unique")
    op.drop_column("occupations", "bit")
