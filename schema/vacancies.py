"""Vacancies: the type, its connection, the vacancies query and the four vacancy mutations."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from db import vacancies as db_vacancies
from db.pagination import InvalidCursor, Page
from db.search import MATCH_WEIGHTS
from resolvers import profiles as profile_use_cases
from resolvers import vacancies as use_cases
from resolvers.errors import Forbidden
from resolvers.errors import UserError as DomainUserError
from resolvers.validation import invalid
from schema.accounts import Employer, employer_of
from schema.catalog import Occupation, Skill
from schema.common import (
    ApiError,
    Benefit,
    ContractType,
    Node,
    PageInfo,
    Province,
    Sector,
    UserError,
    VacancyStatus,
    check_page_size,
    connection_fields,
    to_global_id,
    user_errors,
    uuid_of,
)
from schema.context import Info
from schema.profiles import ReturneeProfileConnection, profile_page

if TYPE_CHECKING:
    from schema.hires import HireConnection


@strawberry.type
class Vacancy(Node):
    title: str
    sector: Sector  # type: ignore[valid-type]
    province: Province  # type: ignore[valid-type]
    workplace_address: str | None
    description: str
    positions: int
    positions_filled: int
    contract_type: ContractType  # type: ignore[valid-type]
    wage_min_usd: Decimal
    wage_max_usd: Decimal | None
    hours_per_week: int | None
    start_date: datetime.date | None
    closing_date: datetime.date | None
    benefits: list[Benefit]  # type: ignore[valid-type]
    status: VacancyStatus  # type: ignore[valid-type]
    published_at: datetime.datetime | None
    created_at: datetime.datetime
    model: strawberry.Private[db_vacancies.Vacancy]

    @classmethod
    def from_model(cls, v: db_vacancies.Vacancy) -> Vacancy:
        return cls(
            id=to_global_id("Vacancy", v.id),
            title=v.title,
            sector=v.sector,
            province=v.province,
            workplace_address=v.workplace_address,
            description=v.description,
            positions=v.positions,
            positions_filled=v.positions_filled,
            contract_type=v.contract_type,
            wage_min_usd=v.wage_min_usd,
            wage_max_usd=v.wage_max_usd,
            hours_per_week=v.hours_per_week,
            start_date=v.start_date,
            closing_date=v.closing_date,
            benefits=list(v.benefits),
            status=v.status,
            published_at=v.published_at,
            created_at=v.created_at,
            model=v,
        )

    @strawberry.field
    async def employer(self, info: Info) -> Employer:
        return await employer_of(info, self.model.employer_id)

    @strawberry.field
    async def occupation(self, info: Info) -> Occupation:
        occupation = await info.context.loaders.occupation_by_code.load(self.model.occupation_code)
        assert occupation is not None
        return Occupation.from_model(occupation)

    @strawberry.field
    async def required_skills(self, info: Info) -> list[Skill]:
        return [Skill.from_model(s) for s in await info.context.loaders.skills_by_vacancy_id.load(self.model.id)]

    @strawberry.field(
        description="Available anonymised profiles ranked by fit: skills, occupation, sector, province or"
        " willingness to relocate, availability. Each edge explains its score in matchReasons."
    )
    async def matching_profiles(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> ReturneeProfileConnection:
        load = partial(profile_use_cases.matching_profiles, info.context.db, info.context.principal, self.model)
        page = await profile_page(info, load, first, after)
        return ReturneeProfileConnection.from_page(page, MATCH_WEIGHTS)

    @strawberry.field(description="Hires recorded for this vacancy, newest first: its employer's and the ministry's.")
    async def hires(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[HireConnection, strawberry.lazy("schema.hires")]:
        from schema.hires import vacancy_hire_connection  # schema.hires imports this module

        return await vacancy_hire_connection(info, self.model.id, first, after)


async def vacancy_of(info: Info, vacancy_id: uuid.UUID) -> Vacancy:
    """The vacancy a hire or contact request refers to."""
    vacancy = await info.context.loaders.vacancy_by_id.load(vacancy_id)
    assert vacancy is not None
    return Vacancy.from_model(vacancy)


@strawberry.type
class VacancyEdge:
    cursor: str
    node: Vacancy


@strawberry.type
class VacancyConnection:
    edges: list[VacancyEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[db_vacancies.Vacancy]) -> VacancyConnection:
        return cls(**connection_fields(page, VacancyEdge, Vacancy.from_model))


@strawberry.input
class VacancyFilter:
    statuses: list[VacancyStatus] | None = None  # type: ignore[valid-type]
    sectors: list[Sector] | None = None  # type: ignore[valid-type]
    provinces: list[Province] | None = None  # type: ignore[valid-type]
    employer_id: strawberry.ID | None = None
    text: str | None = None


@strawberry.input
class CreateVacancyInput:
    title: str
    occupation_code: str
    province: Province  # type: ignore[valid-type]
    workplace_address: str | None = None
    description: str
    positions: int
    required_skills: list[str]
    contract_type: ContractType  # type: ignore[valid-type]
    wage_min_usd: Decimal
    wage_max_usd: Decimal | None = None
    hours_per_week: int | None = None
    start_date: datetime.date | None = None
    closing_date: datetime.date | None = None
    benefits: list[Benefit] = strawberry.field(  # type: ignore[valid-type]
        description="NSSF occupational risk, health care and pension are always added: every formal job has them."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe creation: the same key with the same input returns the first vacancy.",
    )


@strawberry.input(description="Only the fields given are changed; null clears an optional field.")
class UpdateVacancyInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    occupation_code: str | None = strawberry.UNSET
    province: Province | None = strawberry.UNSET  # type: ignore[valid-type]
    workplace_address: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    positions: int | None = strawberry.UNSET
    required_skills: list[str] | None = strawberry.UNSET
    contract_type: ContractType | None = strawberry.UNSET  # type: ignore[valid-type]
    wage_min_usd: Decimal | None = strawberry.UNSET
    wage_max_usd: Decimal | None = strawberry.UNSET
    hours_per_week: int | None = strawberry.UNSET
    start_date: datetime.date | None = strawberry.UNSET
    closing_date: datetime.date | None = strawberry.UNSET
    benefits: list[Benefit] | None = strawberry.UNSET  # type: ignore[valid-type]


@strawberry.input
class VacancyIdInput:
    id: strawberry.ID


@strawberry.type
class VacancyPayload:
    vacancy: Vacancy | None
    user_errors: list[UserError]

    @classmethod
    def from_result(cls, result: db_vacancies.Vacancy | list[DomainUserError]) -> VacancyPayload:
        if isinstance(result, list):
            return cls(vacancy=None, user_errors=user_errors(result))
        return cls(vacancy=Vacancy.from_model(result), user_errors=[])


def _fields(source: object) -> dict[str, Any]:
    return {name: getattr(source, name) for name in use_cases.EDITABLE if getattr(source, name) is not strawberry.UNSET}


def _vacancy_id(global_id: str) -> uuid.UUID | VacancyPayload:
    vacancy_id = uuid_of(global_id, "Vacancy")
    if vacancy_id is None:
        return VacancyPayload.from_result([invalid("This is not the id of a vacancy.", "id")])
    return vacancy_id


@strawberry.type
class VacancyQuery:
    @strawberry.field(
        description="Employers see their own vacancies of every status and other employers' OPEN ones;"
        " the ministry sees all."
    )
    async def vacancies(
        self, info: Info, filter: VacancyFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> VacancyConnection:
        f = filter or VacancyFilter()
        employer_id = None
        if f.employer_id is not None:
            employer_id = uuid_of(f.employer_id, "Employer")
            if employer_id is None:
                raise ApiError("filter.employerId is not the id of an employer.", "BAD_USER_INPUT")
        try:
            page = await use_cases.list_vacancies(
                info.context.db,
                info.context.principal,
                statuses=f.statuses,
                sectors=f.sectors,
                provinces=f.provinces,
                employer_id=employer_id,
                text_query=f.text,
                first=check_page_size(first),
                after=after,
            )
        except InvalidCursor as exc:
            raise ApiError(str(exc), "BAD_USER_INPUT") from exc
        except Forbidden as exc:
            raise ApiError(str(exc), "FORBIDDEN") from exc
        return VacancyConnection.from_page(page)


@strawberry.type
class VacancyMutation:
    @strawberry.mutation
    async def create_vacancy(self, info: Info, input: CreateVacancyInput) -> VacancyPayload:
        result = await use_cases.create_vacancy(
            info.context.db, info.context.principal, _fields(input), input.idempotency_key
        )
        return VacancyPayload.from_result(result)

    @strawberry.mutation
    async def update_vacancy(self, info: Info, input: UpdateVacancyInput) -> VacancyPayload:
        vacancy_id = _vacancy_id(input.id)
        if isinstance(vacancy_id, VacancyPayload):
            return vacancy_id
        return VacancyPayload.from_result(
            await use_cases.update_vacancy(info.context.db, info.context.principal, vacancy_id, _fields(input))
        )

    @strawberry.mutation
    async def publish_vacancy(self, info: Info, input: VacancyIdInput) -> VacancyPayload:
        vacancy_id = _vacancy_id(input.id)
        if isinstance(vacancy_id, VacancyPayload):
            return vacancy_id
        return VacancyPayload.from_result(
            await use_cases.publish_vacancy(info.context.db, info.context.principal, vacancy_id)
        )

    @strawberry.mutation
    async def close_vacancy(self, info: Info, input: VacancyIdInput) -> VacancyPayload:
        vacancy_id = _vacancy_id(input.id)
        if isinstance(vacancy_id, VacancyPayload):
            return vacancy_id
        return VacancyPayload.from_result(
            await use_cases.close_vacancy(info.context.db, info.context.principal, vacancy_id)
        )
