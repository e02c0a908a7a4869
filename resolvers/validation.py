"""Checks shared by the use cases, each returning a user error that names the input field at fault."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from db.audit import canonical_json
from resolvers.errors import UserError, UserErrorCode

PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
MAX_MONEY = Decimal("100000.00")


def today_in_cambodia() -> date:
    return datetime.now(PHNOM_PENH).date()


def field(*path: str) -> tuple[str, ...]:
    return ("input", *path)


def invalid(message: str, *path: str) -> UserError:
    return UserError(UserErrorCode.INVALID, message, field(*path))


def check_text(value: str | None, name: str, *, max_length: int, required: bool) -> UserError | None:
    if value is None or not value.strip():
        return invalid(f"{name} must not be empty.", name) if required else None
    if len(value) > max_length:
        return invalid(f"{name} must be at most {max_length} characters.", name)
    return None


def check_money(value: Decimal | None, name: str) -> UserError | None:
    if value is None:
        return None
    if not value.is_finite() or value < 0:
        return invalid(f"{name} must be an amount of US dollars of 0 or more.", name)
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        return invalid(f"{name} must have at most two decimals.", name)
    if value > MAX_MONEY:
        return invalid(f"{name} must be at most {MAX_MONEY} US dollars a month.", name)
    return None


def request_digest(values: dict[str, Any]) -> str:
    """What an idempotency key is bound to: the request's input, canonically encoded."""
    return hashlib.sha256(canonical_json(values)).hexdigest()
