"""Creating employers, users and API clients (used by `karngar seed-demo` and by tests)."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import hash_secret
from auth.principal import Principal
from db.accounts import ApiClient, Employer, User
from db.engine import Database
from db.enums import ISIC_DIVISIONS, Province, Role, Sector, VacancyStatus
from db.vacancies import Vacancy


async def ensure_employer(
    session: AsyncSession,
    *,
    legal_name: str,
    registration_number: str,
    sector: Sector,
    province: Province,
    nssf_employer_number: str | None = None,
) -> Employer:
    """The employer with this registration number, created if it does not exist yet."""
    employer = await session.scalar(select(Employer).where(Employer.registration_number == registration_number))
    if employer is None:
        employer = Employer(
            legal_name=legal_name,
            registration_number=registration_number,
            nssf_employer_number=nssf_employer_number,
            sector=sector,
            isic_division=ISIC_DIVISIONS[sector][0],
            province=province,
        )
        session.add(employer)
        await session.flush()
    return employer


async def set_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    employer_id: uuid.UUID | None = None,
    province: Province | None = None,
) -> User:
    """Create the user, or reset its password and role if it exists."""
    user = await session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        user = User(username=username)
        session.add(user)
    user.password_hash = hash_secret(password)
    user.display_name = display_name
    user.role = role
    user.employer_id = employer_id
    user.province = province
    await session.flush()
    return user


async def set_api_client(
    session: AsyncSession,
    *,
    client_id: str,
    name: str,
    scopes: list[str],
    employer_id: uuid.UUID | None = None,
    province: Province | None = None,
) -> tuple[ApiClient, str]:
    """Create the client, or give it a new secret if it exists; returns the client and its secret."""
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None:
        client = ApiClient(client_id=client_id)
        session.add(client)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    client.name = name
    client.scopes = scopes
    client.employer_id = employer_id
    client.province = province
    await session.flush()
    return client, secret


async def get_employer(db: Database, principal: Principal, employer_id: uuid.UUID) -> Employer | None:
    """Employers are visible to the ministry, to themselves, and to anyone through an OPEN vacancy of theirs."""
    async with db.read() as session:
        employer = await session.get(Employer, employer_id)
        if employer is None or principal.is_ministry or principal.employer_id == employer.id:
            return employer
        has_open = await session.scalar(
            select(exists().where(Vacancy.employer_id == employer.id, Vacancy.status == VacancyStatus.OPEN))
        )
        return employer if has_open else None
