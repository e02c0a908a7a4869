"""The ministry's audit trail: the AuditEvent type, its pages, and the verification of its hash chain."""

from __future__ import annotations

import datetime

import strawberry

from db import audit as db_audit
from db.pagination import InvalidCursor, Page
from resolvers import audit as use_cases
from resolvers.errors import Forbidden
from schema.common import ApiError, Node, PageInfo, check_page_size, connection_fields, parse_global_id, to_global_id
from schema.context import Info


@strawberry.type(description="One change, chained to the one before it by SHA-256.")
class AuditEvent(Node):
    seq: int
    at: datetime.datetime
    actor: str = strawberry.field(description='Who made the change, e.g. "user:alice" or "client:hr-1".')
    action: str
    entity_type: str
    entity_id: strawberry.ID = strawberry.field(description="The global id of the entity changed.")
    hash: str
    previous_hash: str

    @classmethod
    def from_model(cls, e: db_audit.AuditEvent) -> AuditEvent:
        return cls(
            id=to_global_id("AuditEvent", e.seq),
            seq=e.seq,
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=to_global_id(e.entity_type, e.entity_id),
            hash=e.hash,
            previous_hash=e.previous_hash,
        )


@strawberry.type
class AuditVerification:
    ok: bool
    events_checked: int
    first_broken_seq: int | None = strawberry.field(
        description="The first seq whose event was changed, does not link to the one before, or is missing."
    )


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEvent


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: Page[db_audit.AuditEvent]) -> AuditEventConnection:
        return cls(**connection_fields(page, AuditEventEdge, AuditEvent.from_model))


@strawberry.input
class AuditEventFilter:
    entity_type: str | None = None
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="The global id of the entity, as AuditEvent.entityId shows it."
    )
    actor: str | None = None
    from_: datetime.datetime | None = strawberry.field(name="from", default=None, description="Inclusive.")
    to: datetime.datetime | None = strawberry.field(default=None, description="Exclusive.")


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Ministry only. Newest first.")
    async def audit_events(
        self, info: Info, filter: AuditEventFilter | None = None, first: int | None = 20, after: str | None = None
    ) -> AuditEventConnection:
        f = filter or AuditEventFilter()
        entity_type, entity_id = f.entity_type, None
        if f.entity_id is not None:
            parsed = parse_global_id(f.entity_id)
            if parsed is None or (entity_type is not None and parsed[0] != entity_type):
                raise ApiError("filter.entityId is not the global id of an entity of entityType.", "BAD_USER_INPUT")
            entity_type, entity_id = parsed
        try:
            page = await use_cases.list_audit_events(
                info.context.db,
                info.context.principal,
                entity_type=entity_type,
                entity_id=entity_id,
                actor=f.actor,
                at_from=f.from_,
                at_to=f.to,
                first=check_page_size(first),
                after=after,
            )
        except InvalidCursor as exc:
            raise ApiError(str(exc), "BAD_USER_INPUT") from exc
        except Forbidden as exc:
            raise ApiError(str(exc), "FORBIDDEN") from exc
        return AuditEventConnection.from_page(page)

    @strawberry.field(
        description="Ministry only: recomputes the hash chain and reports the first event that does not match."
    )
    async def verify_audit_log(self, info: Info) -> AuditVerification:
        try:
            result = await use_cases.verify_audit_log(info.context.db, info.context.principal)
        except Forbidden as exc:
            raise ApiError(str(exc), "FORBIDDEN") from exc
        return AuditVerification(
            ok=result.ok, events_checked=result.events_checked, first_broken_seq=result.first_broken_seq
        )
