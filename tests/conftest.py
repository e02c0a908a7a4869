"""Test fixtures: one real PostgreSQL database per run, migrated by Alembic, emptied before each test."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from api.app import create_app
from api.settings import Settings
from db.embedded import EmbeddedPostgres
from db.engine import Database, async_url
from db.migrate import upgrade
from tests.factories import Factory

# Tables the migrations fill and the tests never change.
TAXONOMY_TABLES = {"skills", "occupations", "alembic_version"}


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's when it is set, else an embedded one in a temp directory."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    # Outside pytest's own temp tree, whose permissions and clean-up other pytest runs may touch.
    data_dir = Path(tempfile.mkdtemp(prefix="karngar-test-"))
    embedded = EmbeddedPostgres(data_dir)
    embedded.start("postgres")
    try:
        yield embedded.url("postgres")
    finally:
        embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def admin(url: str, statement: str) -> None:
    """Run one statement outside any transaction (CREATE/DROP DATABASE), from sync or async code alike."""

    async def run() -> None:
        engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this run, migrated to head, dropped afterwards."""
    name = f"karngar_test_{uuid.uuid4().hex[:12]}"
    admin(server_url, f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    return Settings.from_env(
        {
            "KARNGAR_DATA_DIR": str(data_dir),
            "KARNGAR_ISSUER": "http://testserver",
            "KARNGAR_DB_POOL_SIZE": "5",
            # Every test calls from one address as few callers: tests/test_rate_limit.py turns it on for itself.
            "KARNGAR_RATE_LIMIT_ENABLED": "false",
        }
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, database_url: str) -> AsyncIterator[object]:
    application = create_app(settings, database_url)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def db(app: object) -> Database:
    return app.state.db  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> None:
    """Every test starts from the migrated taxonomy and nothing else."""
    if "db" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("db")
    async with db.write() as session:
        tables = (
            await session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
        ).all()
        emptied = ", ".join(f'"{t}"' for t in tables if t not in TAXONOMY_TABLES)
        # The audit trail refuses TRUNCATE by trigger; only the tests, as the tables' owner, lift it.
        await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        await session.execute(text(f"TRUNCATE {emptied} CASCADE"))
        await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def make(db: Database, client: httpx.AsyncClient) -> Factory:
    return Factory(db, client)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
