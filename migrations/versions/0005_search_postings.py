"""Skill postings for candidate search: one narrow row per (consenting profile, skill), kept by triggers.

A search by skills reads only the postings of the skills asked for, through one covering index, instead of
every matching profile's wide row: the filters a search needs most are copied here as small columns and
bit masks (skills, preferred provinces, experience sectors), so counting and ranking are index-only scans.
Each skill gets a fixed bit (skills.bit). A profile appears once per skill it holds, and only while its
returnee consents to be searched; any change to a profile rewrites its postings in the same statement.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The bit of each enum value is its position in the type (db/search.py computes the same from the enums).
POSTINGS_OF = """
    SELECT s.bit AS skill_bit, r.available_from, r.id AS profile_id,
        (SELECT coalesce(bit_or(1::bigint << k.bit), 0) FROM skills k WHERE k.code = ANY (r.skill_codes)) AS skill_mask,
        r.is_available, r.province, r.age_band, r.sex, r.return_month, r.education_level,
        (SELECT coalesce(bit_or(1 << (array_position(enum_range(NULL::province), p::province) - 1)), 0)
            FROM unnest(r.preferred_provinces) p) AS preferred_mask,
        (SELECT coalesce(bit_or(1 << (array_position(enum_range(NULL::sector), x::sector) - 1)), 0)
            FROM unnest(r.experience_sectors) x)::smallint AS sector_mask
    FROM {rows} r {postings}
    WHERE r.searchable
"""
# A profile's postings: one per skill it holds (migration 0009 adds one more, for searches without skills).
SKILL_POSTINGS = "JOIN skills s ON s.code = ANY (r.skill_codes)"
COLUMNS = (
    "skill_bit, available_from, profile_id, skill_mask, is_available, province, age_band, sex, return_month,"
    " education_level, preferred_mask, sector_mask"
)


def upgrade() -> None:
    op.add_column("skills", sa.Column("bit", sa.SmallInteger(), nullable=True))
    op.execute(
        "UPDATE skills SET bit = b.n - 1 FROM (SELECT code, row_number() OVER (ORDER BY code) AS n FROM skills) b WHERE b.code = skills.code"
    )
    op.alter_column("skills", "bit", nullable=False)
    op.create_unique_constraint(op.f("uq_skills_bit"), "skills", ["bit"])
    op.create_check_constraint(op.f("ck_skills_bit_fits_a_bigint"), "skills", "bit BETWEEN 0 AND 62")

    op.create_table(
        "profile_postings",
        sa.Column("skill_bit", sa.SmallInteger(), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("skill_mask", sa.BigInteger(), nullable=False),
        sa.Column("is_available", sa.Boolean(), nullable=False),
        sa.Column("province", postgresql.ENUM(name="province", create_type=False), nullable=False),
        sa.Column("age_band", postgresql.ENUM(name="age_band", create_type=False), nullable=False),
        sa.Column("sex", postgresql.ENUM(name="sex", create_type=False), nullable=False),
        sa.Column("return_month", sa.Date(), nullable=False),
        sa.Column("education_level", postgresql.ENUM(name="education_level", create_type=False), nullable=False),
        sa.Column("preferred_mask", sa.Integer(), nullable=False),
        sa.Column("sector_mask", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["returnee_profiles.id"],
            name=op.f("fk_profile_postings_profile_id_returnee_profiles"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_profile_postings_profile_id"), "profile_postings", ["profile_id"])
    # Posting every profile already registered takes a while on a full registry (about a minute for 750,000).
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute(
        f"INSERT INTO profile_postings ({COLUMNS}) {POSTINGS_OF.format(rows='returnee_profiles', postings=SKILL_POSTINGS)}"
    )
    # In search order, covering what the filters read: counting and ranking never visit the heap.
    op.execute(
        "CREATE UNIQUE INDEX ix_profile_postings_search ON profile_postings"
        " (skill_bit, available_from DESC, profile_id DESC)"
        " INCLUDE (skill_mask, is_available, province, preferred_mask, age_band, sex, return_month, education_level,"
        " sector_mask)"
    )
    posting_function(SKILL_POSTINGS)
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER profile_postings_{event.lower()} AFTER {event} ON returnee_profiles"
            f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION post_profile_skills()"
        )


def posting_function(postings: str, postings_of: str = POSTINGS_OF, columns: str = COLUMNS) -> None:
    """The trigger function that rewrites the postings of the profiles a statement changed (migration 0012 gives
    the postings one more column)."""
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION post_profile_skills() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                DELETE FROM profile_postings WHERE profile_id IN (SELECT id FROM old_rows);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                INSERT INTO profile_postings ({columns}) {postings_of.format(rows="new_rows", postings=postings)};
            END IF;
            RETURN NULL;
        END $$
        """
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER profile_postings_{event} ON returnee_profiles")
    op.execute("DROP FUNCTION post_profile_skills()")
    op.drop_table("profile_postings")
    op.drop_constraint(op.f("ck_skills_bit_fits_a_bigint"), "skills", type_="check")
    op.drop_constraint(op.f("uq_skills_bit"), "skills", type_="unique")
    op.drop_column("skills", "bit")
