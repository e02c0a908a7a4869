"""Who a transaction acts for, as PostgreSQL's row-level security policies read it.

Every transaction a caller-bound `Database` opens first runs SET_CALLER: it switches to APP_ROLE (a role
that owns no table and has no BYPASSRLS, so the policies of migration 0007 apply even when the service
logs in as a superuser) and sets `karngar.caller`, `karngar.employer_id` and `karngar.province`. All four
are transaction-local (`set_config(..., true)`): when the transaction ends the connection is back to its
login role with no caller, so a pooled connection never carries one caller into the next transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from auth.principal import Principal

APP_ROLE = "karngar_app"
"""The role the API's transactions run as; migration 0007 creates it and grants it what it may touch."""

CallerKind = Literal["system", "ministry", "officer", "employer"]

# One prepared statement for every caller. 'none' as a role means "back to the login role".
SET_CALLER = (
    "SELECT set_config('role', $1, true), set_config('karngar.caller', $2, true),"
    " set_config('karngar.employer_id', $3, true), set_config('karngar.province', $4, true)"
)


@dataclass(frozen=True)
class Caller:
    """What the policies see: a kind, and the employer or province it is limited to."""

    kind: CallerKind
    employer_id: uuid.UUID | None = None
    province: str | None = None

    @property
    def role(self) -> str:
        """System work (the command line, sign-in, test set-up) keeps the login role; callers switch."""
        return "none" if self.kind == "system" else APP_ROLE

    def parameters(self) -> tuple[str, str, str, str]:
        return (self.role, self.kind, str(self.employer_id or ""), self.province or "")


SYSTEM = Caller("system")
"""The service itself: sign-in, the command line's imports and loads. Honoured only outside APP_ROLE."""


def caller_of(principal: Principal) -> Caller:
    """The database's view of an authenticated principal, mirroring the resolvers' own checks:
    an employer sees its own rows, a ministry auditor (scope ministry:audit) everything, a provincial
    officer (or ministry client with a province) the returnees of one province, and any other ministry
    system (returnees:write without a province) the whole registry."""
    if principal.employer_id is not None:
        return Caller("employer", employer_id=principal.employer_id)
    if "ministry:audit" in principal.scopes:
        return Caller("ministry")
    if principal.province is not None:
        return Caller("officer", province=principal.province.value)
    return Caller("ministry")
