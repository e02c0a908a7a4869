"""schema/execution.py's short path for plain scalar fields answers exactly as graphql-core's ordinary path."""

from __future__ import annotations

import asyncio
import datetime
import enum
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from db.enums import AgeBand, Province, Sex
from schema.execution import LeafFieldsFirst
from schema.root import schema as karngar_schema
from tests.factories import Factory


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@strawberry.type
class Thing:
    name: str
    nickname: str | None
    count: int
    ratio: float
    ok: bool
    colour: Colour
    maybe_colour: Colour | None
    day: datetime.date
    key: strawberry.ID


class Source:
    """What a resolver hands to `Thing`: an object whose attributes strawberry reads."""

    def __init__(self, **attributes: Any) -> None:
        defaults = dict(
            name="loom",
            nickname=None,
            count=3,
            ratio=0.5,
            ok=True,
            colour=Colour.RED,
            maybe_colour=None,
            day=date(2026, 11, 27),
            key="k1",
        )
        self.__dict__.update(defaults | attributes)


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


class Unreadable(Source):
    @property
    def name(self) -> str:
        raise RuntimeError("this attribute cannot be read")


def sources() -> list[Source]:
    """Fresh each time (an awaitable attribute can be awaited once): ordinary values, then every way a plain
    field can go wrong or be unusual."""
    return [
        Source(),
        Source(nickname="Noi", maybe_colour=Colour.GREEN, count=-7, ratio=2.0, ok=False, key=12),
        Source(name=None),  # null in a non-null field: the error nulls the whole Thing
        Source(nickname=None, maybe_colour=None),  # null where null is allowed
        Source(colour="purple"),  # not a member of the enum
        Source(count="many", ratio="half"),  # values their scalars refuse
        Source(count=2**40),  # outside GraphQL's Int
        Source(nickname=ValueError("an exception as a value")),
        Source(nickname=_later("awaited")),  # an awaitable attribute: graphql-core awaits it
        Unreadable(),
    ]


@strawberry.type
class Query:
    @strawberry.field
    def things(self) -> list[Thing | None]:
        return sources()  # type: ignore[return-value]

    @strawberry.field
    def thing(self) -> Thing:
        return Source(key="one")  # type: ignore[return-value]


DOCUMENT = """
query Things($withDay: Boolean!, $withoutKey: Boolean!) {
  things {
    __typename name nickname count ratio ok colour maybeColour
    day @include(if: $withDay)
    key @skip(if: $withoutKey)
    alias: name
    ...More
  }
  thing { name again: name colour day }
}
fragment More on Thing { colour count }
"""


class Shout(SchemaExtension):
    """A schema extension with a resolve hook (field middleware): plain fields must go through it too."""

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        value = _next(root, info, *args, **kwargs)
        return value.upper() if isinstance(value, str) else value


def _answer(context_class: type, extensions: list[Any], variables: dict[str, Any]) -> dict[str, Any]:
    schema = strawberry.Schema(query=Query, execution_context_class=context_class, extensions=extensions)
    result = asyncio.run(schema.execute(DOCUMENT, variable_values=variables))
    return {"data": result.data, "errors": sorted((e.formatted for e in result.errors or []), key=str)}


@pytest.mark.parametrize("extensions", [[], [Shout]], ids=["plain", "with-field-middleware"])
@pytest.mark.parametrize("variables", [{"withDay": True, "withoutKey": False}, {"withDay": False, "withoutKey": True}])
def test_every_kind_of_plain_field_answers_as_graphql_core_does(
    extensions: list[Any], variables: dict[str, Any]
) -> None:
    ours = _answer(LeafFieldsFirst, extensions, variables)
    ordinary = _answer(StrawberryGraphQLCoreExecutionContext, extensions, variables)
    assert ours == ordinary
    # The comparison is worth something only if the document met every case it is meant to meet.
    messages = " | ".join(error["message"] for error in ours["errors"]).lower()  # Shout upper-cases the values
    for expected in (
        "Cannot return null for non-nullable field Thing.name",
        "cannot represent value: 'purple'",
        "non-integer value: 'many'",
        "non 32-bit signed integer value",
        "an exception as a value",
        "this attribute cannot be read",
    ):
        assert expected.lower() in messages, messages
    things = ours["data"]["things"]
    assert things[2] is None and things[0]["name"] == ("LOOM" if extensions else "loom")
    assert things[8]["nickname"] == "awaited"  # Shout sees the awaitable, not its string
    assert ("day" in things[0]) == variables["withDay"] and ("key" in things[0]) != variables["withoutKey"]


# --- the real schema ---------------------------------------------------------------------------------------------

SEARCH = """
query Search($filter: ProfileFilter, $first: Int) {
  returneeProfiles(filter: $filter, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor score matchReasons { factor points maxPoints }
      node {
        __typename id ageBand sex province returnedIn isAvailable availableFrom educationLevel languages
        preferredProvinces certifications skills { code name nameKm sector }
        experience { years abroad sector occupation { code name } }
      }
    }
  }
}
"""


@pytest.fixture
def built_infos(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """(type, field) of every resolve-info graphql-core builds while the test runs."""
    built: list[tuple[str, str]] = []
    original = StrawberryGraphQLCoreExecutionContext.build_resolve_info

    def recording(self: Any, field_def: Any, field_nodes: Any, parent_type: Any, path: Any) -> Any:
        built.append((parent_type.name, field_nodes[0].name.value))
        return original(self, field_def, field_nodes, parent_type, path)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "build_resolve_info", recording)
    yield built


async def test_a_search_answers_the_same_both_ways_and_plain_fields_take_the_short_one(
    make: Factory, monkeypatch: pytest.MonkeyPatch, built_infos: list[tuple[str, str]]
) -> None:
    # Profiles with all their fields shown, and rare ones whose sex and age band are withheld (nulls).
    for n in range(6):
        await make.profile(skills=["textile.overlock", "textile.ironing"][: n % 2 + 1], return_month=date(2026, 3, 1))
    await make.profile(
        province=Province.KAMPOT, sex=Sex.MALE, age_band=AgeBand.AGE_55_PLUS, skills=["textile.overlock"]
    )
    employer = await make.employer_caller()
    variables = {"filter": {"skills": ["textile.overlock"], "provinces": ["BATTAMBANG", "KAMPOT"]}, "first": 10}

    ours = await make.graphql(employer, SEARCH, variables)
    assert "errors" not in ours, ours
    assert ("ReturneeProfile", "skills") in built_infos  # a field with a resolver: the ordinary way
    plain = {("ReturneeProfile", f) for f in ("id", "ageBand", "sex", "province", "availableFrom")}
    assert plain.isdisjoint(built_infos), "plain fields took the ordinary path"

    monkeypatch.setattr(karngar_schema, "execution_context_class", StrawberryGraphQLCoreExecutionContext)
    built_infos.clear()
    ordinary = await make.graphql(employer, SEARCH, variables)
    assert plain <= set(built_infos)  # the comparison really ran graphql-core's ordinary path
    assert ours == ordinary
    nodes = [edge["node"] for edge in ours["data"]["returneeProfiles"]["edges"]]
    assert len(nodes) == 7 and any(node["sex"] is None for node in nodes)
