"""The async engine and the sessions resolvers use: short read sessions and one write transaction.

Every transaction says first who it acts for (db/caller.py): row-level security then refuses, in the
database itself, any row that caller may not touch, whatever a resolver's own query asked for.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.util import await_

from db.caller import SET_CALLER, SYSTEM, Caller, caller_of

if TYPE_CHECKING:
    from auth.principal import Principal


def async_url(database_url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and drive it with asyncpg."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


# The service's statements are short and index- or bitmap-driven: parallel workers take ~10 ms to start and
# the cores that other requests need, so none are used.
SERVER_SETTINGS = {"application_name": "karngar", "timezone": "UTC", "max_parallel_workers_per_gather": "0"}


def create_engine(
    database_url: str,
    *,
    pool_size: int = 10,
    statement_timeout_ms: int = 15000,
    connect_timeout_seconds: float = 5.0,
    pool_timeout_seconds: float = 10.0,
) -> AsyncEngine:
    """Every wait is bounded: a connection attempt (asyncpg's `timeout`) and a wait for a pooled connection
    both fail after their timeout, so a request while PostgreSQL is away fails fast (a 503 at /graphql)
    instead of hanging; dead pooled connections are replaced at checkout (`_replace_dead_connections`), so the
    service recovers by itself."""
    engine = create_async_engine(
        async_url(database_url),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout_seconds,
        connect_args={
            "timeout": connect_timeout_seconds,
            "server_settings": {**SERVER_SETTINGS, "statement_timeout": str(statement_timeout_ms)},
        },
    )
    _replace_dead_connections(engine)
    return engine


# SQLAlchemy's pool_pre_ping costs three round trips per checkout with asyncpg (BEGIN, a ping, ROLLBACK): more
# than a search's own statements. A connection the server closed (a restart, a terminated backend) is known
# without asking: asyncpg marks it closed when the socket ends. Only a connection left idle for a while, which a
# silent network failure (a firewall or NAT dropping idle connections) could have killed, is pinged before use,
# and the ping gives up after a bound instead of waiting on a connection that will never answer.
PING_WHEN_IDLE_SECONDS = 30.0
PING_TIMEOUT_SECONDS = 2.0
_RETURNED_AT = "karngar.returned_at"


def _replace_dead_connections(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    @event.listens_for(engine.sync_engine, "checkin")
    def returned(dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        # Raising DisconnectionError makes the pool discard this connection and check out (or open) another.
        driver = dbapi_connection.driver_connection
        if driver.is_closed():
            raise sa_exc.DisconnectionError("The server closed this pooled connection.")
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) >= PING_WHEN_IDLE_SECONDS:
            try:
                await_(driver.fetchrow(";", timeout=PING_TIMEOUT_SECONDS))
            except Exception as error:
                raise sa_exc.DisconnectionError("A pooled connection idle for a while did not answer.") from error


class CallerSession(Session):
    """A session whose every transaction first sets the caller kept in `info["caller"]`."""


@event.listens_for(CallerSession, "after_begin")
def _set_caller(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    # In the same transaction as what follows, before it; savepoints inherit the outer transaction's setting.
    if not transaction.nested:
        caller: Caller = session.info.get("caller", SYSTEM)
        connection.exec_driver_sql(SET_CALLER, caller.parameters())


class Database:
    """Hands out sessions. Query resolvers run concurrently, so each takes its own.

    `Database(engine)` acts as the system (the command line, sign-in); `for_principal` gives the same
    pool of connections bound to one authenticated caller, which is what GraphQL resolvers receive.
    With a read replica (KARNGAR_READ_REPLICA_URL), `search()` reads from it: candidate search and placement
    statistics, which only read and can bear replication lag; every other read and all writes use the primary.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        caller: Caller = SYSTEM,
        *,
        replica: AsyncEngine | None = None,
        _sessions: Any = None,
        _replica_sessions: Any = None,
    ) -> None:
        self.engine = engine
        self.replica = replica
        self.caller = caller
        self._sessions = _sessions or _sessionmaker(engine)
        self._replica_sessions = _replica_sessions or (_sessionmaker(replica) if replica else self._sessions)

    def for_caller(self, caller: Caller) -> Database:
        return Database(
            self.engine,
            caller,
            replica=self.replica,
            _sessions=self._sessions,
            _replica_sessions=self._replica_sessions,
        )

    def for_principal(self, principal: Principal) -> Database:
        return self.for_caller(caller_of(principal))

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions(info={"caller": self.caller}) as session, session.begin():
            yield session

    @asynccontextmanager
    async def search(self) -> AsyncIterator[AsyncSession]:
        """A read for search and statistics: on the read replica when there is one, else like `read()`."""
        async with self._replica_sessions(info={"caller": self.caller}) as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._sessions(info={"caller": self.caller}) as session, session.begin():
            yield session


def _sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, sync_session_class=CallerSession)
