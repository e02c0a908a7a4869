"""Applies and reverts the Alembic migrations in `migrations/`, from the command line or from tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import migrations

SCRIPT_LOCATION = Path(migrations.__file__).parent


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(SCRIPT_LOCATION / "alembic.ini"))
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at `database_url` (runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade_on(connection: AsyncConnection, revision: str = "head") -> None:
    await connection.run_sync(_run, "upgrade", revision)


async def downgrade_on(connection: AsyncConnection, revision: str) -> None:
    await connection.run_sync(_run, "downgrade", revision)


def _run(sync_connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    getattr(command, direction)(config, revision)
