"""Search bitmaps: exact totals of candidate searches without visiting every match.

A search's totalCount used to count its matches row by row: tens of milliseconds for a common skill, up to
two hundred for a broad search at 750,000 profiles. Now every consenting profile has a dense ordinal, and
for each thing a filter can ask about (a skill, a province, a disclosed age band, a day of availability, …)
one bitmap per 32,768 ordinals holds a 1 for each profile that has it. A total is then, chunk by chunk, the
OR of each filter's bitmaps, ANDed together, and a popcount: a few hundred 4 kB bit operations whatever
the number of matches. Statement triggers keep the bitmaps in the same transaction as the profiles, and the
k-anonymity disclosure of age band and sex in step with the group counts, so totals stay exact.

Keys (text): searchable, available (searchable and not hired), province:P, willing:P (preferred provinces),
age:A and sex:S (only while the profile's group shows them), education:E, sector:S, skill:C,
occupation:C, language:L, and availability as days since 2000-01-01 (earlier dates count as day 0) in
tiers d1:n, d8:n/8, d64:n/64 and d512:n/512, so "available by" is the OR of a handful of tiers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "karngar_app"  # db.caller.APP_ROLE
# One bitmap per CHUNK_BITS ordinals (tests/test_search_bitmaps.py decodes them with the same number); days
# count from 2000-01-01, db.search.DAY_ZERO.
CHUNK_BITS = 32768
# The bitmaps' writers take the audit chain's lock (db.audit.AUDIT_CHAIN_LOCK): every profile change is
# audited in its transaction anyway, and one lock taken in one order cannot deadlock.
AUDIT_CHAIN_LOCK = 0x6B61726E

# What a profile is found by, one key per SELECT over r (the profile), g (its group's count) and d.n (its day).
KEYS = (
    "SELECT 'searchable'",
    "SELECT 'available' WHERE r.is_available",
    "SELECT 'province:' || r.province",
    "SELECT 'education:' || r.education_level",
    "SELECT 'age:' || r.age_band WHERE g.disclosure < 4",
    "SELECT 'sex:' || r.sex WHERE g.disclosure < 3",
    "SELECT 'd1:' || d.n",
    "SELECT 'd8:' || d.n / 8",
    "SELECT 'd64:' || d.n / 64",
    "SELECT 'd512:' || d.n / 512",
    "SELECT 'willing:' || p FROM unnest(r.preferred_provinces) p",
    "SELECT 'sector:' || s FROM unnest(r.experience_sectors) s",
    "SELECT 'skill:' || s FROM unnest(r.skill_codes) s",
    "SELECT 'occupation:' || o FROM unnest(r.occupation_codes) o",
    "SELECT 'language:' || l FROM unnest(r.languages) l",
)


def keys_of(rows: str, keys: Sequence[str] = KEYS) -> str:
    """The (ordinal, key) pairs of the profiles in `rows`: nothing for a profile that is not searchable."""
    return f"""
    SELECT r.search_ordinal AS ordinal, k.key
    FROM {rows} r
    LEFT JOIN profile_group_counts g
        ON (g.age_band, g.sex, g.province, g.return_month) = (r.age_band, r.sex, r.province, r.return_month)
    CROSS JOIN LATERAL (SELECT greatest(r.available_from - DATE '2000-01-01', 0) AS n) d
    CROSS JOIN LATERAL ({" UNION ALL ".join(keys)}) k(key)
    WHERE r.searchable
"""


NOTHING = "SELECT NULL::bigint AS ordinal, NULL::text AS key WHERE false"

# Follows CTEs `added` and `cleared` ((ordinal, key) relations): sets the bits of the one and clears those
# of the other, writing one new bitmap per (key, chunk) touched, read and written under the lock above.
APPLY = f"""
    changes AS (
        SELECT key, ordinal / {CHUNK_BITS} AS chunk, (ordinal % {CHUNK_BITS})::int AS pos, true AS on_ FROM added
        UNION ALL
        SELECT key, ordinal / {CHUNK_BITS}, (ordinal % {CHUNK_BITS})::int, false FROM cleared
    ), deltas AS (
        SELECT key, chunk,
            search_bitmap(array_agg(pos) FILTER (WHERE on_)) AS set_bits,
            search_bitmap(array_agg(pos) FILTER (WHERE NOT on_)) AS clear_bits
        FROM changes GROUP BY key, chunk
    )
    INSERT INTO profile_bitmaps AS b (key, chunk, bits)
    SELECT d.key, d.chunk, (coalesce(c.bits, 0::bit({CHUNK_BITS})) & ~d.clear_bits) | d.set_bits
    FROM deltas d LEFT JOIN profile_bitmaps c ON (c.key, c.chunk) = (d.key, d.chunk)
    ORDER BY d.key, d.chunk
    ON CONFLICT (key, chunk) DO UPDATE SET bits = excluded.bits
"""


def upgrade() -> None:
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute("CREATE SEQUENCE returnee_profiles_search_ordinal_seq AS bigint")
    # A volatile default fills every existing row while the table is rewritten; no trigger fires.
    op.add_column(
        "returnee_profiles",
        sa.Column(
            "search_ordinal",
            sa.BigInteger(),
            server_default=sa.text("nextval('returnee_profiles_search_ordinal_seq')"),
            nullable=False,
        ),
    )
    op.execute("ALTER SEQUENCE returnee_profiles_search_ordinal_seq OWNED BY returnee_profiles.search_ordinal")
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE returnee_profiles_search_ordinal_seq TO {APP_ROLE}")
    op.create_index(op.f("ix_returnee_profiles_search_ordinal"), "returnee_profiles", ["search_ordinal"], unique=True)
    # The profiles of a k-anonymity group, for when the group's disclosure changes.
    op.create_index(
        "ix_returnee_profiles_group",
        "returnee_profiles",
        ["province", "return_month", "age_band", "sex"],
        postgresql_where=sa.text("searchable"),
    )
    op.create_table(
        "profile_bitmaps",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("bits", postgresql.BIT(varying=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "chunk", name=op.f("pk_profile_bitmaps")),
    )
    # Each row is rewritten whole: room on its page for the new version (a HOT update).
    op.execute("ALTER TABLE profile_bitmaps SET (fillfactor = 50)")
    # 4 kB rows stay in the heap page, uncompressed: a count reads them with no TOAST lookups.
    op.execute("ALTER TABLE profile_bitmaps ALTER COLUMN bits SET STORAGE PLAIN")
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON profile_bitmaps FROM {APP_ROLE}")

    op.execute(
        f"""
        CREATE FUNCTION search_bitmap(positions int[]) RETURNS bit varying
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            bits bit varying := 0::bit({CHUNK_BITS});
            p int;
        BEGIN
            IF positions IS NULL THEN
                RETURN bits;
            END IF;
            IF cardinality(positions) < 256 THEN
                FOREACH p IN ARRAY positions LOOP
                    bits := set_bit(bits, p, 1);
                END LOOP;
                RETURN bits;
            END IF;
            -- Many bits (bulk loads): byte by byte, as one hex string.
            SELECT ('x' || string_agg(lpad(to_hex(coalesce(b.v, 0)), 2, '0'), '' ORDER BY s))::bit({CHUNK_BITS})
            INTO bits
            FROM generate_series(0, {CHUNK_BITS // 8 - 1}) s
            LEFT JOIN (SELECT q / 8 AS byte, bit_or(128 >> (q % 8)) AS v FROM unnest(positions) q GROUP BY 1) b
                ON b.byte = s;
            RETURN bits;
        END $$
        """
    )
    bitmap_function(schema)
    _statement_triggers("returnee_profiles", "profile_bitmaps", "keep_profile_bitmaps", ("INSERT", "UPDATE", "DELETE"))
    # A group's disclosure decides whether its profiles' age band and sex can be filtered on: when it
    # changes (or the group is new), those two keys are set anew for every profile of the group.
    shows = "age_band, sex, province, return_month, disclosure < 4 AS shows_age, disclosure < 3 AS shows_sex"
    disclose = f"""
        members AS (
            SELECT r.search_ordinal, r.age_band, r.sex, c.shows_age, c.shows_sex FROM changed c
            JOIN returnee_profiles r
                ON (r.province, r.return_month, r.age_band, r.sex) = (c.province, c.return_month, c.age_band, c.sex)
            WHERE r.searchable
        ),
        keys AS (
            SELECT m.search_ordinal AS ordinal, x.key, x.shown FROM members m
            CROSS JOIN LATERAL (VALUES ('age:' || m.age_band, m.shows_age), ('sex:' || m.sex, m.shows_sex)) x(key, shown)
        ),
        added AS (SELECT ordinal, key FROM keys WHERE shown),
        cleared AS (SELECT ordinal, key FROM keys WHERE NOT shown),
        {APPLY}
    """
    # (Transition tables have no statistics: a join of old and new rows would be planned as a nested loop
    # over thousands of groups in a bulk load; EXCEPT is hashed.)
    _locked_trigger_function(
        "disclose_in_profile_bitmaps",
        schema,
        f"""
        IF TG_OP = 'INSERT' THEN
            WITH changed AS (SELECT {shows} FROM new_rows), {disclose};
        ELSE
            WITH changed AS (SELECT {shows} FROM new_rows EXCEPT SELECT {shows} FROM old_rows), {disclose};
        END IF;
        """,
    )
    _statement_triggers(
        "profile_group_counts", "profile_bitmaps_disclosure", "disclose_in_profile_bitmaps", ("INSERT", "UPDATE")
    )

    # Every profile registered before this migration (about 25 s for 750,000 here).
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute(
        f"""
        WITH added AS ({keys_of("returnee_profiles")}), cleared AS ({NOTHING}), {APPLY}
        """
    )


def bitmap_function(schema: str, keys: Sequence[str] = KEYS) -> None:
    """The trigger function that sets and clears the bits of the profiles a statement changed."""
    _locked_trigger_function(
        "keep_profile_bitmaps",
        schema,
        f"""
        IF TG_OP = 'INSERT' THEN
            WITH added AS ({keys_of("new_rows", keys)}), cleared AS ({NOTHING}), {APPLY};
        ELSIF TG_OP = 'DELETE' THEN
            WITH added AS ({NOTHING}), cleared AS ({keys_of("old_rows", keys)}), {APPLY};
        ELSE
            WITH old_keys AS ({keys_of("old_rows", keys)}),
                 new_keys AS ({keys_of("new_rows", keys)}),
                 added AS (SELECT * FROM new_keys EXCEPT SELECT * FROM old_keys),
                 cleared AS (SELECT * FROM old_keys EXCEPT SELECT * FROM new_keys),
                 {APPLY};
        END IF;
        """,
    )


def _locked_trigger_function(name: str, schema: str, body: str) -> None:
    """A statement trigger's function running `body` as the migration's owner, under the audit chain's lock."""
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = "{schema}", pg_temp AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock({AUDIT_CHAIN_LOCK});
            {body}
            RETURN NULL;
        END $$
        """
    )


def _statement_triggers(table: str, name: str, function: str, events: tuple[str, ...]) -> None:
    """AFTER … FOR EACH STATEMENT triggers named {name}_{event}, each with its event's transition tables."""
    tables = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }
    for event in events:
        op.execute(
            f"CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON {table}"
            f" REFERENCING {tables[event]} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def downgrade() -> None:
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER profile_bitmaps_disclosure_{event} ON profile_group_counts")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER profile_bitmaps_{event} ON returnee_profiles")
    op.execute("DROP FUNCTION disclose_in_profile_bitmaps()")
    op.execute("DROP FUNCTION keep_profile_bitmaps()")
    op.execute("DROP FUNCTION search_bitmap(int[])")
    op.drop_table("profile_bitmaps")
    op.drop_index("ix_returnee_profiles_group", table_name="returnee_profiles")
    op.drop_index(op.f("ix_returnee_profiles_search_ordinal"), table_name="returnee_profiles")
    op.drop_column("returnee_profiles", "search_ordinal")
