"""Row-level security: a second wall behind the resolvers, in PostgreSQL itself.

The API's transactions run as `karngar_app` (db/caller.py), a role that owns no table and has no
BYPASSRLS, with the caller in transaction-local settings. Tables stay owned by the migration role and have
ENABLE + FORCE ROW LEVEL SECURITY, so the policies below bind the owner too (superusers alone bypass them).
They mirror the resolvers' rules: an employer reads its own vacancies and others' OPEN ones, and only its
own contact requests and hires; a provincial officer the contact requests and identities of returnees of
its province; the ministry everything. Returnee identities are never readable by an employer, except the
one whose contact request that returnee ACCEPTED (the disclosure the product exists for). Anonymised
profiles and the taxonomy stay readable by every caller.

The counting triggers run as SECURITY DEFINER with a fixed search_path, so the app role only reads the
count tables; tables later migrations create are granted to it by default privileges.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 03:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "karngar_app"  # db.caller.APP_ROLE; a migration keeps its own copy of what it creates
TENANT_TABLES = ("vacancies", "contact_requests", "hires", "returnee_identities")
# Tables the app role reads and never writes: the taxonomy, accounts (sign-in runs as the system), counts
# that only the triggers keep.
READ_ONLY = (
    "skills",
    "occupations",
    "employers",
    "users",
    "api_clients",
    "profile_group_counts",
    "profile_postings",
    "daily_placement_counts",
    "monthly_placement_counts",
)
NO_ACCESS = ("user_sessions", "alembic_version")
DEFINER_FUNCTIONS = ("count_profile_groups()", "count_placements()", "move_placements()")

# What the policies read: the caller's settings, NULL when unset or empty.
FUNCTIONS = (
    "CREATE FUNCTION karngar_caller() RETURNS text LANGUAGE sql STABLE"
    " AS $$ SELECT NULLIF(current_setting('karngar.caller', true), '') $$",
    "CREATE FUNCTION karngar_employer_id() RETURNS uuid LANGUAGE sql STABLE"
    " AS $$ SELECT NULLIF(current_setting('karngar.employer_id', true), '')::uuid $$",
    "CREATE FUNCTION karngar_province() RETURNS text LANGUAGE sql STABLE"
    " AS $$ SELECT NULLIF(current_setting('karngar.province', true), '') $$",
    # The ministry, or the service itself working as its login role (never while it is the app role).
    "CREATE FUNCTION karngar_sees_all() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT coalesce("
    f"karngar_caller() = 'ministry' OR (karngar_caller() = 'system' AND current_user <> '{APP_ROLE}'), false) $$",
)

OFFICERS_RETURNEE = (
    "karngar_caller() = 'officer' AND EXISTS (SELECT 1 FROM returnee_profiles p"
    " WHERE p.id = contact_requests.profile_id AND p.province::text = karngar_province())"
)
ACCEPTED_BY_CALLER = (
    "karngar_caller() = 'employer' AND EXISTS (SELECT 1 FROM contact_requests c"
    " JOIN returnee_profiles p ON p.id = c.profile_id"
    " WHERE p.identity_id = returnee_identities.id AND c.employer_id = karngar_employer_id()"
    " AND c.status = 'ACCEPTED')"
)
OWN = "employer_id = karngar_employer_id()"
# (table, policy, command, USING, WITH CHECK)
POLICIES = (
    ("vacancies", "vacancies_of_the_caller", "ALL", f"karngar_sees_all() OR {OWN}", None),
    (
        "vacancies",
        "open_vacancies_and_officers",
        "SELECT",
        "(karngar_caller() = 'employer' AND status = 'OPEN') OR karngar_caller() = 'officer'",
        None,
    ),
    ("hires", "hires_of_the_caller", "ALL", f"karngar_sees_all() OR {OWN}", None),
    (
        "contact_requests",
        "contact_requests_of_the_caller",
        "ALL",
        f"karngar_sees_all() OR {OWN} OR ({OFFICERS_RETURNEE})",
        None,
    ),
    (
        "returnee_identities",
        "identities_of_the_callers_province",
        "ALL",
        "karngar_sees_all() OR (karngar_caller() = 'officer' AND province::text = karngar_province())",
        None,
    ),
    ("returnee_identities", "identities_disclosed_to_the_employer", "SELECT", ACCEPTED_BY_CALLER, None),
)


def upgrade() -> None:
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    owner = bind.execute(sa.text("SELECT current_user")).scalar_one()
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
            END IF;
        END $$
        """
    )
    # The login role must be able to switch to the app role (superusers always can).
    if (
        owner != APP_ROLE
        and not bind.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
    ):
        op.execute(f'GRANT {APP_ROLE} TO "{owner}"')

    op.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {APP_ROLE}')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {APP_ROLE}')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {APP_ROLE}')
    for table in READ_ONLY:
        op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {APP_ROLE}")
    for table in NO_ACCESS:
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE ON audit_events FROM {APP_ROLE}")
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}'
    )
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}')

    for function in DEFINER_FUNCTIONS:
        op.execute(f'ALTER FUNCTION {function} SECURITY DEFINER SET search_path = "{schema}", pg_temp')

    for statement in FUNCTIONS:
        op.execute(statement)
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table, name, command, using, check in POLICIES:
        with_check = "" if command == "SELECT" else f" WITH CHECK ({check or using})"
        op.execute(f"CREATE POLICY {name} ON {table} FOR {command} USING ({using}){with_check}")


def downgrade() -> None:
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    for table, name, *_ in POLICIES:
        op.execute(f"DROP POLICY {name} ON {table}")
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION karngar_sees_all(), karngar_caller(), karngar_employer_id(), karngar_province()")
    for function in DEFINER_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON TABLES FROM {APP_ROLE}')
    op.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" REVOKE ALL ON SEQUENCES FROM {APP_ROLE}')
    op.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {APP_ROLE}')
    op.execute(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {APP_ROLE}')
    op.execute(f'REVOKE USAGE ON SCHEMA "{schema}" FROM {APP_ROLE}')
    # The role itself is the cluster's, shared by every database there: it stays.
