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
    # Observability and operations (api/observability.py, `karngar serve`).
    log_level: str = "INFO"
    log_json: bool = True
    metrics_token: str | None = None
    otel: bool = False
    shutdown_timeout_seconds: int = 30
    # Rate limits, login throttling and slow clients (api/ratelimit.py, auth/throttle.py, api/slow_clients.py).
    rate_limit_enabled: bool = True
    rate_limit_store: str = "memory"
    rate_limit_client_rate: float = 10.0
    rate_limit_client_burst: int = 100
    rate_limit_ip_rate: float = 50.0
    rate_limit_ip_burst: int = 300
    login_max_failures: int = 5
    login_ip_max_failures: int = 50
    login_failure_window_seconds: float = 900.0
    limit_concurrency: int | None = 1000
    keep_alive_timeout_seconds: int = 5
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    max_header_bytes: int = 16384
    # The HTTP edge of /graphql and the database's bounded waits (api/graphql.py, db/engine.py).
    max_body_bytes: int = 256 * 1024
    max_batch_operations: int = 0
    db_connect_timeout_seconds: float = 5.0
    db_pool_timeout_seconds: float = 10.0
    # GraphQL operation limits (schema/limits.py).
    graphql_max_depth: int = 15
    graphql_max_aliases: int = 15
    graphql_max_tokens: int = 2000
    graphql_max_directives: int = 8
    graphql_max_cost: int = 10_000
    # A read replica for candidate search and placement statistics (db/engine.py Database.search).
    read_replica_url: str | None = None

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
            log_level=env.get("KARNGAR_LOG_LEVEL", "INFO").upper(),
            log_json=env.get("KARNGAR_LOG_FORMAT", "json").lower() != "text",
            metrics_token=env.get("KARNGAR_METRICS_TOKEN") or None,
            otel=bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
            or env.get("KARNGAR_OTEL", "false").lower() in ("1", "true", "yes"),
            shutdown_timeout_seconds=int(env.get("KARNGAR_SHUTDOWN_TIMEOUT", "30")),
            rate_limit_enabled=env.get("KARNGAR_RATE_LIMIT_ENABLED", "true").lower() in ("1", "true", "yes"),
            rate_limit_store=env.get("KARNGAR_RATE_LIMIT_STORE", "memory").lower(),
            rate_limit_client_rate=float(env.get("KARNGAR_RATE_LIMIT_CLIENT_RATE", "10")),
            rate_limit_client_burst=int(env.get("KARNGAR_RATE_LIMIT_CLIENT_BURST", "100")),
            rate_limit_ip_rate=float(env.get("KARNGAR_RATE_LIMIT_IP_RATE", "50")),
            rate_limit_ip_burst=int(env.get("KARNGAR_RATE_LIMIT_IP_BURST", "300")),
            login_max_failures=int(env.get("KARNGAR_LOGIN_MAX_FAILURES", "5")),
            login_ip_max_failures=int(env.get("KARNGAR_LOGIN_IP_MAX_FAILURES", "50")),
            login_failure_window_seconds=float(env.get("KARNGAR_LOGIN_FAILURE_WINDOW", "900")),
            limit_concurrency=int(env.get("KARNGAR_LIMIT_CONCURRENCY", "1000")) or None,
            keep_alive_timeout_seconds=int(env.get("KARNGAR_KEEP_ALIVE_TIMEOUT", "5")),
            header_timeout_seconds=float(env.get("KARNGAR_HEADER_TIMEOUT", "10")),
            body_timeout_seconds=float(env.get("KARNGAR_BODY_TIMEOUT", "30")),
            max_header_bytes=int(env.get("KARNGAR_MAX_HEADER_BYTES", "16384")),
            max_body_bytes=int(env.get("KARNGAR_MAX_BODY_BYTES", str(256 * 1024))),
            max_batch_operations=int(env.get("KARNGAR_MAX_BATCH_OPERATIONS", "0")),
            db_connect_timeout_seconds=float(env.get("KARNGAR_DB_CONNECT_TIMEOUT", "5")),
            db_pool_timeout_seconds=float(env.get("KARNGAR_DB_POOL_TIMEOUT", "10")),
            graphql_max_depth=int(env.get("KARNGAR_GRAPHQL_MAX_DEPTH", "15")),
            graphql_max_aliases=int(env.get("KARNGAR_GRAPHQL_MAX_ALIASES", "15")),
            graphql_max_tokens=int(env.get("KARNGAR_GRAPHQL_MAX_TOKENS", "2000")),
            graphql_max_directives=int(env.get("KARNGAR_GRAPHQL_MAX_DIRECTIVES", "8")),
            graphql_max_cost=int(env.get("KARNGAR_GRAPHQL_MAX_COST", "10000")),
            read_replica_url=env.get("KARNGAR_READ_REPLICA_URL") or None,
        )
