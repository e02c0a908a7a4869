"""Factories for test data and a small GraphQL client that calls the API as a given caller."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import event

from auth.csrf import CSRF_HEADER
from auth.principal import EMPLOYER_SCOPES, MINISTRY_SCOPES
from db.accounts import Employer
from db.catalog import Occupation
from db.engine import Database
from db.enums import AgeBand, EducationLevel, Province, Role, Sector, Sex
from db.returnees import ProfileExperience, ReturneeIdentity, ReturneeProfile
from resolvers.accounts import ensure_employer, set_api_client, set_user

_numbers = itertools.count(1)


@dataclass
class Caller:
    """An API client with a token, as an HR or ministry system would hold it."""

    client_id: str
    secret: str
    token: str
    employer: Employer | None


class Factory:
    def __init__(self, db: Database, http: httpx.AsyncClient) -> None:
        self.db = db
        self.http = http

    async def employer(
        self, sector: Sector = Sector.TEXTILE, province: Province = Province.PHNOM_PENH, name: str | None = None
    ) -> Employer:
        n = next(_numbers)
        async with self.db.write() as session:
            return await ensure_employer(
                session,
                legal_name=name or f"Test Employer {n} Co., Ltd.",
                registration_number=f"REG-{uuid.uuid4().hex[:10]}",
                sector=sector,
                province=province,
            )

    async def api_client(
        self, employer: Employer | None, scopes: list[str] | tuple[str, ...] | None = None
    ) -> tuple[str, str]:
        default = EMPLOYER_SCOPES if employer is not None else MINISTRY_SCOPES
        client_id = f"client-{uuid.uuid4().hex[:10]}"
        async with self.db.write() as session:
            _, secret = await set_api_client(
                session,
                client_id=client_id,
                name=f"HR system {client_id}",
                scopes=list(default if scopes is None else scopes),
                employer_id=employer.id if employer else None,
            )
        return client_id, secret

    async def user(
        self, role: Role, employer: Employer | None = None, province: Province | None = None
    ) -> tuple[str, str]:
        username = f"user{next(_numbers)}-{uuid.uuid4().hex[:6]}"
        password = f"pw-{uuid.uuid4().hex}"
        async with self.db.write() as session:
            await set_user(
                session,
                username=username,
                password=password,
                display_name=username.title(),
                role=role,
                employer_id=employer.id if employer else None,
                province=province,
            )
        return username, password

    async def profile(
        self,
        *,
        province: Province = Province.BATTAMBANG,
        sex: Sex = Sex.FEMALE,
        age_band: AgeBand = AgeBand.AGE_25_34,
        return_month: date = date(2026, 3, 1),
        skills: list[str] | None = None,
        experience: list[tuple[str, int, bool]] | None = None,
        available_from: date = date(2026, 12, 1),
        preferred_provinces: list[Province] | None = None,
        education: EducationLevel = EducationLevel.PRIMARY,
        languages: list[str] | None = None,
        searchable: bool = True,
        name: str = "Sok Dara",
        phone: str | None = None,
    ) -> uuid.UUID:
        """A registered returnee (identity and profile) written straight to the tables; returns the profile id.

        experience is a list of (ISCO occupation code, years, abroad)."""
        experience = [("8153", 3, True)] if experience is None else experience
        async with self.db.write() as session:
            sectors = {
                code: (await session.get(Occupation, code)).sectors  # type: ignore[union-attr]
                for code, _, _ in experience
            }
            identity = ReturneeIdentity(
                name=name,
                sex=sex,
                date_of_birth=date(1990, 1, 1),
                phone=phone or f"+8551{random.randrange(10**7, 10**8)}",
                province=province,
                returned_on=return_month,
                consent_to_search=searchable,
                registered_by="test",
            )
            session.add(identity)
            await session.flush()
            profile = ReturneeProfile(
                identity_id=identity.id,
                age_band=age_band,
                sex=sex,
                province=province,
                return_month=return_month.replace(day=1),
                education_level=education,
                available_from=available_from,
                preferred_provinces=[p.value for p in preferred_provinces or []],
                languages=languages or ["km"],
                skill_codes=skills if skills is not None else ["textile.single-needle-sewing"],
                occupation_codes=sorted({code for code, _, _ in experience}),
                experience_sectors=sorted({s for code, _, _ in experience for s in sectors[code][:1]}),
                searchable=searchable,
            )
            session.add(profile)
            await session.flush()
            session.add_all(
                ProfileExperience(
                    profile_id=profile.id,
                    occupation_code=code,
                    years=years,
                    abroad=abroad,
                    sector=Sector(sectors[code][0]) if len(sectors[code]) == 1 else None,
                )
                for code, years, abroad in experience
            )
            return profile.id

    async def log_in(self, role: Role, *, employer: Employer | None = None, province: Province | None = None) -> str:
        """Log a new user in as the web client does: later calls with no caller carry the session
        cookie and the CSRF header. Returns the username."""
        username, password = await self.user(role, employer=employer, province=province)
        response = await self.http.post("/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.http.headers[CSRF_HEADER] = "1"
        return username

    async def token(self, client_id: str, secret: str, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = await self.http.post("/oauth/token", data=form, auth=(client_id, secret))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def caller(
        self, employer: Employer | None = None, scopes: list[str] | tuple[str, ...] | None = None
    ) -> Caller:
        client_id, secret = await self.api_client(employer, scopes)
        return Caller(client_id, secret, await self.token(client_id, secret), employer)

    async def employer_caller(self, sector: Sector = Sector.TEXTILE, **kwargs: Any) -> Caller:
        return await self.caller(await self.employer(sector, **kwargs))

    async def graphql(
        self, caller: Caller | None, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """POST a GraphQL document; asserts HTTP 200 and returns the whole response body."""
        headers = {"Authorization": f"Bearer {caller.token}"} if caller else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def payload(body: dict[str, Any]) -> Any:
    """The one top-level field of a response that carries no GraphQL error."""
    assert "errors" not in body, body
    (result,) = body["data"].values()
    return result


async def send(make: Factory, caller: Caller | None, document: str, input: dict[str, Any]) -> dict[str, Any]:
    """A mutation's payload: its object (vacancy, hire, …) and its userErrors."""
    return payload(await make.graphql(caller, document, {"input": input}))  # type: ignore[no-any-return]


def _object_of(result: dict[str, Any]) -> Any:
    (name,) = (key for key in result if key != "userErrors")
    return result[name]


async def accepted(make: Factory, caller: Caller | None, document: str, input: dict[str, Any]) -> Any:
    """The object a mutation returned, asserting it reported no user error."""
    result = await send(make, caller, document, input)
    assert result["userErrors"] == [], result["userErrors"]
    return _object_of(result)


async def refused(make: Factory, caller: Caller | None, document: str, input: dict[str, Any]) -> dict[str, Any]:
    """The one user error a refused mutation returns: no object, no GraphQL error, no stack trace."""
    result = await send(make, caller, document, input)
    assert _object_of(result) is None, result
    assert len(result["userErrors"]) == 1, result["userErrors"]
    assert "Traceback" not in result["userErrors"][0]["message"]
    return result["userErrors"][0]  # type: ignore[no-any-return]


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """Every statement `db` sends to PostgreSQL while the block runs (the caller's SET included): what a change costs
    in round trips, for tests that a batch costs no more than one."""
    sent: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
