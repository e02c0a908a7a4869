"""Contact requests: an employer asks to meet a returnee, an officer records the answer, consent discloses."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from db.audit import append_audit_event
from db.contacts import (
    ANSWER_WITHIN,
    ContactRequest,
    CurrentContactRequest,
    ReturneeContact,
    contact_for_ministry,
    disclosed_contact,
    earlier_contact_request,
    expire_overdue,
    insert_contact_request,
    readable_contact_requests,
    request_to_answer,
)
from db.engine import Database
from db.enums import ContactRequestStatus, Role, VacancyStatus
from db.pagination import Page, newest_first
from db.returnees import ReturneeProfile
from db.vacancies import Vacancy, writable_vacancies
from resolvers.audit import is_ministry_auditor
from resolvers.errors import Forbidden, Rejected, UserError, UserErrorCode
from resolvers.validation import check_text, field, request_digest


def is_provincial_officer(principal: Principal) -> bool:
    return Role.PROVINCIAL_OFFICER in principal.roles and principal.province is not None


def _readable(principal: Principal) -> Select[ContactRequest]:
    if is_ministry_auditor(principal):
        return readable_contact_requests()
    if is_provincial_officer(principal):
        return readable_contact_requests(province=principal.province)
    if principal.employer_id is not None and principal.has_scope("contacts:write"):
        return readable_contact_requests(employer_id=principal.employer_id)
    raise Forbidden(
        "Contact requests are for employers with the scope contacts:write, provincial officers and ministry auditors."
    )


async def list_contact_requests(
    db: Database,
    principal: Principal,
    *,
    statuses: list[ContactRequestStatus] | None = None,
    vacancy_id: uuid.UUID | None = None,
    first: int,
    after: str | None,
) -> Page[ContactRequest]:
    statement = _readable(principal)
    if statuses:
        statement = statement.where(CurrentContactRequest.status.in_(statuses))
    if vacancy_id is not None:
        statement = statement.where(CurrentContactRequest.vacancy_id == vacancy_id)
    # A write session for a query: the requests that ran out are marked EXPIRED first (lazily, here).
    async with db.write() as session:
        await expire_overdue(session)
        return await newest_first(
            session, statement, CurrentContactRequest.created_at, CurrentContactRequest.id, first=first, after=after
        )


async def get_contact_request(db: Database, principal: Principal, request_id: uuid.UUID) -> ContactRequest | None:
    async with db.read() as session:
        return await session.scalar(_readable(principal).where(CurrentContactRequest.id == request_id))


async def request_contact(
    db: Database,
    principal: Principal,
    vacancy_id: uuid.UUID,
    profile_id: uuid.UUID,
    message: str | None,
    idempotency_key: str | None,
) -> ContactRequest | list[UserError]:
    if principal.employer_id is None or not principal.has_scope("contacts:write"):
        return [UserError(UserErrorCode.FORBIDDEN, "Asking for contact needs an employer with contacts:write.")]
    message = (message.strip() or None) if message is not None else None
    if (error := check_text(message, "message", max_length=2000, required=False)) is not None:
        return [error]
    change = {"vacancyId": str(vacancy_id), "profileId": str(profile_id), "message": message}
    digest = request_digest(change)
    try:
        async with db.write() as session:
            if idempotency_key is not None:
                if earlier := await earlier_contact_request(session, principal.employer_id, idempotency_key):
                    if earlier.request_digest != digest:
                        raise Rejected(_key_reused())
                    return earlier
            await _check_vacancy_and_profile(session, principal.employer_id, vacancy_id, profile_id)
            # A request that ran out no longer blocks a new one, even before a listing marks it EXPIRED.
            await expire_overdue(session)
            request = ContactRequest(
                employer_id=principal.employer_id,
                vacancy_id=vacancy_id,
                profile_id=profile_id,
                message=message,
                requested_by=principal.actor.name,
                expires_at=func.now() + ANSWER_WITHIN,
                idempotency_key=idempotency_key,
                request_digest=digest if idempotency_key is not None else None,
            )
            if not await insert_contact_request(session, request):
                raise Rejected(
                    UserError(UserErrorCode.CONFLICT, "A request for this profile and vacancy is already pending.")
                )
            await session.refresh(request)
            change["expiresAt"] = request.expires_at.isoformat()
            await append_audit_event(
                session, principal.actor, "contact_request.requested", "ContactRequest", request.id, change
            )
            return request
    except Rejected as rejected:
        return rejected.errors


def _key_reused() -> UserError:
    return UserError(
        UserErrorCode.IDEMPOTENCY_KEY_REUSED,
        "This idempotency key was already used for a different contact request.",
        field("idempotencyKey"),
    )


async def _check_vacancy_and_profile(
    session: AsyncSession, employer_id: uuid.UUID, vacancy_id: uuid.UUID, profile_id: uuid.UUID
) -> None:
    """Contact is asked for one of the employer's OPEN vacancies and a profile whose returnee consents to search."""
    status = await session.scalar(
        writable_vacancies(employer_id).where(Vacancy.id == vacancy_id).with_only_columns(Vacancy.status)
    )
    if status is None:
        raise Rejected(UserError(UserErrorCode.NOT_FOUND, "No vacancy of yours has this id.", field("vacancyId")))
    if status != VacancyStatus.OPEN:
        raise Rejected(
            UserError(
                UserErrorCode.INVALID_STATE,
                f"Contact is asked for an OPEN vacancy; this one is {status.value}.",
                field("vacancyId"),
            )
        )
    if not await session.scalar(select(ReturneeProfile.searchable).where(ReturneeProfile.id == profile_id)):
        raise Rejected(UserError(UserErrorCode.NOT_FOUND, "No profile has this id.", field("profileId")))


async def respond_to_contact_request(
    db: Database, principal: Principal, request_id: uuid.UUID, accepted: bool
) -> ContactRequest | list[UserError]:
    """The provincial officer of the returnee's province records the returnee's answer to a PENDING request."""
    if not is_provincial_officer(principal):
        return [UserError(UserErrorCode.FORBIDDEN, "Only the provincial officer of the returnee's province answers.")]
    assert principal.province is not None
    # Errors are returned, not raised, so that the lazy expiry below is kept even when the answer is refused.
    async with db.write() as session:
        await expire_overdue(session)
        request = await request_to_answer(session, request_id, principal.province)
        if request is None:
            return [
                UserError(
                    UserErrorCode.NOT_FOUND, "No request for a returnee of your province has this id.", field("id")
                )
            ]
        if request.status != ContactRequestStatus.PENDING:
            return [
                UserError(
                    UserErrorCode.INVALID_STATE,
                    f"This request is {request.status.value}; only a PENDING request can be answered.",
                    field("id"),
                )
            ]
        request.status = ContactRequestStatus.ACCEPTED if accepted else ContactRequestStatus.DECLINED
        request.responded_at = func.now()
        request.responded_by = principal.actor.name
        await session.flush()
        await append_audit_event(
            session,
            principal.actor,
            f"contact_request.{request.status.value.lower()}",
            "ContactRequest",
            request.id,
            {"status": request.status.value},
        )
        await session.refresh(request)
        return request


async def contact_of(db: Database, principal: Principal, request: ContactRequest) -> ReturneeContact | None:
    """The returnee's name and phone: for the requesting employer once accepted, for ministry auditors, and
    for the provincial officer who brokers the request (only requests of their province reach them here).

    Each disclosure to an employer is an audit event of its own, written before the contact is returned.
    """
    if is_ministry_auditor(principal) or is_provincial_officer(principal):
        async with db.read() as session:
            return await contact_for_ministry(session, request.id)
    if principal.employer_id is None or principal.employer_id != request.employer_id:
        return None
    async with db.write() as session:
        contact = await disclosed_contact(session, request.id, principal.employer_id)
        if contact is not None:
            await append_audit_event(
                session,
                principal.actor,
                "returnee.identity_disclosed",
                "ReturneeProfile",
                contact.profile_id,
                {"contactRequestId": str(request.id)},
            )
    return contact
