"""Hire use cases: record a hire as a formal placement, end it, void it (the ministry), list and export hires."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.metrics import PLACEMENTS
from auth.principal import Principal
from db import hires as db_hires
from db.audit import append_audit_event
from db.engine import Database
from db.enums import ContractType, HireStatus, Sector, VacancyStatus
from db.hires import (
    Hire,
    HireCriteria,
    earlier_hire,
    insert_hire,
    readable_hires,
    release_position,
    set_availability,
    take_position,
)
from db.pagination import InvalidCursor, Page, newest_first, newest_first_by_group
from db.returnees import ReturneeProfile
from db.vacancies import Vacancy, writable_vacancies
from resolvers.audit import is_ministry_auditor
from resolvers.errors import Forbidden, Rejected, UserError, UserErrorCode
from resolvers.validation import check_money, check_text, field, invalid, request_digest, today_in_cambodia
from resolvers.wages import textile_minimum_wage

# NSSF worker numbers are numeric, and we know of no published length or check digit that holds for
# every year of issue; 10 to 12 digits catches a name, a phone number or a slipped digit typed into
# the field, without refusing a real number. Spaces and hyphens, as printed on cards, are dropped.
NSSF_NUMBER = re.compile(r"[0-9]{10,12}")
NSSF_SEPARATORS = re.compile(r"[\s-]")
# A hire is recorded around when the work starts: not backdated for long, not booked far ahead.
LATEST_BACKDATE = timedelta(days=30)
FURTHEST_AHEAD = timedelta(days=90)


@dataclass(frozen=True)
class HireInput:
    vacancy_id: uuid.UUID
    profile_id: uuid.UUID
    start_date: date
    contract_type: ContractType
    monthly_wage_usd: Decimal
    nssf_number: str | None = None
    idempotency_key: str | None = None

    def change(self) -> dict[str, Any]:
        """What the audit trail and the idempotency key are bound to."""
        return {
            "vacancyId": str(self.vacancy_id),
            "profileId": str(self.profile_id),
            "startDate": self.start_date.isoformat(),
            "contractType": self.contract_type.value,
            "monthlyWageUsd": str(self.monthly_wage_usd),
            "nssfNumber": self.nssf_number,
        }


def hire_scope(principal: Principal) -> uuid.UUID | None:
    """The employer whose hires the caller reads, or None for every employer's (a ministry auditor)."""
    if is_ministry_auditor(principal):
        return None
    if principal.employer_id is not None and principal.has_scope("hires:read"):
        return principal.employer_id
    raise Forbidden("Hires are for employers with the scope hires:read and for ministry auditors.")


def _employer_writer(principal: Principal) -> UserError | None:
    if principal.employer_id is None or not principal.has_scope("hires:write"):
        return UserError(UserErrorCode.FORBIDDEN, "Hires are recorded and ended by employers with hires:write.")
    return None


def normalise(hire: HireInput) -> HireInput | list[UserError]:
    """The input with its NSSF number reduced to digits and its wage to cents, or what is wrong with it."""
    errors = []
    wage = hire.monthly_wage_usd
    if (error := check_money(wage, "monthlyWageUsd")) is not None:
        errors.append(error)
    elif wage <= 0:
        errors.append(invalid("monthlyWageUsd must be more than 0.", "monthlyWageUsd"))
    nssf = NSSF_SEPARATORS.sub("", hire.nssf_number) if hire.nssf_number is not None else None
    if nssf is not None and not NSSF_NUMBER.fullmatch(nssf):
        errors.append(invalid("nssfNumber must be the worker's NSSF number: 10 to 12 digits.", "nssfNumber"))
    if errors:
        return errors
    return replace(hire, monthly_wage_usd=wage.quantize(Decimal("0.01")), nssf_number=nssf or None)


async def record_hire(db: Database, principal: Principal, hire: HireInput) -> Hire | list[UserError]:
    """Record a hire: it takes one position, makes the returnee unavailable and counts as a placement at once."""
    if (denied := _employer_writer(principal)) is not None:
        return [denied]
    assert principal.employer_id is not None
    normalised = normalise(hire)
    if isinstance(normalised, list):
        return normalised
    hire, change = normalised, normalised.change()
    digest = request_digest(change)
    try:
        async with db.write() as session:
            if hire.idempotency_key is not None:
                if earlier := await earlier_hire(session, principal.employer_id, hire.idempotency_key):
                    if earlier.request_digest != digest:
                        raise Rejected(_key_reused())
                    return earlier
            vacancy = await _vacancy_to_fill(session, principal.employer_id, hire.vacancy_id)
            if errors := await _rule_errors(session, hire, vacancy):
                return errors
            if not await take_position(session, principal.employer_id, vacancy.id):
                await session.refresh(vacancy)
                raise Rejected(_not_fillable(vacancy))
            record = Hire(
                employer_id=principal.employer_id,
                vacancy_id=hire.vacancy_id,
                profile_id=hire.profile_id,
                start_date=hire.start_date,
                contract_type=hire.contract_type,
                monthly_wage_usd=hire.monthly_wage_usd,
                nssf_number=hire.nssf_number,
                recorded_by=principal.actor.name,
                idempotency_key=hire.idempotency_key,
                request_digest=digest if hire.idempotency_key is not None else None,
            )
            if not await insert_hire(session, record):
                raise Rejected(
                    UserError(
                        UserErrorCode.ALREADY_HIRED, "This returnee already holds an active hire.", field("profileId")
                    )
                )
            await set_availability(session, hire.profile_id, available=False)
            await append_audit_event(session, principal.actor, "hire.recorded", "Hire", record.id, change)
            await session.refresh(record)
        PLACEMENTS.labels(vacancy.sector.value).inc()  # committed: a placement that counts
        return record
    except Rejected as rejected:
        return rejected.errors


def _key_reused() -> UserError:
    return UserError(
        UserErrorCode.IDEMPOTENCY_KEY_REUSED,
        "This idempotency key was already used for a different hire.",
        field("idempotencyKey"),
    )


def _not_fillable(vacancy: Vacancy) -> UserError:
    if vacancy.status == VacancyStatus.FILLED or (
        vacancy.status == VacancyStatus.OPEN and vacancy.positions_filled >= vacancy.positions
    ):
        return UserError(
            UserErrorCode.POSITIONS_FILLED, "Every position of this vacancy is filled.", field("vacancyId")
        )
    return UserError(
        UserErrorCode.INVALID_STATE,
        f"Hires are recorded for an OPEN vacancy; this one is {vacancy.status.value}.",
        field("vacancyId"),
    )


async def _vacancy_to_fill(session: AsyncSession, employer_id: uuid.UUID, vacancy_id: uuid.UUID) -> Vacancy:
    vacancy = await session.scalar(writable_vacancies(employer_id).where(Vacancy.id == vacancy_id))
    if vacancy is None:
        raise Rejected(UserError(UserErrorCode.NOT_FOUND, "No vacancy of yours has this id.", field("vacancyId")))
    if vacancy.status != VacancyStatus.OPEN:
        raise Rejected(_not_fillable(vacancy))
    return vacancy


async def _rule_errors(session: AsyncSession, hire: HireInput, vacancy: Vacancy) -> list[UserError]:
    """The rules that depend on today and on the vacancy: start date window, textile minimum wage, the profile."""
    errors = []
    today = today_in_cambodia()
    if not today - LATEST_BACKDATE <= hire.start_date <= today + FURTHEST_AHEAD:
        errors.append(
            invalid(
                f"startDate must be between {today - LATEST_BACKDATE} and {today + FURTHEST_AHEAD}"
                " (30 days back to 90 days ahead, Phnom Penh time).",
                "startDate",
            )
        )
    minimum = textile_minimum_wage(hire.start_date.year)
    if vacancy.sector == Sector.TEXTILE and hire.monthly_wage_usd < minimum:
        errors.append(
            UserError(
                UserErrorCode.BELOW_MINIMUM_WAGE,
                f"The legal minimum wage for garment, footwear and travel-goods work in {hire.start_date.year}"
                f" is {minimum} US dollars a month.",
                field("monthlyWageUsd"),
            )
        )
    if await session.scalar(select(ReturneeProfile.id).where(ReturneeProfile.id == hire.profile_id)) is None:
        errors.append(UserError(UserErrorCode.NOT_FOUND, "No profile has this id.", field("profileId")))
    return errors


async def _hire_for_update(session: AsyncSession, hire_id: uuid.UUID, employer_id: uuid.UUID | None) -> Hire:
    hire = await session.scalar(readable_hires(employer_id).where(Hire.id == hire_id).with_for_update())
    if hire is None:
        whose = "of yours " if employer_id is not None else ""
        raise Rejected(UserError(UserErrorCode.NOT_FOUND, f"No hire {whose}has this id.", field("id")))
    return hire


async def end_hire(
    db: Database, principal: Principal, hire_id: uuid.UUID, ended_on: date, reason: str | None
) -> Hire | list[UserError]:
    """The employer ends an ACTIVE hire: the returnee is available again and the position open."""
    if (denied := _employer_writer(principal)) is not None:
        return [denied]
    reason = (reason.strip() or None) if reason is not None else None
    if (error := check_text(reason, "reason", max_length=2000, required=False)) is not None:
        return [error]
    if ended_on > today_in_cambodia():
        return [invalid("endedOn must not be in the future (Phnom Penh date).", "endedOn")]
    try:
        async with db.write() as session:
            hire = await _hire_for_update(session, hire_id, principal.employer_id)
            if hire.status != HireStatus.ACTIVE:
                raise Rejected(_not_active(hire, "ended"))
            if ended_on < hire.start_date:
                raise Rejected(invalid(f"endedOn must not be before the start date, {hire.start_date}.", "endedOn"))
            await release_position(session, hire.vacancy_id)
            hire.status, hire.ended_on, hire.end_reason = HireStatus.ENDED, ended_on, reason
            await session.flush()
            await set_availability(session, hire.profile_id, available=True)
            change = {"status": hire.status.value, "endedOn": ended_on.isoformat(), "reason": reason}
            await append_audit_event(session, principal.actor, "hire.ended", "Hire", hire.id, change)
            return hire
    except Rejected as rejected:
        return rejected.errors


def _not_active(hire: Hire, verb: str) -> UserError:
    return UserError(
        UserErrorCode.INVALID_STATE, f"Only an ACTIVE hire can be {verb}; this one is {hire.status.value}.", field("id")
    )


async def void_hire(db: Database, principal: Principal, hire_id: uuid.UUID, reason: str) -> Hire | list[UserError]:
    """A ministry auditor voids a bogus hire: it stays in the record with the reason and stops counting."""
    if not is_ministry_auditor(principal):
        return [UserError(UserErrorCode.FORBIDDEN, "Only a ministry auditor voids a hire.")]
    reason = reason.strip()
    if (error := check_text(reason, "reason", max_length=2000, required=True)) is not None:
        return [error]
    try:
        async with db.write() as session:
            hire = await _hire_for_update(session, hire_id, None)
            if hire.status == HireStatus.VOIDED:
                raise Rejected(UserError(UserErrorCode.INVALID_STATE, "This hire is already VOIDED.", field("id")))
            was_active = hire.status == HireStatus.ACTIVE
            if was_active:
                await release_position(session, hire.vacancy_id)
            hire.status, hire.void_reason = HireStatus.VOIDED, reason
            hire.voided_at, hire.voided_by = func.now(), principal.actor.name
            await session.flush()
            if was_active:
                await set_availability(session, hire.profile_id, available=True)
            change = {"status": hire.status.value, "reason": reason}
            await append_audit_event(session, principal.actor, "hire.voided", "Hire", hire.id, change)
            await session.refresh(hire)
            return hire
    except Rejected as rejected:
        return rejected.errors


async def list_hires(
    db: Database, principal: Principal, criteria: HireCriteria, *, first: int, after: str | None
) -> Page[Hire]:
    statement = db_hires.matching(readable_hires(hire_scope(principal)), criteria)
    async with db.read() as session:
        return await newest_first(session, statement, Hire.recorded_at, Hire.id, first=first, after=after)


@dataclass(frozen=True)
class VacancyHirePage:
    """Which page of one vacancy's hires is asked for: a key of the loader behind Vacancy.hires."""

    vacancy_id: uuid.UUID
    first: int
    after: str | None


async def hire_pages_by_vacancy(
    db: Database, principal: Principal, keys: list[VacancyHirePage]
) -> list[Page[Hire] | InvalidCursor]:
    """For each key, the page `list_hires` gives for its vacancy: one read transaction per (first, after) asked.

    A cursor this API did not return fails only the pages asked with it; a caller who may not read hires, all.
    """
    statement = readable_hires(hire_scope(principal))
    asked: dict[tuple[int, str | None], list[VacancyHirePage]] = defaultdict(list)
    for key in keys:
        asked[key.first, key.after].append(key)
    pages: dict[VacancyHirePage, Page[Hire] | InvalidCursor] = {}
    for (first, after), same in asked.items():
        vacancies = [key.vacancy_id for key in same]
        try:
            async with db.read() as session:
                by_vacancy = await newest_first_by_group(
                    session, statement, Hire.vacancy_id, vacancies, Hire.recorded_at, Hire.id, first=first, after=after
                )
        except InvalidCursor as error:
            pages.update(dict.fromkeys(same, error))
        else:
            pages.update((key, by_vacancy[key.vacancy_id]) for key in same)
    return [pages[key] for key in keys]


async def get_hire(db: Database, principal: Principal, hire_id: uuid.UUID) -> Hire | None:
    async with db.read() as session:
        return await session.scalar(readable_hires(hire_scope(principal)).where(Hire.id == hire_id))


async def hires_for_export(db: Database, criteria: HireCriteria) -> AsyncIterator[Row[Any]]:
    """The rows of the ministry's hire export, for the CSV endpoint and `karngar export-hires` alike.

    Whoever calls it has already made sure the reader is the ministry.
    """
    async with db.read() as session:
        async for row in db_hires.hires_for_export(session, criteria):
            yield row
