"""Hires and placements: the Hire type, the hires and placementStatistics queries, and the three hire mutations."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import strawberry

from db import enums
from db import hires as db_hires
from db.hires import HireCriteria, PlacementCriteria
from db.pagination import InvalidCursor, Page
from resolvers import hires as use_cases
from resolvers.errors import Forbidden
from resolvers.errors import UserError as DomainUserError
from resolvers.hires import HireInput, VacancyHirePage
from resolvers.statistics import placement_statistics
from resolvers.validation import invalid
from schema.accounts import Employer, employer_of
from schema.common import (
    ApiError,
    ContractType,
    Node,
    PageInfo,
    Province,
    Sector,
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

HireStatus = strawberry.enum(enums.HireStatus)
PlacementDimension = strawberry.enum(db_hires.PlacementDimension)


@strawberry.type
class Hire(Node):
    start_date: datetime.date
    contract_type: ContractType  # type: ignore[valid-type]
    monthly_wage_usd: Decimal
    nssf_number: str | None = strawberry.field(description="Null while NSSF enrolment is pending.")
    status: HireStatus  # type: ignore[valid-type]
    recorded_at: datetime.datetime
    recorded_by: str
    ended_on: datetime.date | None
    end_reason: str | None
    voided_at: datetime.datetime | None
    voided_by: str | None
    void_reason: str | None
    model: strawberry.Private[db_hires.Hire]

    @classmethod
    def from_model(cls, h: db_hires.Hire) -> Hire:
        return cls(
            id=to_global_id("Hire", h.id),
            start_date=h.start_date,
            contract_type=h.contract_type,
            monthly_wage_usd=h.monthly_wage_usd,
            nssf_number=h.nssf_number,
            status=h.status,
            recorded_at=h.recorded_at,
            recorded_by=h.recorded_by,
            ended_on=h.ended_on,
            end_reason=h.end_reason,
            voided_at=h.voided_at,
            voided_by=h.voided_by,
            void_reason=h.void_reason,
            model=h,
        )

    @strawberry.field
    async def vacancy(self, info: Info) -> Vacancy:
        return await vacancy_of(info, self.model.vacancy_id)

    @strawberry.field
    async def employer(self, info: Info) -> Employer:
        return await employer_of(info, self.model.employer_id)

    @strawberry.field
    async def profile(self, info: Info) -> ReturneeProfile:
        return await profile_of(info, self.model.profile_id)


@strawberry.type
class HireEdge:
    cursor: str
    node: Hire


@strawberry.type
class HireConnection:
    edges: list[HireEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[db_hires.Hire]) -> HireConnection:
        return cls(**connection_fields(page, HireEdge, Hire.from_model))


@strawberry.input(description="Province and sector are the vacancy's.")
class HireFilter:
    statuses: list[HireStatus] | None = None  # type: ignore[valid-type]
    employer_id: strawberry.ID | None = None
    vacancy_id: strawberry.ID | None = None
    provinces: list[Province] | None = None  # type: ignore[valid-type]
    sectors: list[Sector] | None = None  # type: ignore[valid-type]
    recorded_from: datetime.datetime | None = strawberry.field(default=None, description="Inclusive.")
    recorded_to: datetime.datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.input
class RecordHireInput:
    vacancy_id: strawberry.ID = strawberry.field(description="An OPEN vacancy of yours.")
    profile_id: strawberry.ID
    start_date: datetime.date = strawberry.field(
        description="From 30 days back to 90 days ahead of today in Phnom Penh."
    )
    contract_type: ContractType  # type: ignore[valid-type]
    monthly_wage_usd: Decimal = strawberry.field(
        description="More than 0, at most two decimals; for textile vacancies at least that year's legal minimum."
    )
    nssf_number: str | None = strawberry.field(
        default=None,
        description="The worker's NSSF number: 10 to 12 digits (spaces and hyphens are ignored);"
        " null while enrolment is pending.",
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe recording: the same key with the same input returns the first hire.",
    )


@strawberry.input
class EndHireInput:
    id: strawberry.ID
    ended_on: datetime.date = strawberry.field(description="Not before the start date, not after today.")
    reason: str | None = None


@strawberry.input
class VoidHireInput:
    id: strawberry.ID
    reason: str


@strawberry.type
class HirePayload:
    hire: Hire | None
    user_errors: list[UserError]

    @classmethod
    def from_result(cls, result: db_hires.Hire | list[DomainUserError]) -> HirePayload:
        if isinstance(result, list):
            return cls(hire=None, user_errors=user_errors(result))
        return cls(hire=Hire.from_model(result), user_errors=[])


@strawberry.type
class PlacementCount:
    province: Province | None  # type: ignore[valid-type]
    sector: Sector | None  # type: ignore[valid-type]
    month: str | None = strawberry.field(description="The month the hires start in, as YYYY-MM.")
    count: int


@strawberry.type
class PlacementStatistics:
    total: int = strawberry.field(description="Active and ended hires; voided hires never count.")
    rows: list[PlacementCount] = strawberry.field(
        description="One row per group of the dimensions asked for, in their order; a single row without any."
    )


@strawberry.input(description="Province and sector are the vacancy's; the dates bound the hire's start date.")
class PlacementFilter:
    provinces: list[Province] | None = None  # type: ignore[valid-type]
    sectors: list[Sector] | None = None  # type: ignore[valid-type]
    from_: datetime.date | None = strawberry.field(name="from", default=None, description="Inclusive.")
    to: datetime.date | None = strawberry.field(default=None, description="Inclusive.")


def _uuid_or_error(global_id: str, type_name: str, path: str) -> uuid.UUID:
    raw = uuid_of(global_id, type_name)
    if raw is None:
        raise ApiError(f"{path} is not the id of {_kind(type_name)}.", "BAD_USER_INPUT")
    return raw


def _kind(type_name: str) -> str:
    """`Employer` → `an employer`, `Vacancy` → `a vacancy`: how the other id errors name what they expected."""
    return ("an " if type_name[0] in "AEIOU" else "a ") + type_name.lower()


def _criteria(f: HireFilter) -> HireCriteria:
    return HireCriteria(
        statuses=f.statuses or (),
        employer_id=_uuid_or_error(f.employer_id, "Employer", "filter.employerId")
        if f.employer_id is not None
        else None,
        vacancy_id=_uuid_or_error(f.vacancy_id, "Vacancy", "filter.vacancyId") if f.vacancy_id is not None else None,
        provinces=f.provinces or (),
        sectors=f.sectors or (),
        recorded_from=f.recorded_from,
        recorded_to=f.recorded_to,
    )


@contextmanager
def _read_errors() -> Iterator[None]:
    """What reading a page of hires refuses, as the errors the caller reads."""
    try:
        yield
    except InvalidCursor as exc:
        raise ApiError(str(exc), "BAD_USER_INPUT") from exc
    except Forbidden as exc:
        raise ApiError(str(exc), "FORBIDDEN") from exc


async def hire_connection(info: Info, criteria: HireCriteria, first: int | None, after: str | None) -> HireConnection:
    """A page of the hires the caller may read."""
    with _read_errors():
        page = await use_cases.list_hires(
            info.context.db, info.context.principal, criteria, first=check_page_size(first), after=after
        )
    return HireConnection.from_page(page)


async def vacancy_hire_connection(
    info: Info, vacancy_id: uuid.UUID, first: int | None, after: str | None
) -> HireConnection:
    """Vacancy.hires: the page `hires(filter: {vacancyId})` gives, loaded with every vacancy's of the response."""
    key = VacancyHirePage(vacancy_id, check_page_size(first), after)
    with _read_errors():
        page = await info.context.loaders.hire_page_by_vacancy.load(key)
    return HireConnection.from_page(page)


def _hire_id(global_id: str) -> uuid.UUID | HirePayload:
    hire_id = uuid_of(global_id, "Hire")
    if hire_id is None:
        return HirePayload.from_result([invalid("This is not the id of a hire.", "id")])
    return hire_id


@strawberry.type
class HireQuery:
    @strawberry.field(description="Employers see their own hires; the ministry sees all. Newest first.")
    async def hires(
        self, info: Info, filter: HireFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> HireConnection:
        return await hire_connection(info, _criteria(filter or HireFilter()), first, after)

    @strawberry.field(description="Employers see their own placements; the ministry sees all.")
    async def placement_statistics(
        self,
        info: Info,
        group_by: list[PlacementDimension],  # type: ignore[valid-type]
        filter: PlacementFilter | None = None,
    ) -> PlacementStatistics:
        f = filter or PlacementFilter()
        criteria = PlacementCriteria(
            provinces=f.provinces or (), sectors=f.sectors or (), start_from=f.from_, start_to=f.to
        )
        try:
            result = await placement_statistics(info.context.db, info.context.principal, group_by, criteria)
        except Forbidden as exc:
            raise ApiError(str(exc), "FORBIDDEN") from exc
        return PlacementStatistics(
            total=result.total,
            rows=[
                PlacementCount(province=r.province, sector=r.sector, month=r.month, count=r.placements)
                for r in result.rows
            ],
        )


@strawberry.type
class HireMutation:
    @strawberry.mutation
    async def record_hire(self, info: Info, input: RecordHireInput) -> HirePayload:
        vacancy_id, profile_id = uuid_of(input.vacancy_id, "Vacancy"), uuid_of(input.profile_id, "ReturneeProfile")
        if vacancy_id is None:
            return HirePayload.from_result([invalid("This is not the id of a vacancy.", "vacancyId")])
        if profile_id is None:
            return HirePayload.from_result([invalid("This is not the id of a returnee profile.", "profileId")])
        hire = HireInput(
            vacancy_id=vacancy_id,
            profile_id=profile_id,
            start_date=input.start_date,
            contract_type=input.contract_type,
            monthly_wage_usd=input.monthly_wage_usd,
            nssf_number=input.nssf_number,
            idempotency_key=input.idempotency_key,
        )
        return HirePayload.from_result(await use_cases.record_hire(info.context.db, info.context.principal, hire))

    @strawberry.mutation
    async def end_hire(self, info: Info, input: EndHireInput) -> HirePayload:
        hire_id = _hire_id(input.id)
        if isinstance(hire_id, HirePayload):
            return hire_id
        return HirePayload.from_result(
            await use_cases.end_hire(info.context.db, info.context.principal, hire_id, input.ended_on, input.reason)
        )

    @strawberry.mutation(
        description="Ministry auditor only; the hire stops counting as a placement and stays in the record."
    )
    async def void_hire(self, info: Info, input: VoidHireInput) -> HirePayload:
        hire_id = _hire_id(input.id)
        if isinstance(hire_id, HirePayload):
            return hire_id
        return HirePayload.from_result(
            await use_cases.void_hire(info.context.db, info.context.principal, hire_id, input.reason)
        )
