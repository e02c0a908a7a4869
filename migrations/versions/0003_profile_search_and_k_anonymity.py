"""Profile search columns and indexes, and the k-anonymity group counts a trigger keeps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 23:13:40.776780
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "profile_group_counts",
        sa.Column("age_band", postgresql.ENUM(name="age_band", create_type=False), nullable=False),
        sa.Column("sex", postgresql.ENUM(name="sex", create_type=False), nullable=False),
        sa.Column("province", postgresql.ENUM(name="province", create_type=False), nullable=False),
        sa.Column("return_month", sa.Date(), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("disclosure", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("registered >= 0", name=op.f("ck_profile_group_counts_registered_not_negative")),
        sa.CheckConstraint("disclosure BETWEEN 0 AND 4", name=op.f("ck_profile_group_counts_disclosure_level")),
        sa.PrimaryKeyConstraint("age_band", "sex", "province", "return_month", name=op.f("pk_profile_group_counts")),
    )
    op.drop_index(op.f("ix_profile_skills_skill_code"), table_name="profile_skills")
    op.drop_table("profile_skills")
    op.add_column(
        "returnee_profiles", sa.Column("skill_codes", sa.ARRAY(sa.Text()), server_default="{}", nullable=False)
    )
    op.add_column(
        "returnee_profiles", sa.Column("occupation_codes", sa.ARRAY(sa.Text()), server_default="{}", nullable=False)
    )
    op.add_column(
        "returnee_profiles", sa.Column("experience_sectors", sa.ARRAY(sa.Text()), server_default="{}", nullable=False)
    )
    op.add_column("returnee_profiles", sa.Column("is_available", sa.Boolean(), server_default="true", nullable=False))
    op.create_index(
        "ix_returnee_profiles_occupation_codes",
        "returnee_profiles",
        ["occupation_codes"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_returnee_profiles_preferred_provinces",
        "returnee_profiles",
        ["preferred_provinces"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_returnee_profiles_searchable_available",
        "returnee_profiles",
        ["available_from", "id"],
        unique=False,
        postgresql_where=sa.text("searchable"),
    )
    op.create_index(
        "ix_returnee_profiles_searchable_province_available",
        "returnee_profiles",
        ["province", "available_from", "id"],
        unique=False,
        postgresql_where=sa.text("searchable"),
    )
    op.create_index(
        "ix_returnee_profiles_skill_codes", "returnee_profiles", ["skill_codes"], unique=False, postgresql_using="gin"
    )

    # Counted per statement from the transition tables, so COPY and bulk inserts are counted too. After
    # counting, the disclosure level of every group in the touched (province, year)s is recomputed:
    # 0 month, 1 quarter, 2 year, 3 year without sex, 4 year without sex and age band — the first level
    # at which at least 5 registered returnees share what is shown. Writers lock each touched province
    # in one order, so concurrent registrations wait for each other instead of deadlocking.
    op.execute(
        """
        CREATE FUNCTION count_profile_groups() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            touched text[];
            province_name text;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                SELECT array_agg(DISTINCT province::text || ':' || extract(year FROM return_month)) INTO touched
                FROM old_rows;
            ELSE
                SELECT array_agg(DISTINCT province::text || ':' || extract(year FROM return_month)) INTO touched
                FROM new_rows;
            END IF;
            FOR province_name IN SELECT DISTINCT split_part(t, ':', 1) FROM unnest(touched) t ORDER BY 1 LOOP
                PERFORM pg_advisory_xact_lock(hashtext('profile_group_counts:' || province_name));
            END LOOP;
            IF TG_OP = 'DELETE' THEN
                UPDATE profile_group_counts c SET registered = c.registered - o.n
                FROM (SELECT age_band, sex, province, return_month, count(*) AS n FROM old_rows GROUP BY 1, 2, 3, 4) o
                WHERE (c.age_band, c.sex, c.province, c.return_month)
                    = (o.age_band, o.sex, o.province, o.return_month);
            ELSE
                INSERT INTO profile_group_counts AS c (age_band, sex, province, return_month, registered, disclosure)
                SELECT age_band, sex, province, return_month, count(*), 4 FROM new_rows
                GROUP BY 1, 2, 3, 4
                ON CONFLICT (age_band, sex, province, return_month)
                DO UPDATE SET registered = c.registered + excluded.registered;
            END IF;
            UPDATE profile_group_counts c SET disclosure = l.level
            FROM (
                SELECT age_band, sex, province, return_month,
                    CASE
                        WHEN registered >= 5 THEN 0
                        WHEN sum(registered) OVER (PARTITION BY age_band, sex, province,
                            date_trunc('quarter', return_month)) >= 5 THEN 1
                        WHEN sum(registered) OVER (PARTITION BY age_band, sex, province,
                            date_trunc('year', return_month)) >= 5 THEN 2
                        WHEN sum(registered) OVER (PARTITION BY age_band, province,
                            date_trunc('year', return_month)) >= 5 THEN 3
                        ELSE 4
                    END AS level
                FROM profile_group_counts
                WHERE province::text || ':' || extract(year FROM return_month) = ANY (touched)
            ) l
            WHERE (c.age_band, c.sex, c.province, c.return_month) = (l.age_band, l.sex, l.province, l.return_month)
                AND c.disclosure <> l.level;
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER profile_group_counts_insert AFTER INSERT ON returnee_profiles"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_profile_groups()"
    )
    op.execute(
        "CREATE TRIGGER profile_group_counts_delete AFTER DELETE ON returnee_profiles"
        " REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_profile_groups()"
    )
    # The counts stay true only if a profile's quasi-identifiers never change once registered.
    op.execute(
        """
        CREATE FUNCTION profile_quasi_identifiers_are_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'a profile''s age band, sex, province and return month cannot change'
                USING ERRCODE = 'integrity_constraint_violation';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER profile_quasi_identifiers_fixed BEFORE UPDATE OF age_band, sex, province, return_month"
        " ON returnee_profiles FOR EACH ROW WHEN ((OLD.age_band, OLD.sex, OLD.province, OLD.return_month)"
        " IS DISTINCT FROM (NEW.age_band, NEW.sex, NEW.province, NEW.return_month))"
        " EXECUTE FUNCTION profile_quasi_identifiers_are_fixed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER profile_quasi_identifiers_fixed ON returnee_profiles")
    op.execute("DROP FUNCTION profile_quasi_identifiers_are_fixed()")
    for event in ("insert", "delete"):
        op.execute(f"DROP TRIGGER profile_group_counts_{event} ON returnee_profiles")
    op.execute("DROP FUNCTION count_profile_groups()")
    op.drop_index("ix_returnee_profiles_skill_codes", table_name="returnee_profiles", postgresql_using="gin")
    op.drop_index(
        "ix_returnee_profiles_searchable_province_available",
        table_name="returnee_profiles",
        postgresql_where=sa.text("searchable"),
    )
    op.drop_index(
        "ix_returnee_profiles_searchable_available",
        table_name="returnee_profiles",
        postgresql_where=sa.text("searchable"),
    )
    op.drop_index("ix_returnee_profiles_preferred_provinces", table_name="returnee_profiles", postgresql_using="gin")
    op.drop_index("ix_returnee_profiles_occupation_codes", table_name="returnee_profiles", postgresql_using="gin")
    op.drop_column("returnee_profiles", "is_available")
    op.drop_column("returnee_profiles", "experience_sectors")
    op.drop_column("returnee_profiles", "occupation_codes")
    op.drop_column("returnee_profiles", "skill_codes")
    op.create_table(
        "profile_skills",
        sa.Column("profile_id", sa.UUID(), autoincrement=False, nullable=False),
        sa.Column("skill_code", sa.TEXT(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["returnee_profiles.id"],
            name=op.f("fk_profile_skills_profile_id_returnee_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["skill_code"], ["skills.code"], name=op.f("fk_profile_skills_skill_code_skills")),
        sa.PrimaryKeyConstraint("profile_id", "skill_code", name=op.f("pk_profile_skills")),
    )
    op.create_index(op.f("ix_profile_skills_skill_code"), "profile_skills", ["skill_code"], unique=False)
    op.drop_table("profile_group_counts")
