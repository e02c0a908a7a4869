"""Bad input on /graphql: generated documents and generated variables must never get a 5xx or an unmasked error.

    .venv/bin/python bench/fuzz.py [--examples 3000] [--seed 0]

Two generators, both from the schema the API serves:
  documents: schemathesis' GraphQL cases (schemathesis.graphql.from_file(...).as_strategy), arguments
             written inline: two in three valid against the schema (hypothesis-graphql underneath),
             one in three with one schema violation (a wrong type, a missing argument, ...);
  variables: every root field that takes arguments, as an operation with one variable per argument,
             and hypothesis-generated JSON variables for them: real ids of this employer's and another
             employer's objects, ids of the wrong type, garbage ids, huge and empty strings, NUL bytes,
             Khmer text, out-of-range numbers, impossible dates, odd decimals, nulls, wrong JSON types.
Each request goes as an employer's HR system and as a ministry system. Every answer is checked: no
5xx, JSON, and every error has a message that is not Python's (no traceback, exception name, SQL or
driver text) — a resolver's unexpected exception must read "Unexpected error." (with a request id
when the API gives one). Masked errors are counted too: each is a resolver crashing on input it
should have refused with a userError.

The run here starts `karngar serve` on a fresh database `karngar_fuzz` (KARNGAR_BENCH_DIR, default
./.karngar-bench, or DATABASE_URL's server) and fuzzes it over HTTP; tests/test_fuzz.py runs the same
generators and checks in-process for a few seconds. Exits 1 and prints each finding (the document,
the variables and the answer) when a check fails or a masked error turns up.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import graphql
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MASKED = "Unexpected error."
# What only a Python exception, a driver or the database would write into a message.
LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|site-packages|sqlalchemy|asyncpg|psycopg|\bSQL\b|SELECT |INSERT |UPDATE \w+ SET"
    r"|object has no attribute|not subscriptable|unexpected keyword|positional argument|NoneType"
    r"|\b(Key|Value|Type|Attribute|Index|Assertion|Runtime|ZeroDivision|Overflow|Recursion|Unicode\w*)Error\b"
    r"|Exception\b|invalid input syntax|violates|constraint|duplicate key|out of range for type",
)
STRANGE_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "សូមស្វាគមន៍",
    "'; DROP TABLE hires; --",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "\u202e\ufeff",
    "\ud7ff\ue000",
    "1e309",
    "-0",
    "null",
)


@dataclass(frozen=True)
class Ids:
    """Global ids worth trying: the caller's own objects, another employer's, and well-formed nonsense."""

    own: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    codes: tuple[str, ...] = ("8153", "7112", "6111", "textile.single-needle-sewing", "construction.masonry")


def served_schema() -> graphql.GraphQLSchema:
    """The schema exactly as the code builds it (not the committed SDL, which may lag behind)."""
    from schema.root import schema_sdl

    return graphql.build_schema(schema_sdl())


def _global_id(type_name: str, raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(f"{type_name}:{raw}".encode()).decode().rstrip("=")


def scalar_values(name: str, ids: Ids, loose: bool) -> st.SearchStrategy[Any]:
    typed: dict[str, st.SearchStrategy[Any]] = {
        "ID": id_values(ids),
        "String": string_values(ids),
        "Int": st.one_of(
            st.integers(min_value=-5, max_value=200),
            st.integers(min_value=-(2**31), max_value=2**31 - 1),
            st.sampled_from([0, -1, 100, 101, 10_000, 10_001, 2**31 - 1, -(2**31)]),
        ),
        "Float": st.floats(allow_nan=False, allow_infinity=False),
        "Boolean": st.booleans(),
        "Date": dates(),
        "DateTime": datetimes(),
        "Decimal": decimals(),
    }
    wrong: dict[str, st.SearchStrategy[Any]] = {
        "ID": st.integers(),
        "String": st.integers(),
        "Int": st.one_of(st.sampled_from([2**31, -(2**31) - 1, 2**63]), st.floats(), st.text(max_size=5)),
        "Float": st.text(max_size=5),
        "Boolean": st.sampled_from(["true", 0]),
        "Date": st.one_of(st.sampled_from(BAD_DATES), st.integers(), st.text(max_size=12)),
        "DateTime": st.one_of(st.sampled_from(BAD_DATETIMES), st.text(max_size=30)),
        "Decimal": st.one_of(st.sampled_from(["", " 1", "1,5", "abc"]), st.text(max_size=12)),
    }
    strategy = typed.get(name, st.text(max_size=20))
    return st.one_of(strategy, wrong.get(name, st.integers())) if loose else strategy


def id_values(ids: Ids) -> st.SearchStrategy[Any]:
    known = [*ids.own, *ids.others]
    forged = [
        _global_id("Vacancy", "not-a-uuid"),
        _global_id("Hire", "00000000-0000-0000-0000-000000000000"),
        _global_id("Nope", "00000000-0000-0000-0000-000000000000"),
        _global_id("Vacancy", "1' OR '1'='1"),
        "VmFjYW5jeTo",  # "Vacancy:" and nothing after it
        "!!!",
        "=" * 8,
    ]
    return st.one_of(
        *( [st.sampled_from(known)] if known else [] ),
        st.sampled_from(forged),
        st.text(max_size=40),
        st.builds(_global_id, st.sampled_from(["Vacancy", "Hire", "Employer", "ReturneeProfile", "ContactRequest", "AuditEvent"]), st.uuids().map(str)),
    )  # fmt: skip


def string_values(ids: Ids) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=60),
        st.sampled_from(STRANGE_STRINGS),
        st.sampled_from(ids.codes),
    )


BAD_DATES = ("2026-02-30", "0000-01-01", "99999-01-01", "2026-13-01", "yesterday", "", "2026-1-1")
BAD_DATETIMES = ("2026-11-27T25:00:00", "2026-11-27T10:00:00+99:00", "now", "")


def dates() -> st.SearchStrategy[str]:
    today = date.today()
    return st.one_of(
        st.dates(min_value=today - timedelta(days=120), max_value=today + timedelta(days=120)),
        st.dates(),
    ).map(date.isoformat)


def datetimes() -> st.SearchStrategy[str]:
    return st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=7)), None])).map(datetime.isoformat)


def decimals() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=100_000).map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(["250.00", "0", "-1", "1e400", "1E-400", "NaN", "sNaN", "-Infinity", "9" * 60, "0.001"]),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def input_values(
    type_: graphql.GraphQLInputType, ids: Ids, *, loose: bool, depth: int = 0, nullable: bool = True
) -> st.SearchStrategy[Any]:
    """JSON values for a GraphQL input type, strange where it matters.

    Well-typed unless `loose`: then a value may also be of the wrong JSON type, an unknown enum value,
    a malformed date or a null for a required variable, which GraphQL itself must refuse readably."""
    if isinstance(type_, graphql.GraphQLNonNull):
        inner = input_values(type_.of_type, ids, loose=loose, depth=depth, nullable=False)
        return st.one_of(inner, st.none()) if loose and depth == 0 else inner
    base: st.SearchStrategy[Any]
    if isinstance(type_, graphql.GraphQLList):
        base = st.lists(input_values(type_.of_type, ids, loose=loose, depth=depth + 1), max_size=4)
    elif isinstance(type_, graphql.GraphQLInputObjectType):
        if depth > 3:
            return st.none()
        required, optional = {}, {}
        for name, field_ in type_.fields.items():
            values = input_values(field_.type, ids, loose=loose, depth=depth + 1)
            if isinstance(field_.type, graphql.GraphQLNonNull) and field_.default_value is graphql.Undefined:
                required[name] = values
            else:
                optional[name] = values
        base = st.fixed_dictionaries(required, optional=optional)
        if loose:
            base = st.one_of(base, base.map(lambda d: {**d, "unknownField": 1}))  # type: ignore[misc]
    elif isinstance(type_, graphql.GraphQLEnumType):
        base = st.sampled_from(list(type_.values))
        if loose:
            base = st.one_of(base, st.sampled_from(["", "open", "NOT_A_VALUE"]))
    else:
        base = scalar_values(type_.name, ids, loose)
    return st.one_of(st.none(), base) if nullable else base


def selection(type_: graphql.GraphQLOutputType, depth: int = 0) -> str:
    """A selection set for a result type: its scalar fields, and fields of argument-free objects a few levels down."""
    named = graphql.get_named_type(type_)
    if isinstance(named, graphql.GraphQLScalarType | graphql.GraphQLEnumType):
        return ""
    if isinstance(named, graphql.GraphQLUnionType):
        return "{ __typename }"
    assert isinstance(named, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType)
    parts = ["__typename"]
    for name, field_ in named.fields.items():
        if any(isinstance(a.type, graphql.GraphQLNonNull) for a in field_.args.values()):
            continue
        inner = graphql.get_named_type(field_.type)
        if isinstance(inner, graphql.GraphQLScalarType | graphql.GraphQLEnumType):
            parts.append(name)
        elif depth < 3 and not field_.args:
            parts.append(f"{name} {selection(field_.type, depth + 1)}")
    return "{ " + " ".join(parts) + " }"


@dataclass(frozen=True)
class Operation:
    field: str
    document: str
    arguments: dict[str, graphql.GraphQLArgument]


def operations(schema: graphql.GraphQLSchema) -> list[Operation]:
    """Every root field with arguments, as a document taking one variable per argument."""
    found = []
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field_ in root.fields.items():
            if not field_.args:
                continue
            definitions = ", ".join(f"${a}: {arg.type}" for a, arg in field_.args.items())
            arguments = ", ".join(f"{a}: ${a}" for a in field_.args)
            document = f"{kind} Fuzz({definitions}) {{ {name}({arguments}) {selection(field_.type)} }}"
            found.append(Operation(name, document, dict(field_.args)))
    return found


def variable_requests(schema: graphql.GraphQLSchema, ids: Ids) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(document, variables) pairs for every root field that takes arguments."""

    def variables_for(operation: Operation, loose: bool) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        values = {name: input_values(arg.type, ids, loose=loose) for name, arg in operation.arguments.items()}
        return st.tuples(st.just(operation.document), st.fixed_dictionaries(values))

    # One request in five may carry values of the wrong type; the others reach the resolvers.

    return st.tuples(st.sampled_from(operations(schema)), st.sampled_from([False] * 4 + [True])).flatmap(
        lambda chosen: variables_for(*chosen)
    )


def document_requests(schema: graphql.GraphQLSchema) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """Whole documents from schemathesis' GraphQL support, arguments inline and no variables: valid ones
    (hypothesis-graphql underneath) and, one in three, documents with one schema violation each."""
    import schemathesis
    from schemathesis.generation import GenerationMode

    def value(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[graphql.ValueNode]:
        return strategy.map(lambda v: graphql.StringValueNode(value=str(v)))

    schemathesis.graphql.scalar("Date", value(dates()))
    schemathesis.graphql.scalar("DateTime", value(datetimes()))
    schemathesis.graphql.scalar("Decimal", value(decimals()))
    loaded = schemathesis.graphql.from_file(graphql.print_schema(schema))
    cases = st.one_of(
        loaded.as_strategy(GenerationMode.POSITIVE),
        loaded.as_strategy(GenerationMode.POSITIVE),
        loaded.as_strategy(GenerationMode.NEGATIVE),
    )
    return cases.map(lambda case: (str(case.body), {}))


def findings(status: int, text: str) -> list[str]:
    """What is wrong with one answer: a 5xx, a body that is not JSON, or an error that is not fit to show."""
    if status >= 500:
        return [f"HTTP {status}"]
    try:
        body = json.loads(text)
    except ValueError:
        return [] if status in (401, 403, 405, 413, 415, 429) else [f"HTTP {status} with a body that is not JSON"]
    if not isinstance(body, dict):
        return [f"HTTP {status} with a JSON body that is not an object"]
    problems = []
    for error in body.get("errors") or []:
        message = error.get("message") if isinstance(error, dict) else None
        if not isinstance(message, str) or not message.strip():
            problems.append(f"an error without a message: {error!r}")
            continue
        extensions = error.get("extensions") or {}
        if LEAKS.search(message) or any(k in extensions for k in ("exception", "stacktrace", "traceback")):
            problems.append(f"an unmasked error: {message[:300]!r}")
        if message == MASKED:
            for key, value in extensions.items():
                if "request" in key.lower() and not (isinstance(value, str) and value.strip()):
                    problems.append(f"a masked error whose {key} is empty: {error!r}")
    data = body.get("data")
    for result in data.values() if isinstance(data, dict) else ():
        user_errors = result.get("userErrors") if isinstance(result, dict) else None
        for user_error in user_errors or ():
            if LEAKS.search(str(user_error.get("message", ""))):
                problems.append(f"a userError that leaks: {user_error['message'][:300]!r}")
    return problems


def error_messages(text: str) -> list[str]:
    """The answer's error messages, with quoted names and values blanked, to count kinds of errors."""
    try:
        body = json.loads(text)
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        re.sub(r"'[^']*'|\"[^\"]*\"|\$\w+|\d+", "…", str(e.get("message")))[:110]
        for e in errors or []
        if isinstance(e, dict)
    ]


def masked(text: str) -> int:
    """How many errors of this answer are masked (a resolver raised something unexpected)."""
    try:
        body = json.loads(text)
    except ValueError:
        return 0
    errors = body.get("errors") if isinstance(body, dict) else None
    return sum(1 for e in errors or [] if isinstance(e, dict) and e.get("message") == MASKED)


@dataclass
class Tally:
    """What the fuzz sent and what came back."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    with_errors: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    masked: list[tuple[str, str, dict[str, Any], str]] = field(default_factory=list)
    failures: list[tuple[str, str, dict[str, Any], str, list[str]]] = field(default_factory=list)

    def check(self, caller: str, document: str, variables: dict[str, Any], status: int, text: str) -> list[str]:
        self.requests += 1
        self.statuses[status] += 1
        self.with_errors += '"errors"' in text
        self.messages.update(error_messages(text))
        if masked(text):
            self.masked.append((caller, document, variables, text[:500]))
        problems = findings(status, text)
        if problems:
            self.failures.append((caller, document, variables, text[:800], problems))
        return problems

    @property
    def crashes(self) -> list[tuple[str, str, dict[str, Any], str]]:
        """Masked errors: a resolver crashed on input it should have refused readably."""
        return self.masked

    def report(self, out: Callable[[str], None] = print) -> None:
        out(f"requests: {self.requests}; HTTP statuses: {dict(sorted(self.statuses.items()))}")
        out(f"answers with GraphQL errors: {self.with_errors}; masked errors: {len(self.masked)}")
        out("most frequent error messages (variable names and values replaced by …):")
        for message, count in self.messages.most_common(12):
            out(f"  {count:>5}  {message}")
        out(f"findings (5xx, unmasked or empty errors): {len(self.failures)}; masked errors: {len(self.crashes)}")
        for caller, document, variables, text, problems in self.failures[:20]:
            out(f"\n  as {caller}: {'; '.join(problems)}\n  document: {document[:600]}")
            out(f"  variables: {json.dumps(variables, ensure_ascii=False)[:600]}\n  answer: {text}")
        for caller, document, variables, text in self.crashes[:10]:
            out(f"\n  masked, as {caller}\n  document: {document[:600]}")
            out(f"  variables: {json.dumps(variables, ensure_ascii=False)[:600]}\n  answer: {text}")


async def _prepare(base: str, url: str) -> tuple[dict[str, str], Ids]:
    """Tokens for an employer and a ministry system, and ids of both employers' objects."""
    import httpx

    from api.demo import seed
    from bench.common import RECORD_HIRE, client_token, graphql, open_vacancy, unhired_profiles

    credentials = await seed(url)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        tokens = {
            "employer": await client_token(http, credentials["employers"][0]["apiClient"]),
            "other employer": await client_token(http, credentials["employers"][1]["apiClient"]),
            "ministry": await client_token(http, credentials["ministry"]["apiClient"]),
        }
        profiles = await unhired_profiles(url, 4, 3)
        own: list[str] = []
        others: list[str] = []
        for who, mine in (("employer", own), ("other employer", others)):
            vacancy = await open_vacancy(http, tokens[who])
            hire = {
                "vacancyId": vacancy,
                "profileId": profiles.pop(),
                "startDate": date.today().isoformat(),
                "contractType": "FIXED_TERM",
                "monthlyWageUsd": "250.00",
            }
            result = (await graphql(http, tokens[who], RECORD_HIRE, {"input": hire}))["data"]["recordHire"]
            mine += [vacancy, hire["profileId"], result["hire"]["id"]]
    return {k: tokens[k] for k in ("employer", "ministry")}, Ids(own=tuple(own), others=tuple(others))


def main() -> int:
    import argparse
    import asyncio
    import os
    import time

    import httpx
    from hypothesis import HealthCheck, given, seed, settings

    from bench.common import bench_database, serving
    from bench.search import ensure_profiles

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=3000, help="generated requests per caller and generator")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    directory = Path(os.environ.get("KARNGAR_BENCH_DIR", ".karngar-bench")).resolve()
    schema = served_schema()
    tally = Tally()

    async def run(url: str) -> None:
        await ensure_profiles(url, 100)
        async with serving(url, directory / "fuzz-serve.log", workers=2) as base:
            tokens, ids = await _prepare(base, url)
            with httpx.Client(base_url=base, timeout=60) as http:

                def send(caller: str, document: str, variables: dict[str, Any]) -> None:
                    response = http.post(
                        "/graphql",
                        json={"query": document, "variables": variables},
                        headers={"Authorization": f"Bearer {tokens[caller]}"},
                    )
                    tally.check(caller, document, variables, response.status_code, response.text)

                def fuzzer(caller: str, requests: st.SearchStrategy[tuple[str, dict[str, Any]]]) -> Callable[[], None]:
                    @seed(args.seed)
                    @settings(
                        max_examples=args.examples,
                        deadline=None,
                        database=None,
                        suppress_health_check=list(HealthCheck),
                    )
                    @given(request=requests)
                    def fuzz(request: tuple[str, dict[str, Any]]) -> None:
                        send(caller, *request)

                    return fuzz  # type: ignore[no-any-return]

                for name, requests in (
                    ("variables", variable_requests(schema, ids)),
                    ("documents", document_requests(schema)),
                ):
                    for caller in tokens:
                        before, started = tally.requests, time.perf_counter()
                        await asyncio.to_thread(fuzzer(caller, requests))
                        print(
                            f"{name} as {caller}: {tally.requests - before} requests in "
                            f"{time.perf_counter() - started:.0f} s",
                            flush=True,
                        )

    with bench_database(directory, "karngar_fuzz", fresh=True) as (url, _):
        asyncio.run(run(url))
    print()
    tally.report()
    return 1 if tally.failures or tally.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
