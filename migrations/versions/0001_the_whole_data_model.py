"""The whole data model of DESIGN.md, with its constraints in the database itself.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 22:53:00.540578
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ENUMS = {
    "sector": postgresql.ENUM("TEXTILE", "CONSTRUCTION", "AGRICULTURE", name="sector", create_type=False),
    "province": postgresql.ENUM(
        "BANTEAY_MEANCHEY",
        "BATTAMBANG",
        "KAMPONG_CHAM",
        "KAMPONG_CHHNANG",
        "KAMPONG_SPEU",
        "KAMPONG_THOM",
        "KAMPOT",
        "KANDAL",
        "KEP",
        "KOH_KONG",
        "KRATIE",
        "MONDULKIRI",
        "ODDAR_MEANCHEY",
        "PAILIN",
        "PHNOM_PENH",
        "PREAH_SIHANOUK",
        "PREAH_VIHEAR",
        "PREY_VENG",
        "PURSAT",
        "RATANAKIRI",
        "SIEM_REAP",
        "STUNG_TRENG",
        "SVAY_RIENG",
        "TAKEO",
        "TBOUNG_KHMUM",
        name="province",
        create_type=False,
    ),
    "employer_status": postgresql.ENUM("ACTIVE", "SUSPENDED", name="employer_status", create_type=False),
    "sex": postgresql.ENUM("FEMALE", "MALE", name="sex", create_type=False),
    "age_band": postgresql.ENUM(
        "AGE_15_17",
        "AGE_18_24",
        "AGE_25_34",
        "AGE_35_44",
        "AGE_45_54",
        "AGE_55_PLUS",
        name="age_band",
        create_type=False,
    ),
    "education_level": postgresql.ENUM(
        "NONE",
        "PRIMARY",
        "LOWER_SECONDARY",
        "UPPER_SECONDARY",
        "VOCATIONAL",
        "TERTIARY",
        name="education_level",
        create_type=False,
    ),
    "role": postgresql.ENUM(
        "EMPLOYER_ADMIN",
        "HIRING_MANAGER",
        "MINISTRY_AUDITOR",
        "PROVINCIAL_OFFICER",
        name="role",
        create_type=False,
    ),
    "contract_type": postgresql.ENUM("PERMANENT", "FIXED_TERM", "SEASONAL", name="contract_type", create_type=False),
    "vacancy_status": postgresql.ENUM("DRAFT", "OPEN", "FILLED", "CLOSED", name="vacancy_status", create_type=False),
    "contact_request_status": postgresql.ENUM(
        "PENDING", "ACCEPTED", "DECLINED", "EXPIRED", name="contact_request_status", create_type=False
    ),
    "hire_status": postgresql.ENUM("ACTIVE", "ENDED", "VOIDED", name="hire_status", create_type=False),
}


def upgrade() -> None:
    bind = op.get_bind()
    for enum in ENUMS.values():
        enum.create(bind)
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_employer_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Text(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "hash ~ '^[0-9a-f]{64}$' AND previous_hash ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_audit_events_hashes_are_sha256"),
        ),
        sa.CheckConstraint("seq > 0", name=op.f("ck_audit_events_seq_positive")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"], unique=False)
    op.create_index("ix_audit_events_at", "audit_events", ["at"], unique=False)
    op.create_index("ix_audit_events_entity", "audit_events", ["entity_type", "entity_id"], unique=False)
    op.create_table(
        "employers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("legal_name", sa.Text(), nullable=False),
        sa.Column("registration_number", sa.Text(), nullable=False),
        sa.Column("nssf_employer_number", sa.Text(), nullable=True),
        sa.Column("sector", ENUMS["sector"], nullable=False),
        sa.Column("isic_division", sa.SmallInteger(), nullable=False),
        sa.Column("province", ENUMS["province"], nullable=False),
        sa.Column("status", ENUMS["employer_status"], server_default="ACTIVE", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(sector = 'TEXTILE' AND isic_division IN (13, 14, 15)) OR (sector = 'CONSTRUCTION' AND isic_division IN (41, 42, 43)) OR (sector = 'AGRICULTURE' AND isic_division = 1)",
            name=op.f("ck_employers_isic_division_matches_sector"),
        ),
        sa.CheckConstraint("length(btrim(legal_name)) > 0", name=op.f("ck_employers_legal_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employers")),
        sa.UniqueConstraint("nssf_employer_number", name=op.f("uq_employers_nssf_employer_number")),
        sa.UniqueConstraint("registration_number", name=op.f("uq_employers_registration_number")),
    )
    op.create_table(
        "occupations",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_km", sa.Text(), nullable=False),
        sa.Column("sectors", sa.ARRAY(sa.Text()), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{4}$'", name=op.f("ck_occupations_code_is_an_isco_unit_group")),
        sa.CheckConstraint(
            "sectors <@ ARRAY['TEXTILE', 'CONSTRUCTION', 'AGRICULTURE']::text[]",
            name=op.f("ck_occupations_sectors_are_known"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_occupations")),
    )
    op.create_table(
        "returnee_identities",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sex", ENUMS["sex"], nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("national_id", sa.Text(), nullable=True),
        sa.Column("province", ENUMS["province"], nullable=False),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("commune", sa.Text(), nullable=True),
        sa.Column("village", sa.Text(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("consent_to_search", sa.Boolean(), nullable=False),
        sa.Column("consent_recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("registered_by", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_digest", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("phone ~ '^\\+855[0-9]{8,9}$'", name=op.f("ck_returnee_identities_phone_is_cambodian_e164")),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_returnee_identities_name_not_blank")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returnee_identities")),
        sa.UniqueConstraint("national_id", name=op.f("uq_returnee_identities_national_id")),
        sa.UniqueConstraint("phone", name=op.f("uq_returnee_identities_phone")),
        sa.UniqueConstraint("registered_by", "idempotency_key", name="uq_returnee_identities_registered_by_key"),
    )
    op.create_table(
        "skills",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_km", sa.Text(), nullable=False),
        sa.Column("sector", ENUMS["sector"], nullable=True),
        sa.CheckConstraint("code ~ '^[a-z]+\\.[a-z0-9-]+$'", name=op.f("ck_skills_code_is_a_slug")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_skills")),
    )
    op.create_table(
        "api_clients",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("employer_id", sa.UUID(), nullable=True),
        sa.Column("province", ENUMS["province"], nullable=True),
        sa.Column("scopes", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "employer_id IS NULL OR NOT (scopes && ARRAY['ministry:audit', 'returnees:write']::text[])",
            name=op.f("ck_api_clients_ministry_scopes_only_for_the_ministry"),
        ),
        sa.CheckConstraint(
            "province IS NULL OR employer_id IS NULL",
            name=op.f("ck_api_clients_only_ministry_clients_have_a_province"),
        ),
        sa.ForeignKeyConstraint(["employer_id"], ["employers.id"], name=op.f("fk_api_clients_employer_id_employers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_api_clients_client_id")),
    )
    op.create_index(op.f("ix_api_clients_employer_id"), "api_clients", ["employer_id"], unique=False)
    op.create_table(
        "returnee_profiles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("identity_id", sa.UUID(), nullable=False),
        sa.Column("age_band", ENUMS["age_band"], nullable=False),
        sa.Column("sex", ENUMS["sex"], nullable=False),
        sa.Column("province", ENUMS["province"], nullable=False),
        sa.Column("return_month", sa.Date(), nullable=False),
        sa.Column("education_level", ENUMS["education_level"], nullable=False),
        sa.Column("available_from", sa.Date(), nullable=False),
        sa.Column("preferred_provinces", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("certifications", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("languages", sa.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("searchable", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "preferred_provinces <@ ARRAY['BANTEAY_MEANCHEY', 'BATTAMBANG', 'KAMPONG_CHAM', 'KAMPONG_CHHNANG', 'KAMPONG_SPEU', 'KAMPONG_THOM', 'KAMPOT', 'KANDAL', 'KEP', 'KOH_KONG', 'KRATIE', 'MONDULKIRI', 'ODDAR_MEANCHEY', 'PAILIN', 'PHNOM_PENH', 'PREAH_SIHANOUK', 'PREAH_VIHEAR', 'PREY_VENG', 'PURSAT', 'RATANAKIRI', 'SIEM_REAP', 'STUNG_TRENG', 'SVAY_RIENG', 'TAKEO', 'TBOUNG_KHMUM']::text[]",
            name=op.f("ck_returnee_profiles_preferred_provinces_known"),
        ),
        sa.CheckConstraint(
            "return_month = date_trunc('month', return_month)::date",
            name=op.f("ck_returnee_profiles_return_month_is_a_month"),
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["returnee_identities.id"],
            name=op.f("fk_returnee_profiles_identity_id_returnee_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returnee_profiles")),
        sa.UniqueConstraint("identity_id", name=op.f("uq_returnee_profiles_identity_id")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", ENUMS["role"], nullable=False),
        sa.Column("employer_id", sa.UUID(), nullable=True),
        sa.Column("province", ENUMS["province"], nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "(role = 'PROVINCIAL_OFFICER') = (province IS NOT NULL)",
            name=op.f("ck_users_officers_have_a_province"),
        ),
        sa.CheckConstraint(
            "(role IN ('EMPLOYER_ADMIN', 'HIRING_MANAGER')) = (employer_id IS NOT NULL)",
            name=op.f("ck_users_employer_roles_belong_to_an_employer"),
        ),
        sa.ForeignKeyConstraint(["employer_id"], ["employers.id"], name=op.f("fk_users_employer_id_employers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_employer_id"), "users", ["employer_id"], unique=False)
    op.create_index("uq_users_lower_username", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "vacancies",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("employer_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("occupation_code", sa.Text(), nullable=False),
        sa.Column("sector", ENUMS["sector"], nullable=False),
        sa.Column("province", ENUMS["province"], nullable=False),
        sa.Column("workplace_address", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("positions", sa.Integer(), nullable=False),
        sa.Column("positions_filled", sa.Integer(), server_default="0", nullable=False),
        sa.Column("contract_type", ENUMS["contract_type"], nullable=False),
        sa.Column("wage_min_usd", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("wage_max_usd", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("hours_per_week", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("closing_date", sa.Date(), nullable=True),
        sa.Column("benefits", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("status", ENUMS["vacancy_status"], server_default="DRAFT", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_digest", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(status = 'DRAFT') = (published_at IS NULL)", name=op.f("ck_vacancies_published_unless_draft")
        ),
        sa.CheckConstraint(
            "benefits <@ ARRAY['NSSF_OCCUPATIONAL_RISK', 'NSSF_HEALTH_CARE', 'NSSF_PENSION', 'HOUSING', 'TRANSPORT', 'MEALS']::text[]",
            name=op.f("ck_vacancies_benefits_are_known"),
        ),
        sa.CheckConstraint(
            "closing_date IS NULL OR start_date IS NULL OR closing_date >= start_date",
            name=op.f("ck_vacancies_closing_not_before_start"),
        ),
        sa.CheckConstraint(
            "hours_per_week IS NULL OR hours_per_week BETWEEN 1 AND 72",
            name=op.f("ck_vacancies_hours_in_range"),
        ),
        sa.CheckConstraint("length(btrim(title)) > 0", name=op.f("ck_vacancies_title_not_blank")),
        sa.CheckConstraint("positions BETWEEN 1 AND 10000", name=op.f("ck_vacancies_positions_in_range")),
        sa.CheckConstraint("positions_filled BETWEEN 0 AND positions", name=op.f("ck_vacancies_never_overfilled")),
        sa.CheckConstraint(
            "wage_max_usd IS NULL OR wage_max_usd >= wage_min_usd",
            name=op.f("ck_vacancies_wage_range_ordered"),
        ),
        sa.CheckConstraint("wage_min_usd >= 0", name=op.f("ck_vacancies_wage_min_not_negative")),
        sa.ForeignKeyConstraint(["employer_id"], ["employers.id"], name=op.f("fk_vacancies_employer_id_employers")),
        sa.ForeignKeyConstraint(
            ["occupation_code"], ["occupations.code"], name=op.f("fk_vacancies_occupation_code_occupations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vacancies")),
        sa.UniqueConstraint("employer_id", "id", name="uq_vacancies_employer_id_id"),
        sa.UniqueConstraint("employer_id", "idempotency_key", name="uq_vacancies_employer_id_idempotency_key"),
    )
    op.create_index("ix_vacancies_created_at_id", "vacancies", ["created_at", "id"], unique=False)
    op.create_index("ix_vacancies_employer_id_created_at", "vacancies", ["employer_id", "created_at"], unique=False)
    op.create_index("ix_vacancies_status_created_at", "vacancies", ["status", "created_at"], unique=False)
    op.create_table(
        "contact_requests",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("employer_id", sa.UUID(), nullable=False),
        sa.Column("vacancy_id", sa.UUID(), nullable=False),
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("status", ENUMS["contact_request_status"], server_default="PENDING", nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_digest", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["employer_id", "vacancy_id"],
            ["vacancies.employer_id", "vacancies.id"],
            name="fk_contact_requests_employer_vacancy",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["returnee_profiles.id"],
            name=op.f("fk_contact_requests_profile_id_returnee_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_requests")),
    )
    op.create_index(op.f("ix_contact_requests_profile_id"), "contact_requests", ["profile_id"], unique=False)
    op.create_index(
        "uq_contact_requests_employer_id_idempotency_key",
        "contact_requests",
        ["employer_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "uq_contact_requests_one_pending_per_vacancy_profile",
        "contact_requests",
        ["vacancy_id", "profile_id"],
        unique=True,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_table(
        "hires",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("employer_id", sa.UUID(), nullable=False),
        sa.Column("vacancy_id", sa.UUID(), nullable=False),
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("contract_type", ENUMS["contract_type"], nullable=False),
        sa.Column("monthly_wage_usd", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("nssf_number", sa.Text(), nullable=True),
        sa.Column("status", ENUMS["hire_status"], server_default="ACTIVE", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by", sa.Text(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("request_digest", sa.Text(), nullable=True),
        sa.CheckConstraint("(status = 'ENDED') = (ended_on IS NOT NULL)", name=op.f("ck_hires_ended_has_a_date")),
        sa.CheckConstraint(
            "(status = 'VOIDED') = (void_reason IS NOT NULL)", name=op.f("ck_hires_voided_has_a_reason")
        ),
        sa.CheckConstraint("monthly_wage_usd > 0", name=op.f("ck_hires_wage_positive")),
        sa.ForeignKeyConstraint(
            ["employer_id", "vacancy_id"],
            ["vacancies.employer_id", "vacancies.id"],
            name="fk_hires_employer_vacancy",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["returnee_profiles.id"], name=op.f("fk_hires_profile_id_returnee_profiles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hires")),
    )
    op.create_index(op.f("ix_hires_employer_id"), "hires", ["employer_id"], unique=False)
    op.create_index("ix_hires_recorded_at_id", "hires", ["recorded_at", "id"], unique=False)
    op.create_index("ix_hires_vacancy_id_status", "hires", ["vacancy_id", "status"], unique=False)
    op.create_index("uq_hires_employer_id_idempotency_key", "hires", ["employer_id", "idempotency_key"], unique=True)
    op.create_index(
        "uq_hires_one_active_per_profile",
        "hires",
        ["profile_id"],
        unique=True,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_table(
        "profile_experience",
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("occupation_code", sa.Text(), nullable=False),
        sa.Column("abroad", sa.Boolean(), nullable=False),
        sa.Column("sector", ENUMS["sector"], nullable=True),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.CheckConstraint("years BETWEEN 0 AND 60", name=op.f("ck_profile_experience_years_in_range")),
        sa.ForeignKeyConstraint(
            ["occupation_code"],
            ["occupations.code"],
            name=op.f("fk_profile_experience_occupation_code_occupations"),
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["returnee_profiles.id"],
            name=op.f("fk_profile_experience_profile_id_returnee_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", "occupation_code", "abroad", name=op.f("pk_profile_experience")),
    )
    op.create_table(
        "profile_skills",
        sa.Column("profile_id", sa.UUID(), nullable=False),
        sa.Column("skill_code", sa.Text(), nullable=False),
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
    op.create_table(
        "user_sessions",
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "vacancy_skills",
        sa.Column("vacancy_id", sa.UUID(), nullable=False),
        sa.Column("skill_code", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["skill_code"], ["skills.code"], name=op.f("fk_vacancy_skills_skill_code_skills")),
        sa.ForeignKeyConstraint(
            ["vacancy_id"],
            ["vacancies.id"],
            name=op.f("fk_vacancy_skills_vacancy_id_vacancies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vacancy_id", "skill_code", name=op.f("pk_vacancy_skills")),
    )
    op.create_index(op.f("ix_vacancy_skills_skill_code"), "vacancy_skills", ["skill_code"], unique=False)

    # The audit trail is append-only in the database itself, whoever connects.
    op.execute(
        """
        CREATE FUNCTION audit_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events"
        " FOR EACH STATEMENT EXECUTE FUNCTION audit_events_are_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION audit_events_are_append_only()")
    op.drop_index(op.f("ix_vacancy_skills_skill_code"), table_name="vacancy_skills")
    op.drop_table("vacancy_skills")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_index(op.f("ix_profile_skills_skill_code"), table_name="profile_skills")
    op.drop_table("profile_skills")
    op.drop_table("profile_experience")
    op.drop_index("uq_hires_one_active_per_profile", table_name="hires", postgresql_where=sa.text("status = 'ACTIVE'"))
    op.drop_index("uq_hires_employer_id_idempotency_key", table_name="hires")
    op.drop_index("ix_hires_vacancy_id_status", table_name="hires")
    op.drop_index("ix_hires_recorded_at_id", table_name="hires")
    op.drop_index(op.f("ix_hires_employer_id"), table_name="hires")
    op.drop_table("hires")
    op.drop_index(
        "uq_contact_requests_one_pending_per_vacancy_profile",
        table_name="contact_requests",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_index("uq_contact_requests_employer_id_idempotency_key", table_name="contact_requests")
    op.drop_index(op.f("ix_contact_requests_profile_id"), table_name="contact_requests")
    op.drop_table("contact_requests")
    op.drop_index("ix_vacancies_status_created_at", table_name="vacancies")
    op.drop_index("ix_vacancies_employer_id_created_at", table_name="vacancies")
    op.drop_index("ix_vacancies_created_at_id", table_name="vacancies")
    op.drop_table("vacancies")
    op.drop_index("uq_users_lower_username", table_name="users")
    op.drop_index(op.f("ix_users_employer_id"), table_name="users")
    op.drop_table("users")
    op.drop_table("returnee_profiles")
    op.drop_index(op.f("ix_api_clients_employer_id"), table_name="api_clients")
    op.drop_table("api_clients")
    op.drop_table("skills")
    op.drop_table("returnee_identities")
    op.drop_table("occupations")
    op.drop_table("employers")
    op.drop_index("ix_audit_events_entity", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_table("audit_events")
    for enum in ENUMS.values():
        enum.drop(op.get_bind())
