"""Seed the skill and ISCO-08 occupation taxonomy, with English and Khmer names.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.taxonomy import OCCUPATIONS, SKILLS

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

occupations = sa.table(
    "occupations",
    sa.column("code", sa.Text),
    sa.column("name", sa.Text),
    sa.column("name_km", sa.Text),
    sa.column("sectors", sa.ARRAY(sa.Text)),
)


def upgrade() -> None:
    op.bulk_insert(
        occupations,
        [{"code": o.code, "name": o.name, "name_km": o.name_km, "sectors": list(o.sectors)} for o in OCCUPATIONS],
    )
    # sector is a native enum column: cast the text, so the seed need not know the type.
    for s in SKILLS:
        op.execute(
            sa.text(
                "INSERT INTO skills (code, name, name_km, sector) VALUES (:code, :name, :name_km, CAST(:sector AS sector))"
            ).bindparams(code=s.code, name=s.name, name_km=s.name_km, sector=s.sector)
        )


def downgrade() -> None:
    op.execute("DELETE FROM skills")
    op.execute("DELETE FROM occupations")
