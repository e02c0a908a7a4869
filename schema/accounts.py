"""Employers and the viewer: who is calling, with which roles and scopes."""

from __future__ import annotations

import uuid

import strawberry

from db import accounts
from schema.common import Node, Province, Role, Sector, to_global_id
from schema.context import Info


@strawberry.type
class Employer(Node):
    name: str
    registration_number: str
    nssf_employer_number: str | None
    sector: Sector  # type: ignore[valid-type]
    province: Province  # type: ignore[valid-type]

    @classmethod
    def from_model(cls, employer: accounts.Employer) -> Employer:
        return cls(
            id=to_global_id("Employer", employer.id),
            name=employer.legal_name,
            registration_number=employer.registration_number,
            nssf_employer_number=employer.nssf_employer_number,
            sector=employer.sector,
            province=employer.province,
        )


async def employer_of(info: Info, employer_id: uuid.UUID) -> Employer:
    """The employer a row refers to (its foreign key guarantees it exists)."""
    employer = await info.context.loaders.employer_by_id.load(employer_id)
    assert employer is not None
    return Employer.from_model(employer)


@strawberry.type
class Viewer:
    name: str
    roles: list[Role]  # type: ignore[valid-type]
    scopes: list[str]
    province: Province | None  # type: ignore[valid-type]

    @strawberry.field
    async def employer(self, info: Info) -> Employer | None:
        employer_id = info.context.principal.employer_id
        if employer_id is None:
            return None
        employer = await info.context.loaders.employer_by_id.load(employer_id)
        return Employer.from_model(employer) if employer else None


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="Who is calling: name, roles, scopes, and the employer or province acted for.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            name=principal.name,
            roles=list(principal.roles),
            scopes=sorted(principal.scopes),
            province=principal.province,
        )
