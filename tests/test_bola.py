"""The BOLA probe: every query and mutation that takes an id, called by employer B with each of employer A's ids.

The schema is walked at run time, so a field added later is probed without anyone editing this file: every
argument or input field of type ID, at any depth of the inputs, receives each of A's object ids (its
employer, vacancies, hire and contact request) while the other required inputs get harmless values of
B's own. No response may hold any of A's data, and A's rows are the same afterwards.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)
from sqlalchemy import text

from db.engine import Database
from resolvers.validation import today_in_cambodia
from schema.common import to_global_id, uuid_of
from schema.root import schema
from tests.factories import Caller, Factory, accepted
from tests.test_contacts import ask
from tests.test_hires import hire
from tests.test_vacancies import CLOSE, create, open_vacancy

GRAPHQL: GraphQLSchema = schema._schema
SELECTION_DEPTH = 4
RESOLVER_REFUSALS = {"BAD_USER_INPUT", "FORBIDDEN", "NOT_FOUND"}
CALLS_PER_TOKEN = 40  # stays well inside the per-client rate limit's burst


def id_slots(arguments: dict[str, GraphQLArgument] | dict[str, GraphQLInputField]) -> Iterator[tuple[str, ...]]:
    """Where an id can go: an argument name, then input-object field names down to an ID."""
    for name, argument in arguments.items():
        named = get_named_type(argument.type)
        if named is GRAPHQL.get_type("ID"):
            yield (name,)
        elif isinstance(named, GraphQLInputObjectType):
            for rest in id_slots(named.fields):
                yield (name, *rest)


def fields_taking_ids() -> Iterator[tuple[str, str, GraphQLField, tuple[str, ...]]]:
    for operation, root in (("query", GRAPHQL.query_type), ("mutation", GRAPHQL.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            for slot in id_slots(field.args):
                yield operation, name, field, slot


def selection(type_: GraphQLNamedType, depth: int, renamed: frozenset[str] = frozenset()) -> str:
    """Every field reachable without required arguments, to a depth: what a curious caller would ask for.

    Fields in `renamed` get an alias: the fragments of an interface's types may not share a name with two types.
    """
    if isinstance(type_, GraphQLInterfaceType):
        possible = GRAPHQL.get_possible_types(type_)
        types_of: dict[str, set[str]] = {}
        for object_type in possible:
            for name, field in object_type.fields.items():
                types_of.setdefault(name, set()).add(str(field.type))
        clashing = frozenset(name for name, types in types_of.items() if len(types) > 1)
        fragments = " ".join(f"... on {t.name} {selection(t, depth, clashing)}" for t in possible)
        return f"{{ __typename {fragments} }}"
    if not isinstance(type_, GraphQLObjectType):
        return ""
    parts = []
    for name, field in type_.fields.items():
        if field.args and depth < SELECTION_DEPTH:  # nested connections: their cost adds nothing to the probe
            continue
        if any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is None for arg in field.args.values()):
            continue
        named = get_named_type(field.type)
        key = f"{type_.name}_{name}: {name}" if name in renamed else name
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            if depth > 1:
                parts.append(f"{key} {selection(named, depth - 1)}")
        else:
            parts.append(key)
    return "{ " + " ".join(parts) + " }" if parts else "{ __typename }"


class Values:
    """Harmless values for the inputs not being probed: B's own objects, today, a valid wage."""

    def __init__(self, neutral_ids: dict[str, str]) -> None:
        self.neutral_ids = neutral_ids

    def of(self, type_: GraphQLInputType, name: str) -> Any:
        if isinstance(type_, GraphQLNonNull):
            return self.of(type_.of_type, name)
        if isinstance(type_, GraphQLList):
            return [self.of(type_.of_type, name)]
        if isinstance(type_, GraphQLEnumType):
            return next(iter(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            return {
                field_name: self.of(field.type, field_name)
                for field_name, field in type_.fields.items()
                if isinstance(field.type, GraphQLNonNull) and field.default_value is None
            }
        return {
            "ID": self.neutral_ids.get(name, self.neutral_ids["id"]),
            "String": "probe",
            "Int": 1,
            "Float": 1.0,
            "Boolean": True,
            "Date": today_in_cambodia().isoformat(),
            "DateTime": datetime.now(UTC).isoformat(),
            "Decimal": "300.00",
        }[type_.name]

    def arguments(self, field: GraphQLField, slot: tuple[str, ...], probe: str) -> dict[str, Any]:
        values = {
            name: self.of(argument.type, name)
            for name, argument in field.args.items()
            if isinstance(argument.type, GraphQLNonNull) or name == slot[0]
        }
        target, type_ = values, field.args[slot[0]].type
        for i, key in enumerate(slot[:-1]):
            named = get_named_type(type_)
            assert isinstance(named, GraphQLInputObjectType)
            if not isinstance(target.get(key), dict):
                target[key] = self.of(named, key)
            target, type_ = target[key], named.fields[slot[i + 1]].type
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        target[slot[-1]] = [probe] if isinstance(inner, GraphQLList) else probe
        return values


def document(operation: str, name: str, field: GraphQLField, arguments: dict[str, Any]) -> str:
    declared = ", ".join(f"${arg}: {field.args[arg].type}" for arg in arguments)
    passed = ", ".join(f"{arg}: ${arg}" for arg in arguments)
    return f"{operation}({declared}) {{ {name}({passed}) {selection(get_named_type(field.type), SELECTION_DEPTH)} }}"


@dataclass
class Victim:
    employer_id: uuid.UUID
    ids: dict[str, str]
    secrets: set[str]


async def employer_a(make: Factory) -> tuple[Caller, Victim]:
    """A's whole estate: a vacancy it hired on and asked for contact through, then closed, and a draft.

    A keeps no OPEN vacancy, so nothing of A is public: not even its name."""
    a = await make.employer_caller(name="Alpha Secret Garments Co., Ltd.")
    assert a.employer is not None
    vacancy = await open_vacancy(make, a, title="Alpha covert line", description="Alpha private notes")
    request = await ask(make, a, vacancy, await make.profile(), message="Alpha private message")
    hired = await hire(make, a, vacancy, await make.profile(), nssfNumber="9876543210")
    draft = await create(make, a, title="Alpha unannounced plan")
    await accepted(make, a, CLOSE, {"id": vacancy["id"]})
    ids = {
        "employer": to_global_id("Employer", a.employer.id),
        "vacancy": vacancy["id"],
        "draft": draft["id"],
        "hire": hired["id"],
        "contactRequest": request["id"],
    }
    raw = {str(a.employer.id)} | {str(uuid_of(gid, gid_type(name))) for name, gid in ids.items() if name != "employer"}
    secrets = {
        "Alpha",  # every name, title and message of A's starts with it
        "9876543210",
        a.employer.registration_number,
        a.client_id,
        *raw,
    }
    return a, Victim(a.employer.id, ids, secrets)


def gid_type(name: str) -> str:
    return {"vacancy": "Vacancy", "draft": "Vacancy", "hire": "Hire", "contactRequest": "ContactRequest"}[name]


async def snapshot(db: Database, employer_id: uuid.UUID) -> list[Any]:
    """A's rows as the system sees them, and how many audit events there are."""
    found: list[Any] = []
    async with db.read() as session:
        for sql in (
            "SELECT * FROM employers WHERE id = :e",
            "SELECT * FROM vacancies WHERE employer_id = :e ORDER BY id",
            "SELECT s.* FROM vacancy_skills s JOIN vacancies v ON v.id = s.vacancy_id WHERE v.employer_id = :e"
            " ORDER BY 1, 2",
            "SELECT * FROM contact_requests WHERE employer_id = :e ORDER BY id",
            "SELECT * FROM hires WHERE employer_id = :e ORDER BY id",
            "SELECT count(*) FROM audit_events",
        ):
            found += [tuple(row) for row in (await session.execute(text(sql), {"e": employer_id})).all()]
    return found


def leaks(body: dict[str, Any], victim: Victim, probe: str) -> list[str]:
    """A's data found in a response; an error message that only repeats the id B sent is not a leak."""
    data = json.dumps(body.get("data"), ensure_ascii=False)
    errors = json.dumps(body.get("errors", []), ensure_ascii=False).replace(probe, "")
    return sorted(secret for secret in victim.secrets | set(victim.ids.values()) if secret in data or secret in errors)


async def test_employer_b_gets_nothing_of_employer_as_through_any_id_taking_field_and_changes_nothing(
    make: Factory, db: Database
) -> None:
    _, victim = await employer_a(make)
    b = await make.employer_caller(name="Bravo Honest Builders Co., Ltd.")
    assert b.employer is not None
    b_vacancy = await open_vacancy(make, b)
    neutral = Values(
        {
            "profileId": to_global_id("ReturneeProfile", await make.profile()),
            "vacancyId": b_vacancy["id"],
            "employerId": to_global_id("Employer", b.employer.id),
            "id": b_vacancy["id"],
            "entityId": b_vacancy["id"],
        }
    )
    before = await snapshot(db, victim.employer_id)
    probes = list(fields_taking_ids())

    found: dict[str, list[str]] = {}
    calls = answered = 0
    for operation, name, field, slot in probes:
        for kind, probe in victim.ids.items():
            if calls % CALLS_PER_TOKEN == 0:
                b = await make.caller(b.employer)
            calls += 1
            arguments = neutral.arguments(field, slot, probe)
            body = await make.graphql(b, document(operation, name, field, arguments), arguments)
            # It ran to a resolver: a clean refusal is fine, a validation failure or a limit would prove nothing.
            assert {e.get("extensions", {}).get("code") for e in body.get("errors", [])} <= RESOLVER_REFUSALS, body
            answered += body.get("data") is not None
            if leaked := leaks(body, victim, probe):
                found[f"{name}({'.'.join(slot)}={kind})"] = leaked

    probed = {name for _, name, _, _ in probes}
    assert {
        "node",
        "hires",
        "contactRequests",
        "vacancies",
        "updateVacancy",
        "publishVacancy",
        "closeVacancy",
    } <= probed
    assert {"recordHire", "endHire", "voidHire", "requestContact", "respondToContactRequest"} <= probed
    assert answered > len(probes)  # most calls answered with data (null objects, userErrors, empty pages)
    assert found == {}
    assert await snapshot(db, victim.employer_id) == before


async def test_the_probe_does_see_as_data_when_a_may_see_it(make: Factory) -> None:
    """The same probe as A itself finds A's data: the probe's detector and selection sets really work."""
    a, victim = await employer_a(make)
    (field,) = [f for op, n, f, _ in fields_taking_ids() if op == "query" and n == "node"]
    arguments = Values({"id": victim.ids["hire"]}).arguments(field, ("id",), victim.ids["hire"])

    body = await make.graphql(a, document("query", "node", field, arguments), arguments)

    assert "9876543210" in leaks(body, victim, "")
