"""Factories for test data and a small GraphQL client that calls the API as a given caller."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from auth.principal import EMPLOYER_SCOPES, MINISTRY_SCOPES
from db.accounts import Employer
from db.engine import Database
from db.enums import Province, Role, Sector
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
