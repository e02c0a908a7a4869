"""Who is calling: a web-client user or an API client, for one employer or for the ministry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from db.audit import Actor
from db.enums import Province, Role

EMPLOYER_SCOPES = (
    "vacancies:read",
    "vacancies:write",
    "profiles:read",
    "contacts:write",
    "hires:read",
    "hires:write",
)
MINISTRY_SCOPES = ("ministry:audit", "returnees:write")
ALL_SCOPES = EMPLOYER_SCOPES + MINISTRY_SCOPES

# What a logged-in person may do, by role; API clients carry their scopes in their token.
ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.EMPLOYER_ADMIN: EMPLOYER_SCOPES,
    Role.HIRING_MANAGER: EMPLOYER_SCOPES,
    Role.MINISTRY_AUDITOR: ("ministry:audit",),
    Role.PROVINCIAL_OFFICER: ("returnees:write",),
}


@dataclass(frozen=True)
class Principal:
    kind: Literal["user", "client"]
    subject: str
    """The user's id or the client's client_id."""
    name: str
    roles: tuple[Role, ...]
    scopes: frozenset[str]
    employer_id: uuid.UUID | None
    province: Province | None = None

    @property
    def is_ministry(self) -> bool:
        return self.employer_id is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def actor(self) -> Actor:
        return Actor(name=f"{self.kind}:{self.subject}", employer_id=self.employer_id)
