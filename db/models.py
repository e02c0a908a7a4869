"""Imports every table so that `Base.metadata` describes the whole schema (for Alembic)."""

from db import accounts, audit, catalog, contacts, hires, rate_limits, returnees, vacancies
from db.base import Base

__all__ = ["Base", "accounts", "audit", "catalog", "contacts", "hires", "rate_limits", "returnees", "vacancies"]
