"""The skill masks profiles hold, so that a search's all-skills level reads only the profiles holding them all.

A search by two or three skills lists first the profiles holding every one of them. It read the postings of the
rarest skill in availability order until a page of those was found: when few hold them all under the search's
filters, that was every posting of the skill (~45,000 at 750,000 profiles, 5-11 ms). Profiles holding every skill
asked for are exactly those whose skill mask contains them all, and few distinct masks do (40 to 131 for the
slowest searches of bench/search.py, of ~38,500 masks in all): `skill_masks` lists, for each pair of skills, the
masks that hold both (kept by a trigger on the postings, never deleted: a mask no profile holds any more only costs
a look), and a partial index reads the every-profile postings (skill bit -1, migration 0009) by mask, in
availability order.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 12:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "karngar_app"  # db.caller.APP_ROLE: it reads the masks and never writes them (as migration 0007)
EVERY_PROFILE = -1  # db.search.EVERY_PROFILE
# A profile's posting under each skill it holds carries its whole mask: two of its postings give a pair of its skills.
MASKS_OF = (
    "SELECT DISTINCT a.skill_bit, b.skill_bit, a.skill_mask FROM {postings} a"
    " JOIN {postings} b ON b.profile_id = a.profile_id AND b.skill_bit > a.skill_bit WHERE a.skill_bit >= 0"
)


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = 0")  # a few seconds for 750,000 profiles here
    op.execute(
        "CREATE TABLE skill_masks (first_bit smallint NOT NULL, second_bit smallint NOT NULL, mask bigint NOT NULL,"
        " CONSTRAINT pk_skill_masks PRIMARY KEY (first_bit, second_bit, mask))"
    )
    op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON skill_masks FROM {APP_ROLE}")
    op.execute(f"INSERT INTO skill_masks (first_bit, second_bit, mask) {MASKS_OF.format(postings='profile_postings')}")
    op.execute(
        "CREATE INDEX ix_profile_postings_mask ON profile_postings (skill_mask, available_from DESC, profile_id DESC)"
        " INCLUDE (is_available, province, preferred_mask, age_band, sex, return_month, education_level, sector_mask)"
        f" WHERE skill_bit = {EVERY_PROFILE}"
    )
    noting_masks("skill_masks", "first_bit, second_bit, mask", MASKS_OF)


def noting_masks(table: str, columns: str, masks_of: str) -> None:
    """A trigger function note_<table>() and its triggers: the postings a statement writes add the masks they hold
    (`masks_of`, formatted with the postings) to `table` (migration 0012 keeps one more table so)."""
    op.execute(
        f"""
        CREATE FUNCTION note_{table}() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            INSERT INTO {table} ({columns}) {masks_of.format(postings="new_postings")}
            ON CONFLICT DO NOTHING;
            RETURN NULL;
        END $$
        """
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER {table}_{event.lower()} AFTER {event} ON profile_postings"
            f" REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION note_{table}()"
        )


def not_noting_masks(table: str) -> None:
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER {table}_{event} ON profile_postings")
    op.execute(f"DROP FUNCTION note_{table}()")


def downgrade() -> None:
    not_noting_masks("skill_masks")
    op.execute("DROP INDEX ix_profile_postings_mask")
    op.execute("DROP TABLE skill_masks")
