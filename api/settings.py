"""Every setting of the service, read from environment variables in this one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    data_dir: Path
    host: str
    port: int
    issuer: str
    audience: str
    access_token_ttl_seconds: int
    session_ttl_seconds: int
    signing_key_file: Path
    secure_cookies: bool
    db_pool_size: int
    statement_timeout_ms: int
    workers: int
    access_log: bool

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("KARNGAR_DATA_DIR", ".karngar")).resolve()
        host = env.get("KARNGAR_HOST", "127.0.0.1")
        port = int(env.get("KARNGAR_PORT", "8000"))
        issuer = env.get("KARNGAR_ISSUER", f"http://{host}:{port}").rstrip("/")
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=data_dir,
            host=host,
            port=port,
            issuer=issuer,
            audience=env.get("KARNGAR_AUDIENCE", f"{issuer}/graphql"),
            access_token_ttl_seconds=int(env.get("KARNGAR_ACCESS_TOKEN_TTL", "3600")),
            session_ttl_seconds=int(env.get("KARNGAR_SESSION_TTL", str(8 * 3600))),
            signing_key_file=Path(env.get("KARNGAR_SIGNING_KEY_FILE", str(data_dir / "signing-key.json"))),
            secure_cookies=env.get("KARNGAR_SECURE_COOKIES", "false").lower() in ("1", "true", "yes"),
            db_pool_size=int(env.get("KARNGAR_DB_POOL_SIZE", "10")),
            statement_timeout_ms=int(env.get("KARNGAR_STATEMENT_TIMEOUT_MS", "15000")),
            workers=int(env.get("KARNGAR_WORKERS", "1")),
            access_log=env.get("KARNGAR_ACCESS_LOG", "true").lower() in ("1", "true", "yes"),
        )
