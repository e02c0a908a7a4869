"""The committed SDL is what the code serves, and what the code serves keeps the shared contract."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
)

from schema.root import SCHEMA_FILE, schema, schema_sdl

CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "CONTRACT.graphql"

# What this API implements so far; each later issue adds its part of the contract here.
IMPLEMENTED_TYPES = {
    "Node",
    "PageInfo",
    "Sector",
    "Province",
    "AgeBand",
    "Sex",
    "EducationLevel",
    "ContractType",
    "Benefit",
    "VacancyStatus",
    "Role",
    "UserErrorCode",
    "UserError",
    "Skill",
    "Occupation",
    "Employer",
    "Viewer",
    "Vacancy",
    "VacancyEdge",
    "VacancyConnection",
    "VacancyFilter",
    "CreateVacancyInput",
    "UpdateVacancyInput",
    "VacancyIdInput",
    "VacancyPayload",
    "Query",
    "Mutation",
    "ReturneeProfile",
    "Experience",
    "ReturneeProfileEdge",
    "ReturneeProfileConnection",
    "ProfileFilter",
    "MatchMode",
    "RegisterReturneeInput",
    "ExperienceInput",
    "ReturneeRegistrationPayload",
    "HireStatus",
    "ContactRequestStatus",
    "PlacementDimension",
    "ReturneeContact",
    "ContactRequest",
    "Hire",
    "PlacementCount",
    "PlacementStatistics",
    "AuditEvent",
    "AuditVerification",
    "ContactRequestEdge",
    "ContactRequestConnection",
    "HireEdge",
    "HireConnection",
    "AuditEventEdge",
    "AuditEventConnection",
    "ContactRequestFilter",
    "HireFilter",
    "PlacementFilter",
    "AuditEventFilter",
    "RequestContactInput",
    "RespondToContactRequestInput",
    "RecordHireInput",
    "EndHireInput",
    "VoidHireInput",
    "ContactRequestPayload",
    "HirePayload",
}
NOT_YET: set[str] = set()


def _contract():  # type: ignore[no-untyped-def]
    text = CONTRACT.read_text(encoding="utf-8")  # shared/ lies beside the checkout
    return build_schema(text)


def test_the_committed_schema_is_what_the_code_serves() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), "run `karngar export-schema` and commit it"


def test_every_implemented_part_of_the_contract_exists_with_the_same_type() -> None:
    contract = _contract()
    ours = schema._schema
    missing: list[str] = []
    for name in sorted(IMPLEMENTED_TYPES):
        theirs, mine = contract.type_map[name], ours.type_map.get(name)
        if mine is None:
            missing.append(f"type {name}")
            continue
        if isinstance(theirs, GraphQLEnumType):
            missing += [f"{name}.{v}" for v in theirs.values if v not in mine.values]  # type: ignore[union-attr]
            continue
        assert isinstance(theirs, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType)
        for field_name, field in theirs.fields.items():
            path = f"{name}.{field_name}"
            if path in NOT_YET:
                continue
            my_field = mine.fields.get(field_name)  # type: ignore[union-attr]
            if my_field is None or str(my_field.type) != str(field.type):
                missing.append(f"{path}: {field.type} (ours: {my_field.type if my_field else 'absent'})")
                continue
            for arg_name, arg in getattr(field, "args", {}).items():
                my_arg = my_field.args.get(arg_name)
                if my_arg is None or str(my_arg.type) != str(arg.type):
                    missing.append(f"{path}({arg_name}: {arg.type})")
        if isinstance(theirs, GraphQLObjectType):
            mine_interfaces = {i.name for i in mine.interfaces}  # type: ignore[union-attr]
            missing += [f"{name} implements {i.name}" for i in theirs.interfaces if i.name not in mine_interfaces]
    assert missing == []


def test_nothing_not_yet_implemented_is_published_as_if_it_were() -> None:
    ours = schema._schema
    published = {
        f"{t}.{f}"
        for t in ("Query", "Mutation", "Vacancy")
        for f in ours.type_map[t].fields  # type: ignore[union-attr]
    }
    assert published & NOT_YET == set()
