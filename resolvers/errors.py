"""Expected failures as values: a use case returns user errors instead of raising."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class UserErrorCode(enum.StrEnum):
    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_STATE = "INVALID_STATE"
    CONFLICT = "CONFLICT"
    POSITIONS_FILLED = "POSITIONS_FILLED"
    ALREADY_HIRED = "ALREADY_HIRED"
    BELOW_MINIMUM_WAGE = "BELOW_MINIMUM_WAGE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


@dataclass(frozen=True)
class UserError:
    code: UserErrorCode
    message: str
    field: tuple[str, ...] | None = None


class Rejected(Exception):
    """Raised inside a write transaction to roll it back and report these user errors instead."""

    def __init__(self, *errors: UserError) -> None:
        super().__init__(errors[0].message if errors else "rejected")
        self.errors = list(errors)


class Forbidden(Exception):
    """A query the caller may not make at all (missing scope); reported as a FORBIDDEN GraphQL error."""


class BadRequest(Exception):
    """A query argument that cannot be honoured (bad cursor, page size); reported with its message."""
