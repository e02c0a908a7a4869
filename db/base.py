"""The declarative base every table shares, with constraint names Alembic can compare."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, MetaData, func
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def pg_enum(enum_class: type[enum.Enum], name: str) -> SAEnum:
    """A native PostgreSQL enum whose labels are the Python enum's values."""
    return SAEnum(enum_class, name=name, values_callable=lambda e: [m.value for m in e])


def created_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def sql_in_list(values: object) -> str:
    """A SQL literal list of enum labels for CHECK constraints on text arrays."""
    return ", ".join(f"'{v.value}'" for v in values)  # type: ignore[attr-defined]


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the constraint a write violated (asyncpg's own exception is the DBAPI error's cause)."""
    return getattr(getattr(error.orig, "__cause__", None), "constraint_name", None)
