"""The engine's pool: a connection a network silently dropped is found out and replaced, within a bound."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

import db.engine
from db.engine import create_engine


class BlackHoleProxy:
    """A TCP proxy to PostgreSQL. After `black_hole()`, the connections it carries stay open and carry nothing
    more, as when a firewall drops idle connections without telling either end; new connections still pass."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        socket_dir = url.query.get("host")
        self.unix_socket = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if socket_dir else None
        self.target = (url.host or "127.0.0.1", url.port or 5432)
        self.generation = 0
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._carry, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def black_hole(self) -> None:
        self.generation += 1

    async def stop(self) -> None:
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _carry(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.tasks.add(task := asyncio.current_task())  # type: ignore[arg-type]
        if self.unix_socket:
            server_reader, server_writer = await asyncio.open_unix_connection(self.unix_socket)
        else:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        born = self.generation

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                if self.generation == born:  # once black-holed, what arrives is swallowed
                    writer.write(data)
                    await writer.drain()

        pumps = [
            asyncio.ensure_future(pump(client_reader, server_writer)),
            asyncio.ensure_future(pump(server_reader, client_writer)),
        ]
        try:  # either end closing closes the other
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for running in pumps:
                running.cancel()
            for writer in (client_writer, server_writer):
                with contextlib.suppress(Exception):
                    writer.close()
            self.tasks.discard(task)  # type: ignore[arg-type]


async def test_a_pooled_connection_that_went_silent_is_replaced_within_the_ping_timeout(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an unbounded ping (SQLAlchemy's pre-ping, or ours before) the next request waited forever."""
    monkeypatch.setattr(db.engine, "PING_WHEN_IDLE_SECONDS", 0.0)  # every checkout counts as idle
    monkeypatch.setattr(db.engine, "PING_TIMEOUT_SECONDS", 0.5)
    proxy = BlackHoleProxy(database_url)
    port = await proxy.start()
    url = make_url(database_url).set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        proxy.black_hole()  # the pooled connection's socket stays open; nothing answers on it any more

        started = time.monotonic()
        async with asyncio.timeout(10), engine.connect() as connection:
            answer = (await connection.execute(text("SELECT 2"))).scalar()

        assert answer == 2  # on a new connection
        assert time.monotonic() - started < 5  # the ping's bound, then at most 2 s to close the silent one
    finally:
        await engine.dispose()
        await proxy.stop()
