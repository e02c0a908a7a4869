"""Limits on what one GraphQL operation may ask for, refused before any resolver runs.

A public GraphQL endpoint lets a caller write one document that costs the service a thousand requests' work:
deep nesting, hundreds of aliases, thousands of tokens or directives, or nested pages of 100 × 100 rows. Each
limit here is refused with its own `extensions.code` and a message a developer can act on:

- tokens (`TOO_MANY_TOKENS`): the parser's own limit, so an oversized document is not even parsed in full;
- depth, aliases and directives (`QUERY_TOO_DEEP`, `TOO_MANY_ALIASES`, `TOO_MANY_DIRECTIVES`), and circular
  introspection (`CIRCULAR_INTROSPECTION`): one graphql-core validation rule that follows fragment spreads (a
  fragment spread five times counts five times), so the ValidationCache keeps its verdict per document; depth
  counts introspection fields too, and 15 lets GraphiQL's own introspection query (15 deep) through;
- cost (`QUERY_TOO_COSTLY`): the number of objects the response could hold, computed from the document and
  the variables (`first: $n`) just before execution, like GitHub's node limit and Shopify's query cost.

Every response reports `extensions.cost = {requested, actual, limit, remaining}`. The same extension strips
"Did you mean …" suggestions from every error (they let anyone map a schema without introspection) and gives
parse, validation and variable errors a code. `MaskUnexpectedErrors` replaces what a resolver raised
unexpectedly by "Unexpected error." with a request id, and logs the exception under that id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.utilities import get_operation_ast, value_from_ast_untyped
from strawberry.extensions import MaskErrors, SchemaExtension

logger = logging.getLogger("karngar.graphql")

DEFAULT_PAGE_SIZE = 20
# A list of objects that is not a connection (skills, experience, statistics rows) is assumed to hold this many.
LIST_ESTIMATE = 10
# A mutation does more work than reading an object: each top-level mutation field costs this much on its own.
MUTATION_COST = 10

LIMIT_CODES = frozenset(
    {"QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_DIRECTIVES", "CIRCULAR_INTROSPECTION", "TOO_MANY_TOKENS"}
)
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


@dataclass(frozen=True)
class Limits:
    """What one operation may ask for; `KARNGAR_GRAPHQL_*` settings, these defaults otherwise."""

    max_depth: int = 15
    max_aliases: int = 15
    max_tokens: int = 2000
    max_directives: int = 8
    max_cost: int = 10_000

    @classmethod
    def of(cls, context: object) -> Limits:
        settings = getattr(context, "settings", None)
        if settings is None:
            return cls()
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_directives=settings.graphql_max_directives,
            max_cost=settings.graphql_max_cost,
        )


def limit_error(message: str, code: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code})


NUL_MESSAGE = "Text may not contain the NUL character (U+0000)."


def holds_nul(value: Any) -> bool:
    """Whether a variable value (strings, lists, input objects) holds U+0000 anywhere."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(holds_nul(v) for v in value)
    return False


def _label(operation: OperationDefinitionNode) -> str:
    return f"Operation '{operation.name.value}'" if operation.name else "The operation"


# --- depth, aliases and directives: one validation rule ---------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How deep a selection goes, and how many aliases and directives it holds, fragments expanded."""

    depth: int = 0
    aliases: int = 0
    directives: int = 0


class ShapeMeasure:
    """Measures selections; a fragment is measured once and counted at every spread (linear, even when
    fragments spread each other twice over). Unknown or cyclic fragments count nothing: other rules report them."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, Shape] = {}
        self.visiting: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Shape:
        inner = self.selection(operation.selection_set)
        variables = operation.variable_definitions or ()
        own = len(operation.directives or ()) + sum(len(v.directives or ()) for v in variables)
        return Shape(inner.depth, inner.aliases, inner.directives + own)

    def selection(self, selection_set: SelectionSetNode) -> Shape:
        depth = aliases = directives = 0
        for selection in selection_set.selections:
            directives += len(selection.directives or ())
            if isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:
                assert isinstance(selection, FieldNode | InlineFragmentNode)
                inner = self.selection(selection.selection_set) if selection.selection_set else Shape()
            if isinstance(selection, FieldNode):
                depth = max(depth, 1 + inner.depth)
                aliases += 1 if selection.alias else 0
            else:
                depth = max(depth, inner.depth)
            aliases += inner.aliases
            directives += inner.directives
        return Shape(depth, aliases, directives)

    def fragment(self, name: str) -> Shape:
        if name in self.memo:
            return self.memo[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return Shape()
        self.visiting.add(name)
        inner = self.selection(fragment.selection_set)
        self.visiting.discard(name)
        self.memo[name] = Shape(inner.depth, inner.aliases, inner.directives + len(fragment.directives or ()))
        return self.memo[name]


INTROSPECTION_LISTS = frozenset(
    {"types", "fields", "args", "inputFields", "interfaces", "possibleTypes", "enumValues", "directives"}
)


class IntrospectionMeasure:
    """Finds circular introspection: a list field of the introspection types nested inside itself
    (`__schema { types { fields { type { fields { … } } } } }`), which multiplies the answer at every level.
    The standard introspection query of GraphiQL and of code generators never does it."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[tuple[str, frozenset[str], bool], str | None] = {}

    def repeated(self, selection_set: SelectionSetNode, seen: frozenset[str], inside: bool) -> str | None:
        """The first list field found nested inside itself, or None."""
        for selection in selection_set.selections:
            found: str | None = None
            if isinstance(selection, FieldNode):
                name = selection.name.value
                now_inside = inside or name in ("__schema", "__type")
                if now_inside and name in INTROSPECTION_LISTS:
                    if name in seen:
                        return name
                    seen_below = seen | {name}
                else:
                    seen_below = seen
                if selection.selection_set is not None:
                    found = self.repeated(selection.selection_set, seen_below, now_inside)
            elif isinstance(selection, InlineFragmentNode):
                found = self.repeated(selection.selection_set, seen, inside)
            elif isinstance(selection, FragmentSpreadNode):
                found = self.fragment(selection.name.value, seen, inside)
            if found is not None:
                return found
        return None

    def fragment(self, name: str, seen: frozenset[str], inside: bool) -> str | None:
        key = (name, seen, inside)
        if key not in self.memo:
            self.memo[key] = None  # a fragment cycle finds nothing here: NoFragmentCyclesRule reports it
            fragment = self.fragments.get(name)
            if fragment is not None:
                self.memo[key] = self.repeated(fragment.selection_set, seen, inside)
        return self.memo[key]


@cache
def shape_rule(max_depth: int, max_aliases: int, max_directives: int) -> type[ValidationRule]:
    """The validation rule for these limits: one class per set of limits, so ValidationCache keys stay stable."""

    class OperationShapeRule(ValidationRule):
        def enter_document(self, *_: object) -> None:
            definitions = self.context.document.definitions
            fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
            self.measure = ShapeMeasure(fragments)
            self.introspection = IntrospectionMeasure(fragments)

        def enter_string_value(self, node: StringValueNode, *_: object) -> None:
            if "\x00" in node.value:
                self.report_error(limit_error(NUL_MESSAGE, "BAD_USER_INPUT", node))

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: object) -> None:
            label = _label(node)
            try:
                shape = self.measure.operation(node)
                circular = self.introspection.repeated(node.selection_set, frozenset(), False)
            except RecursionError:
                self.report_error(limit_error(f"{label} is nested too deeply to measure.", "QUERY_TOO_DEEP", node))
                return
            if shape.depth > max_depth:
                self.report_error(
                    limit_error(
                        f"{label} is {shape.depth} fields deep; at most {max_depth} are allowed. "
                        "Ask for less nesting, or split it into several operations.",
                        "QUERY_TOO_DEEP",
                        node,
                    )
                )
            if circular is not None:
                self.report_error(
                    limit_error(
                        f"{label} nests the introspection field '{circular}' inside itself, which multiplies the "
                        "answer at every level. Ask for the schema with the standard introspection query.",
                        "CIRCULAR_INTROSPECTION",
                        node,
                    )
                )
            if shape.aliases > max_aliases:
                self.report_error(
                    limit_error(
                        f"{label} uses {shape.aliases} aliases, counting those in fragments at every spread; "
                        f"at most {max_aliases} are allowed.",
                        "TOO_MANY_ALIASES",
                        node,
                    )
                )
            if shape.directives > max_directives:
                self.report_error(
                    limit_error(
                        f"{label} uses {shape.directives} directives, counting those in fragments at every spread; "
                        f"at most {max_directives} are allowed.",
                        "TOO_MANY_DIRECTIVES",
                        node,
                    )
                )

    return OperationShapeRule


# --- cost ---------------------------------------------------------------------------------------------------------


def collect_fields(
    selection_sets: Iterable[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> dict[str, list[FieldNode]]:
    """The fields of these selections by response key, fragments expanded whatever their type condition."""
    fields: dict[str, list[FieldNode]] = {}
    seen: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    walk(fragments[name].selection_set)
                    seen.discard(name)

    for selection_set in selection_sets:
        walk(selection_set)
    return fields


class CostModel:
    """One point per object the response can hold: `first` (or the default page size) for a connection's
    edges, LIST_ESTIMATE for other lists of objects, 1 for a single object, 0 for scalars and introspection,
    plus MUTATION_COST for each mutation. `requested` is the bound before execution, `actual` what came back."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = fragments
        self.variables = dict(variables or {})
        self.variable_defaults = {
            d.variable.name.value: value_from_ast_untyped(d.default_value)
            for d in operation.variable_definitions or ()
            if d.default_value is not None
        }
        self.memo: dict[tuple[str, str, int | None], int] = {}
        self.visiting: set[tuple[str, str, int | None]] = set()

    def root_type(self) -> GraphQLObjectType | None:
        return self.schema.get_root_type(self.operation.operation)

    def mutation_fields(self, selection_sets: Iterable[SelectionSetNode]) -> int:
        if self.operation.operation != OperationType.MUTATION:
            return 0
        return MUTATION_COST * len(collect_fields(selection_sets, self.fragments))

    def requested(self) -> int:
        root = self.root_type()
        if root is None:
            return 0
        selection = self.operation.selection_set
        return self.selection(selection, root, None) + self.mutation_fields([selection])

    def selection(self, selection_set: SelectionSetNode, parent: Any, page: int | None) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection(selection.selection_set, inner or parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, parent, page)
        return total

    def fragment(self, name: str, parent: Any, page: int | None) -> int:
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0
        inner = self.schema.get_type(fragment.type_condition.name.value) or parent
        key = (name, getattr(inner, "name", ""), page)
        if key in self.memo:
            return self.memo[key]
        if key in self.visiting:
            return 0
        self.visiting.add(key)
        self.memo[key] = self.selection(fragment.selection_set, inner, page)
        self.visiting.discard(key)
        return self.memo[key]

    def field(self, node: FieldNode, parent: Any, page: int | None) -> int:
        name = node.name.value
        if node.selection_set is None or name.startswith("__"):
            return 0  # scalars cost nothing; introspection is answered from memory
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or name not in parent.fields:
            return 0  # an unknown field: validation reports it
        definition = parent.fields[name]
        field_type = get_nullable_type(definition.type)
        named = get_named_type(field_type)
        is_connection = (
            "first" in definition.args
            and isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
            and "edges" in named.fields
        )
        inner_page = self.first(node, definition.args["first"].default_value) if is_connection else None
        if not is_list_type(field_type):
            size = 1
        elif page is not None and name in ("edges", "nodes"):
            size = page
        else:
            size = LIST_ESTIMATE
        return size * (1 + self.selection(node.selection_set, named, inner_page))

    def first(self, node: FieldNode, schema_default: Any) -> int:
        value: Any = schema_default
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            if isinstance(argument.value, VariableNode):
                variable = argument.value.name.value
                if variable in self.variables:
                    value = self.variables[variable]
                elif variable in self.variable_defaults:
                    value = self.variable_defaults[variable]
            else:
                value = value_from_ast_untyped(argument.value)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
        return DEFAULT_PAGE_SIZE  # null or absent: the resolvers' default page; anything else fails coercion

    def actual(self, data: object) -> int:
        """Objects actually returned: every JSON object in the response under a selected field."""
        if not isinstance(data, dict):
            return 0
        mutations = MUTATION_COST * len(data) if self.operation.operation == OperationType.MUTATION else 0
        return ResponsePlan([self.operation.selection_set], self.fragments).fields_of(data) + mutations


class ResponsePlan:
    """The keys of a response object that hold objects (introspection aside), each with the plan of what it
    holds; built lazily, once per response path, so counting costs a dict lookup per object returned."""

    def __init__(self, selection_sets: list[SelectionSetNode], fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.composite = [
            (key, [n.selection_set for n in nodes if n.selection_set is not None])
            for key, nodes in collect_fields(selection_sets, fragments).items()
            if not nodes[0].name.value.startswith("__") and any(n.selection_set is not None for n in nodes)
        ]
        self.children: dict[str, ResponsePlan] = {}

    def fields_of(self, value: dict[str, Any]) -> int:
        total = 0
        for key, selection_sets in self.composite:
            item = value.get(key)
            if item is not None:
                if key not in self.children:
                    self.children[key] = ResponsePlan(selection_sets, self.fragments)
                total += self.children[key].objects(item)
        return total

    def objects(self, value: object) -> int:
        if isinstance(value, list):
            return sum(self.objects(item) for item in value)
        if isinstance(value, dict):
            return 1 + self.fields_of(value)
        return 0


# --- the extension ------------------------------------------------------------------------------------------------


def hide_suggestions(errors: Iterable[GraphQLError]) -> None:
    for error in errors:
        if "Did you mean" in error.message:
            error.message = _SUGGESTION.sub("", error.message)


def add_code(error: GraphQLError, code: str) -> None:
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}


def label_parse_error(error: GraphQLError) -> None:
    too_big = "contains more than" in error.message and ("tokens" in error.message or "comments" in error.message)
    add_code(error, "TOO_MANY_TOKENS" if too_big else "GRAPHQL_PARSE_FAILED")


class OperationLimits(SchemaExtension):
    """Applies `Limits` to every operation and reports its cost. Instantiated per request."""

    def __init__(self) -> None:
        self.limits = Limits()
        self.model: CostModel | None = None
        self.requested = 0

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        self.limits = Limits.of(context.context)
        # strawberry's ParseOptions names max_tokens alone; graphql-core's parse() takes these two as well.
        parse_options = cast(dict[str, Any], context.parse_options)
        parse_options["max_lexical_tokens"] = self.limits.max_tokens
        parse_options["max_comments"] = self.limits.max_tokens
        rule = shape_rule(self.limits.max_depth, self.limits.max_aliases, self.limits.max_directives)
        context.validation_rules = (*context.validation_rules, rule)
        try:
            yield
        except GraphQLError as error:  # a parse error raised by ParserCache's hook
            label_parse_error(error)
            raise
        if context.graphql_document is None:
            for refusal in context.pre_execution_errors or ():
                label_parse_error(refusal)

    def on_validate(self) -> Iterator[None]:
        yield
        errors = self.execution_context.pre_execution_errors or []
        over_limit = [e for e in errors if (e.extensions or {}).get("code") in LIMIT_CODES]
        if over_limit:
            # An operation over a limit gets that refusal alone, not one error per offending node as well (ten
            # unknown directives are one TOO_MANY_DIRECTIVES, not eleven errors to read or to count).
            errors[:] = over_limit
        hide_suggestions(errors)
        for error in errors:
            add_code(error, "GRAPHQL_VALIDATION_FAILED")

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        operation = get_operation_ast(document, context.operation_name) if document else None
        if document is not None and holds_nul(context.variables):
            # PostgreSQL cannot store U+0000 in text: refuse it here, for every argument alike, before it fails
            # there. The document's own string literals are checked once by its validation (OperationShapeRule).
            context.result = GraphQLExecutionResult(
                data=None, errors=[limit_error(NUL_MESSAGE, "BAD_USER_INPUT", operation)]
            )
        elif document is not None and operation is not None:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            self.model = CostModel(context.schema._schema, operation, fragments, context.variables)
            self.requested = self.model.requested()
            if self.requested > self.limits.max_cost:
                context.result = GraphQLExecutionResult(
                    data=None,
                    errors=[
                        limit_error(
                            f"This query could return up to {self.requested} objects (each connection's `first`, "
                            f"or {DEFAULT_PAGE_SIZE} without it, times what each item selects); at most "
                            f"{self.limits.max_cost} are allowed. Ask for smaller pages or fewer nested "
                            "connections.",
                            "QUERY_TOO_COSTLY",
                            operation,
                        )
                    ],
                )
        yield
        result = context.result
        if isinstance(result, GraphQLExecutionResult) and result.errors:
            hide_suggestions(e for e in result.errors if e.original_error is None or e.path is None)
            for error in result.errors:
                if error.path is None:
                    add_code(error, "BAD_USER_INPUT")  # the variables did not fit their types

    def get_results(self) -> dict[str, Any]:
        result = self.execution_context.result
        data = getattr(result, "data", None)
        actual = self.model.actual(data) if self.model is not None else 0
        limit = self.limits.max_cost
        return {
            "cost": {
                "requested": self.requested,
                "actual": actual,
                "limit": limit,
                "remaining": max(limit - self.requested, 0),
            }
        }


class MaskUnexpectedErrors(MaskErrors):
    """MaskErrors whose masked errors carry a request id, and which logs the exception under that id."""

    request_id: str | None = None

    def current_request_id(self) -> str:
        if self.request_id is None:
            request = getattr(self.execution_context.context, "request", None)
            state = getattr(request, "state", None)
            self.request_id = str(getattr(state, "request_id", None) or uuid.uuid4().hex)
        return self.request_id

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = self.current_request_id()
        logger.exception(
            "Unexpected error at %s (request %s)",
            ".".join(str(p) for p in error.path or ()) or "operation",
            request_id,
            exc_info=error.original_error or error,
        )
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            # Never serialised into the response; kept so the HTTP edge can tell a lost database (503).
            original_error=error.original_error,
            extensions={"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
