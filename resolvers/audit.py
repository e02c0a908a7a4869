"""The ministry's audit: who counts as an auditor, pages of the trail, and the recomputation of its hash chain."""

from __future__ import annotations

from datetime import datetime

from auth.principal import Principal
from db.audit import AuditEvent, ChainVerification, audit_events_matching, newest_events_first
from db.audit import verify_chain as verify_chain_in
from db.engine import Database
from db.pagination import Page
from resolvers.errors import Forbidden


def is_ministry_auditor(principal: Principal) -> bool:
    """A MINISTRY_AUDITOR user, or a ministry API client holding ministry:audit (no employer has that scope)."""
    return principal.is_ministry and principal.has_scope("ministry:audit")


def require_auditor(principal: Principal) -> None:
    if not is_ministry_auditor(principal):
        raise Forbidden("Only the ministry's auditors may do this (scope ministry:audit).")


async def verify_chain(db: Database) -> ChainVerification:
    """The chain recomputed from the first event; for `verifyAuditLog` and `karngar verify-audit` alike."""
    async with db.read() as session:
        return await verify_chain_in(session)


async def verify_audit_log(db: Database, principal: Principal) -> ChainVerification:
    require_auditor(principal)
    return await verify_chain(db)


async def list_audit_events(
    db: Database,
    principal: Principal,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    at_from: datetime | None = None,
    at_to: datetime | None = None,
    first: int,
    after: str | None,
) -> Page[AuditEvent]:
    require_auditor(principal)
    statement = audit_events_matching(
        entity_type=entity_type, entity_id=entity_id, actor=actor, at_from=at_from, at_to=at_to
    )
    async with db.read() as session:
        return await newest_events_first(session, statement, first=first, after=after)
