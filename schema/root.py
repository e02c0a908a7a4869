"""The root types, composed from each area, and the schema object the API serves."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from api.observability import OperationMetrics
from resolvers import contacts as contact_use_cases
from resolvers import hires as hire_use_cases
from resolvers import profiles as profile_use_cases
from resolvers import vacancies as vacancy_use_cases
from resolvers.accounts import get_employer
from resolvers.errors import Forbidden
from schema.accounts import AccountsQuery, Employer
from schema.audit import AuditEvent, AuditQuery
from schema.catalog import CatalogQuery
from schema.common import AgeBand, ApiError, EducationLevel, Node, Sex, parse_global_id, uuid_of
from schema.contacts import ContactMutation, ContactQuery, ContactRequest
from schema.context import Info
from schema.execution import LeafFieldsFirst
from schema.hires import Hire, HireMutation, HireQuery
from schema.limits import MaskUnexpectedErrors, OperationLimits
from schema.profiles import ProfileQuery, ReturneeProfile
from schema.returnees import ReturneeMutation
from schema.vacancies import Vacancy, VacancyMutation, VacancyQuery


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global id, if the caller may see it.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        parsed = parse_global_id(id)
        if parsed is None:
            raise ApiError("This is not an id this API gave out.", "BAD_USER_INPUT")
        type_name = parsed[0]
        raw_id = uuid_of(id, type_name)
        if raw_id is None:
            raise ApiError("This is not an id this API gave out.", "BAD_USER_INPUT")
        try:
            if type_name == "Vacancy":
                vacancy = await vacancy_use_cases.get_vacancy(info.context.db, info.context.principal, raw_id)
                return Vacancy.from_model(vacancy) if vacancy else None
            if type_name == "ReturneeProfile":
                profile = await profile_use_cases.get_profile(info.context.db, info.context.principal, raw_id)
                return ReturneeProfile.from_view(profile) if profile else None
            if type_name == "Hire":
                hire = await hire_use_cases.get_hire(info.context.db, info.context.principal, raw_id)
                return Hire.from_model(hire) if hire else None
            if type_name == "ContactRequest":
                request = await contact_use_cases.get_contact_request(info.context.db, info.context.principal, raw_id)
                return ContactRequest.from_model(request) if request else None
            if type_name == "Employer":
                employer = await get_employer(info.context.db, info.context.principal, raw_id)
                return Employer.from_model(employer) if employer else None
        except Forbidden as exc:
            raise ApiError(str(exc), "FORBIDDEN") from exc
        raise ApiError("This is not an id this API gave out.", "BAD_USER_INPUT")


Query = merge_types(
    "Query", (NodeQuery, AccountsQuery, CatalogQuery, VacancyQuery, ProfileQuery, ContactQuery, HireQuery, AuditQuery)
)
Mutation = merge_types("Mutation", (VacancyMutation, ReturneeMutation, ContactMutation, HireMutation))


def should_mask(error: GraphQLError) -> bool:
    """Mask what resolvers raised unexpectedly; keep our own errors and GraphQL's validation messages."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    types=[Employer, Vacancy, ReturneeProfile, ContactRequest, Hire, AuditEvent, AgeBand, Sex, EducationLevel],
    config=StrawberryConfig(disable_field_suggestions=True),
    execution_context_class=LeafFieldsFirst,  # plain scalar fields the short way (schema/execution.py)
    extensions=[
        OperationMetrics,  # operation counts, latency and the request log's operation name (api/observability.py)
        # Depth, aliases, tokens, directives and cost, refused before execution; extensions.cost on every response.
        OperationLimits,
        lambda: MaskUnexpectedErrors(should_mask_error=should_mask, error_message="Unexpected error."),
        # HR systems send the same few documents again and again: parse and validate each once.
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
    ],
)

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def schema_sdl() -> str:
    return schema.as_str() + "\n"
