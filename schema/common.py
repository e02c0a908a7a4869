"""What every area of the schema shares: global ids, the Node interface, pages and user errors."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError

from db import enums
from db.pagination import Page
from resolvers.errors import UserError as DomainUserError
from resolvers.errors import UserErrorCode as DomainUserErrorCode

MAX_PAGE_SIZE = 100

Sector = strawberry.enum(enums.Sector)
Province = strawberry.enum(enums.Province)
AgeBand = strawberry.enum(enums.AgeBand)
Sex = strawberry.enum(enums.Sex)
EducationLevel = strawberry.enum(enums.EducationLevel)
ContractType = strawberry.enum(enums.ContractType)
Benefit = strawberry.enum(enums.Benefit)
VacancyStatus = strawberry.enum(enums.VacancyStatus)
Role = strawberry.enum(enums.Role)
UserErrorCode = strawberry.enum(DomainUserErrorCode)


class ApiError(GraphQLError):
    """An error the caller may read in full; every other exception is masked."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def to_global_id(type_name: str, raw_id: uuid.UUID | int | str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{raw_id}".encode()).decode().rstrip("="))


def parse_global_id(global_id: str) -> tuple[str, str] | None:
    """(type name, raw id) of a global id this API made, or None for anything else."""
    try:
        decoded = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, raw_id = decoded.partition(":")
    return (type_name, raw_id) if sep and type_name and raw_id else None


def uuid_of(global_id: str, type_name: str) -> uuid.UUID | None:
    """The UUID inside a global id of `type_name`, or None if the id is not one."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] != type_name:
        return None
    try:
        return uuid.UUID(parsed[1])
    except ValueError:
        return None


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="An expected failure the caller can act on.")
class UserError:
    code: UserErrorCode  # type: ignore[valid-type]
    message: str
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "monthlyWageUsd"].'
    )

    @classmethod
    def from_domain(cls, error: DomainUserError) -> UserError:
        return cls(code=error.code, message=error.message, field=list(error.field) if error.field else None)


def user_errors(errors: list[DomainUserError]) -> list[UserError]:
    return [UserError.from_domain(e) for e in errors]


def check_page_size(first: int | None, default: int = 20) -> int:
    if first is None:
        return default
    if not 0 <= first <= MAX_PAGE_SIZE:
        raise ApiError(f"first must be between 0 and {MAX_PAGE_SIZE}.", "BAD_USER_INPUT")
    return first


def connection_fields(page: Page[Any], edge: Callable[..., Any], node: Callable[[Any], Any]) -> dict[str, Any]:
    """edges, pageInfo and totalCount of a connection over one page of rows."""
    return {
        "edges": [edge(cursor=c, node=node(row)) for row, c in zip(page.rows, page.cursors, strict=True)],
        "page_info": page_info(page),
        "total_count": page.total,
    }


def page_info(page: Page[Any]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )
