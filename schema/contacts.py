"""Contact requests: the type, its connection, the contactRequests query, and asking for and answering contact."""

from __future__ import annotations

import datetime
import uuid

import strawberry

from db import contacts as db_contacts
from db import enums
from db.pagination import InvalidCursor, Page
from resolvers import contacts as use_cases
from resolvers.errors import Forbidden
from resolvers.errors import UserError as DomainUserError
from resolvers.validation import invalid
from schema.common import (
    ApiError,
    Node,
    PageInfo,
    UserError,
    check_page_size,
    connection_fields,
    to_global_id,
    user_errors,
    uuid_of,
)
from schema.context import Info
from schema.profiles import ReturneeProfile, profile_of
from schema.vacancies import Vacancy, vacancy_of

ContactRequestStatus = strawberry.enum(enums.ContactRequestStatus)


@strawberry.type(description="Shown only to the employer whose request the returnee accepted, and to the ministry.")
class ReturneeContact:
    name: str
    phone: str


@strawberry.type
class ContactRequest(Node):
    status: ContactRequestStatus = strawberry.field(  # type: ignore[valid-type]
        description="A request nobody answered within 14 days is EXPIRED."
    )
    message: str | None
    created_at: datetime.datetime
    expires_at: datetime.datetime
    responded_at: datetime.datetime | None
    model: strawberry.Private[db_contacts.ContactRequest]

    @classmethod
    def from_model(cls, r: db_contacts.ContactRequest) -> ContactRequest:
        return cls(
            id=to_global_id("ContactRequest", r.id),
            status=r.status,
            message=r.message,
            created_at=r.created_at,
            expires_at=r.expires_at,
            responded_at=r.responded_at,
            model=r,
        )

    @strawberry.field
    async def vacancy(self, info: Info) -> Vacancy:
        return await vacancy_of(info, self.model.vacancy_id)

    @strawberry.field
    async def profile(self, info: Info) -> ReturneeProfile:
        return await profile_of(info, self.model.profile_id)

    @strawberry.field(
        description="The returnee's name and phone: for the employer that asked, once the returnee accepted, and"
        " for ministry auditors; null for everyone else. Each disclosure to an employer is an audit event."
    )
    async def contact(self, info: Info) -> ReturneeContact | None:
        contact = await use_cases.contact_of(info.context.db, info.context.principal, self.model)
        return ReturneeContact(name=contact.name, phone=contact.phone) if contact else None


@strawberry.type
class ContactRequestEdge:
    cursor: str
    node: ContactRequest


@strawberry.type
class ContactRequestConnection:
    edges: list[ContactRequestEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[db_contacts.ContactRequest]) -> ContactRequestConnection:
        return cls(**connection_fields(page, ContactRequestEdge, ContactRequest.from_model))


@strawberry.input
class ContactRequestFilter:
    statuses: list[ContactRequestStatus] | None = None  # type: ignore[valid-type]
    vacancy_id: strawberry.ID | None = None


@strawberry.input
class RequestContactInput:
    vacancy_id: strawberry.ID = strawberry.field(description="An OPEN vacancy of yours.")
    profile_id: strawberry.ID
    message: str | None = strawberry.field(default=None, description="For the returnee; at most 2,000 characters.")
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe asking: the same key with the same input returns the first request.",
    )


@strawberry.input
class RespondToContactRequestInput:
    id: strawberry.ID
    accepted: bool


@strawberry.type
class ContactRequestPayload:
    contact_request: ContactRequest | None
    user_errors: list[UserError]

    @classmethod
    def from_result(cls, result: db_contacts.ContactRequest | list[DomainUserError]) -> ContactRequestPayload:
        if isinstance(result, list):
            return cls(contact_request=None, user_errors=user_errors(result))
        return cls(contact_request=ContactRequest.from_model(result), user_errors=[])


def _invalid_id(path: str, what: str) -> ContactRequestPayload:
    return ContactRequestPayload.from_result([invalid(f"This is not the id of {what}.", path)])


@strawberry.type
class ContactQuery:
    @strawberry.field(
        description="Employers see their own requests, provincial officers those for returnees of their province,"
        " ministry auditors all. Newest first."
    )
    async def contact_requests(
        self,
        info: Info,
        filter: ContactRequestFilter | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> ContactRequestConnection:
        f = filter or ContactRequestFilter()
        vacancy_id: uuid.UUID | None = None
        if f.vacancy_id is not None and (vacancy_id := uuid_of(f.vacancy_id, "Vacancy")) is None:
            raise ApiError("filter.vacancyId is not the id of a vacancy.", "BAD_USER_INPUT")
        try:
            page = await use_cases.list_contact_requests(
                info.context.db,
                info.context.principal,
                statuses=f.statuses,
                vacancy_id=vacancy_id,
                first=check_page_size(first),
                after=after,
            )
        except InvalidCursor as exc:
            raise ApiError(str(exc), "BAD_USER_INPUT") from exc
        except Forbidden as exc:
            raise ApiError(str(exc), "FORBIDDEN") from exc
        return ContactRequestConnection.from_page(page)


@strawberry.type
class ContactMutation:
    @strawberry.mutation(description="An employer asks, for one of its OPEN vacancies, to meet a returnee.")
    async def request_contact(self, info: Info, input: RequestContactInput) -> ContactRequestPayload:
        vacancy_id, profile_id = uuid_of(input.vacancy_id, "Vacancy"), uuid_of(input.profile_id, "ReturneeProfile")
        if vacancy_id is None:
            return _invalid_id("vacancyId", "a vacancy")
        if profile_id is None:
            return _invalid_id("profileId", "a returnee profile")
        return ContactRequestPayload.from_result(
            await use_cases.request_contact(
                info.context.db, info.context.principal, vacancy_id, profile_id, input.message, input.idempotency_key
            )
        )

    @strawberry.mutation(description="Provincial officer of the returnee's province.")
    async def respond_to_contact_request(
        self, info: Info, input: RespondToContactRequestInput
    ) -> ContactRequestPayload:
        request_id = uuid_of(input.id, "ContactRequest")
        if request_id is None:
            return _invalid_id("id", "a contact request")
        return ContactRequestPayload.from_result(
            await use_cases.respond_to_contact_request(
                info.context.db, info.context.principal, request_id, input.accepted
            )
        )
