"""Occupations in the postings, and the every-profile postings by province, occupations and preferred provinces.

`Vacancy.matchingProfiles` scored every available profile with anything in common with the vacancy from its wide
row (a parallel scan of the whole registry, 740 ms a page at the median at 750,000 profiles). Every part of the score
can be read from a posting once it carries the profile's occupations: each occupation gets a fixed bit
(occupations.bit, as skills.bit) and each posting an `occupation_mask`. db.search reads a match level by level of
score, each level from the postings that hold its candidates most densely: the postings of the vacancy's skills, and
three new partial indexes of the every-profile postings, by province (those living in the vacancy's province), by
occupation mask and by preferred-provinces mask (those with its occupation, and those willing to work there, read
mask by mask from the masks `profile_masks` lists, kept by a trigger and never deleted, as migration 0011 does for
skill masks).

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
skill_masks = importlib.import_module("migrations.versions.0011_skill_masks")

EVERY_PROFILE = every_profile.EVERY_PROFILE
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
MASK_INDEX = (  # migration 0011's, now with the occupation mask
    "CREATE INDEX ix_profile_postings_mask ON profile_postings (skill_mask, available_from DESC, profile_id DESC)"
    " INCLUDE ({occupation}" + FILTERS + f") WHERE skill_bit = {EVERY_PROFILE}"
)

# The every-profile postings in search order by province, by occupation mask and by preferred-provinces mask, with
# what a match score reads.
BY_PROFILE_COLUMN = [
    ("province", "province", "skill_mask, occupation_mask, is_available, preferred_mask, sector_mask"),
    ("occupation", "occupation_mask", "skill_mask, is_available, province, preferred_mask, sector_mask"),
    ("preferred", "preferred_mask", "skill_mask, occupation_mask, is_available, province, sector_mask"),
]
# The occupation and preferred-provinces masks the every-profile postings hold (never deleted, as skill_masks).
MASKS_OF = (
    f"SELECT DISTINCT 'occupation', occupation_mask FROM {{postings}} WHERE skill_bit = {EVERY_PROFILE}"
    f" UNION SELECT DISTINCT 'preferred', preferred_mask FROM {{postings}} WHERE skill_bit = {EVERY_PROFILE}"
)


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = 0")  # about 105 s for 750,000 profiles here
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
    for name, index in (("search", SEARCH_INDEX), ("mask", MASK_INDEX)):
        op.execute(f"DROP INDEX ix_profile_postings_{name}")
        op.execute(index.format(occupation="occupation_mask, "))
    for name, key, included in BY_PROFILE_COLUMN:
        op.execute(
            f"CREATE INDEX ix_profile_postings_{name} ON profile_postings ({key}, available_from DESC, profile_id DESC)"
            f" INCLUDE ({included}) WHERE skill_bit = {EVERY_PROFILE}"
        )
    postings.posting_function(every_profile.SKILL_AND_EVERY_PROFILE_POSTINGS, POSTINGS_OF, COLUMNS)
    op.execute(
        "CREATE TABLE profile_masks (kind text NOT NULL, mask bigint NOT NULL,"
        " CONSTRAINT pk_profile_masks PRIMARY KEY (kind, mask))"
    )
    # The API's role reads the masks and never writes them (as migration 0011's).
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON profile_masks FROM {skill_masks.APP_ROLE}")
    op.execute(f"INSERT INTO profile_masks (kind, mask) {MASKS_OF.format(postings='profile_postings')}")
    skill_masks.noting_masks("profile_masks", "kind, mask", MASKS_OF)


def downgrade() -> None:
    skill_masks.not_noting_masks("profile_masks")
    op.execute("DROP TABLE profile_masks")
    postings.posting_function(every_profile.SKILL_AND_EVERY_PROFILE_POSTINGS)
    for name, _, _ in BY_PROFILE_COLUMN:
        op.execute(f"DROP INDEX ix_profile_postings_{name}")
    op.drop_column("profile_postings", "occupation_mask")  # and the indexes carrying it
    for index in (SEARCH_INDEX, MASK_INDEX):
        op.execute(index.format(occupation=""))
    op.drop_constraint(op.f("ck_occupations_bit_fits_a_bigint"), "occupations", type_="check")
    op.drop_constraint(op.f("uq_occupations_bit"), "occupations", type_="unique")
    op.drop_column("occupations", "bit")
