"""Placement counts by province, sector and start day and month, kept by triggers; voided hires keep their end date.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONTH = "date_trunc('month', start_date)::date"

# The counts come in two grains: per start date (to bound a range by the day) and per start month (what
# statistics read for every month a range holds whole). Each is fed the same stream of
# (province, sector, start_date, delta): gains are upserted in key order, so concurrent writers lock rows in
# one order; losses update rows that must exist (the CHECK placements >= 0 would refuse an upsert's
# proposed row, and it catches counts that drift from the hires).
GRAINS = (("daily_placement_counts", "start_date", "start_date"), ("monthly_placement_counts", "month", MONTH))
DELTAS = "SELECT province, sector, {grain} AS {key}, sum(delta) AS delta FROM ({rows}) AS d GROUP BY 1, 2, 3"
GAINS = """
    INSERT INTO {table} AS c (province, sector, {key}, placements)
    SELECT province, sector, {key}, delta FROM ({deltas}) AS g WHERE delta > 0 ORDER BY 1, 2, 3
    ON CONFLICT (province, sector, {key}) DO UPDATE SET placements = c.placements + excluded.placements;
"""
LOSSES = """
    UPDATE {table} c SET placements = c.placements + l.delta FROM ({deltas}) AS l
    WHERE l.delta < 0 AND (c.province, c.sector, c.{key}) = (l.province, l.sector, l.{key});
"""
# A hire counts under its vacancy's current province and sector.
ADDED = (
    "SELECT v.province, v.sector, r.start_date, 1 AS delta"
    " FROM new_rows r JOIN vacancies v ON v.id = r.vacancy_id WHERE r.status <> 'VOIDED'"
)
REMOVED = (
    "SELECT v.province, v.sector, r.start_date, -1 AS delta"
    " FROM old_rows r JOIN vacancies v ON v.id = r.vacancy_id WHERE r.status <> 'VOIDED'"
)


def apply(rows: str, *, gains: bool = True, losses: bool = True) -> str:
    statements = []
    for table, key, grain in GRAINS:
        deltas = DELTAS.format(grain=grain, key=key, rows=rows)
        statements += [GAINS.format(table=table, key=key, deltas=deltas)] if gains else []
        statements += [LOSSES.format(table=table, key=key, deltas=deltas)] if losses else []
    return "".join(statements)


def counts_table(name: str, key: sa.Column[object], *checks: sa.CheckConstraint) -> None:
    op.create_table(
        name,
        sa.Column("province", postgresql.ENUM(name="province", create_type=False), nullable=False),
        sa.Column("sector", postgresql.ENUM(name="sector", create_type=False), nullable=False),
        key,
        sa.Column("placements", sa.Integer(), nullable=False),
        sa.CheckConstraint("placements >= 0", name=op.f(f"ck_{name}_placements_not_negative")),
        *checks,
        sa.PrimaryKeyConstraint("province", "sector", key.name, name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    # A voided hire stays in the record as it was, so a hire that had ended keeps its end date.
    op.drop_constraint(op.f("ck_hires_ended_has_a_date"), "hires", type_="check")
    op.create_check_constraint(
        op.f("ck_hires_ended_has_a_date"), "hires", "status = 'VOIDED' OR (status = 'ENDED') = (ended_on IS NOT NULL)"
    )
    counts_table("daily_placement_counts", sa.Column("start_date", sa.Date(), nullable=False))
    counts_table(
        "monthly_placement_counts",
        sa.Column("month", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "month = date_trunc('month', month)::date", name=op.f("ck_monthly_placement_counts_month_is_a_month")
        ),
    )
    # Counted per statement from the transition tables, so COPY and bulk updates are counted too. The
    # counts are written in the hire's own transaction: a placement counts the moment its hire commits.
    op.execute(
        f"""
        CREATE FUNCTION count_placements() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {apply(ADDED, losses=False)}
            ELSIF TG_OP = 'UPDATE' THEN
                {apply(f"{ADDED} UNION ALL {REMOVED}")}
            ELSE
                {apply(REMOVED, gains=False)}
            END IF;
            RETURN NULL;
        END $$
        """
    )
    for event, tables in (
        ("insert", "NEW TABLE AS new_rows"),
        ("update", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("delete", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER placement_counts_{event} AFTER {event.upper()} ON hires"
            f" REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION count_placements()"
        )
    # A vacancy moved to another province takes its placements along. Every hire writer locks the vacancy
    # row before it changes a hire, so no hire can be counted under the province being left.
    moved = (
        "SELECT p.province, p.sector, h.start_date, p.delta FROM hires h"
        " CROSS JOIN (VALUES (OLD.province, OLD.sector, -1), (NEW.province, NEW.sector, 1)) AS p (province, sector, delta)"
        " WHERE h.vacancy_id = NEW.id AND h.status <> 'VOIDED'"
    )
    op.execute(
        f"""
        CREATE FUNCTION move_placements() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {apply(moved)}
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER placement_counts_move AFTER UPDATE OF province, sector ON vacancies FOR EACH ROW"
        " WHEN ((OLD.province, OLD.sector) IS DISTINCT FROM (NEW.province, NEW.sector))"
        " EXECUTE FUNCTION move_placements()"
    )
    for table, key, grain in GRAINS:
        op.execute(
            f"INSERT INTO {table} (province, sector, {key}, placements)"
            f" SELECT province, sector, {grain}, count(*) FROM ("
            "   SELECT v.province, v.sector, h.start_date FROM hires h JOIN vacancies v ON v.id = h.vacancy_id"
            "   WHERE h.status <> 'VOIDED') AS counted"
            " GROUP BY 1, 2, 3"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER placement_counts_move ON vacancies")
    op.execute("DROP FUNCTION move_placements()")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER placement_counts_{event} ON hires")
    op.execute("DROP FUNCTION count_placements()")
    op.drop_table("monthly_placement_counts")
    op.drop_table("daily_placement_counts")
    op.drop_constraint(op.f("ck_hires_ended_has_a_date"), "hires", type_="check")
    # Voided hires that had ended lose their end date, as the earlier rule demands.
    op.execute("UPDATE hires SET ended_on = NULL WHERE status = 'VOIDED'")
    op.create_check_constraint(
        op.f("ck_hires_ended_has_a_date"), "hires", "(status = 'ENDED') = (ended_on IS NOT NULL)"
    )
