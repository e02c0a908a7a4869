"""Demo accounts for a first look: a ministry and one employer per sector, with fresh credentials."""

from __future__ import annotations

import secrets
from typing import Any

from auth.principal import EMPLOYER_SCOPES, MINISTRY_SCOPES
from db.engine import Database, create_engine
from db.enums import Province, Role, Sector
from resolvers.accounts import ensure_employer, set_api_client, set_user
from schema.common import to_global_id

DEMO_EMPLOYERS = (
    ("Angkor Garment Manufacturing Co., Ltd.", "DEMO-TEX-001", Sector.TEXTILE, Province.KAMPONG_SPEU, "textile"),
    ("Mekong Build Construction Co., Ltd.", "DEMO-CON-001", Sector.CONSTRUCTION, Province.PHNOM_PENH, "construction"),
    ("Tonle Sap Agro Co., Ltd.", "DEMO-AGR-001", Sector.AGRICULTURE, Province.BATTAMBANG, "agriculture"),
)


def _password() -> str:
    return secrets.token_urlsafe(12)


async def _user(session: Any, username: str, name: str, role: Role, **where: Any) -> dict[str, Any]:
    password = _password()
    await set_user(session, username=username, password=password, display_name=name, role=role, **where)
    return {"username": username, "password": password, "role": role.value, "name": name}


async def _client(session: Any, client_id: str, name: str, scopes: tuple[str, ...], **where: Any) -> dict[str, Any]:
    _, secret = await set_api_client(session, client_id=client_id, name=name, scopes=list(scopes), **where)
    return {"clientId": client_id, "clientSecret": secret, "scopes": list(scopes)}


async def seed(database_url: str) -> dict[str, Any]:
    """Create what is missing and give every demo account a new password or secret (nothing is duplicated)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with Database(engine).write() as session:
            ministry = {
                "users": [
                    await _user(session, "auditor", "Ministry Auditor", Role.MINISTRY_AUDITOR),
                    {
                        **await _user(
                            session,
                            "officer.battambang",
                            "Battambang Labour Officer",
                            Role.PROVINCIAL_OFFICER,
                            province=Province.BATTAMBANG,
                        ),
                        "province": Province.BATTAMBANG.value,
                    },
                ],
                "apiClient": await _client(session, "ministry-demo", "MLVT demo system", MINISTRY_SCOPES),
            }
            employers = []
            for legal_name, registration, sector, province, slug in DEMO_EMPLOYERS:
                employer = await ensure_employer(
                    session, legal_name=legal_name, registration_number=registration, sector=sector, province=province
                )
                employers.append(
                    {
                        "id": to_global_id("Employer", employer.id),
                        "name": legal_name,
                        "sector": sector.value,
                        "province": province.value,
                        "users": [
                            await _user(
                                session,
                                f"{slug}.admin",
                                f"{slug.title()} HR Admin",
                                Role.EMPLOYER_ADMIN,
                                employer_id=employer.id,
                            ),
                            await _user(
                                session,
                                f"{slug}.manager",
                                f"{slug.title()} Factory Manager",
                                Role.HIRING_MANAGER,
                                employer_id=employer.id,
                            ),
                        ],
                        "apiClient": await _client(
                            session, f"{slug}-hr", f"{legal_name} HR system", EMPLOYER_SCOPES, employer_id=employer.id
                        ),
                    }
                )
    finally:
        await engine.dispose()
    return {"ministry": ministry, "employers": employers}
