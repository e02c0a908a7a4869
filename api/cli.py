"""The `karngar` command line: serve, migrate, seed-demo."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from api.settings import Settings
from db.embedded import EmbeddedPostgres
from db.migrate import upgrade

app = typer.Typer(help="Karngar: the employer-facing job-marketplace API.", no_args_is_help=True)


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded PostgreSQL under KARNGAR_DATA_DIR, stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@app.command()
def serve() -> None:
    """Migrate the database and serve the API (GraphiQL at /graphql)."""
    import uvicorn

    from api import observability
    from api.slow_clients import SlowClientProtocol
    from api.supervisor import ClosingSupervisor

    settings = Settings.from_env()
    logging.config.dictConfig(observability.log_config(settings))  # JSON logs, uvicorn's included
    # SIGTERM: uvicorn stops accepting, lets in-flight requests finish (up to KARNGAR_SHUTDOWN_TIMEOUT), then
    # the embedded PostgreSQL stops and the process exits 0.
    with (
        observability.stopped_by_signals(),
        observability.multiprocess_metrics(settings.workers),
        database(settings) as url,
    ):
        upgrade(url)
        # Workers are separate processes that build the app from the environment (api/asgi.py).
        os.environ["DATABASE_URL"] = url
        typer.echo(f"Karngar on http://{settings.host}:{settings.port}/graphql", err=True)
        config = uvicorn.Config(
            "api.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level.lower(),
            log_config=observability.log_config(settings),
            access_log=False,  # api/observability.py writes the access log, without query strings
            timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
            # A worker answers the supervisor's ping only once it has imported the app: on a busy machine that
            # takes longer than uvicorn's 5 s, and it would be killed and restarted over and over.
            timeout_worker_healthcheck=30,
            # Slow clients (api/slow_clients.py): header deadline and size cap, idle keep-alive, and 503 beyond
            # this many connections or requests in flight per worker.
            http=SlowClientProtocol,
            h11_max_incomplete_event_size=settings.max_header_bytes,
            timeout_keep_alive=settings.keep_alive_timeout_seconds,
            limit_concurrency=settings.limit_concurrency,
        )
        if config.workers > 1:
            ClosingSupervisor(config, sockets=[config.bind_socket()]).run()
        else:
            server = uvicorn.Server(config)
            server.run()
            if not server.started:
                raise typer.Exit(3)  # uvicorn's STARTUP_FAILURE: the app or the socket is broken


@app.command()
def migrate() -> None:
    """Apply every migration that has not been applied yet."""
    settings = Settings.from_env()
    with database(settings) as url:
        upgrade(url)
    typer.echo("The database is up to date.", err=True)


@app.command("seed-demo")
def seed_demo(as_json: bool = typer.Option(False, "--json", help="Print the credentials as JSON.")) -> None:
    """Create (or refresh) the demo ministry and employers, and print their credentials."""
    from api.demo import seed

    settings = Settings.from_env()
    with database(settings) as url:
        upgrade(url)
        credentials = asyncio.run(seed(url))
    if as_json:
        typer.echo(json.dumps(credentials, indent=2, ensure_ascii=False))
        return
    for group, people in credentials.items():
        typer.echo(f"{group}:")
        for entry in people:
            typer.echo("  " + ", ".join(f"{k}={v}" for k, v in entry.items() if not isinstance(v, (dict, list))))


@app.command("export-schema")
def export_schema(
    check: bool = typer.Option(False, "--check", help="Fail if schema/schema.graphql is out of date."),
) -> None:
    """Write the GraphQL SDL to schema/schema.graphql (the published contract)."""
    from schema.root import SCHEMA_FILE, schema_sdl

    sdl = schema_sdl()
    if check:
        if SCHEMA_FILE.read_text(encoding="utf-8") != sdl:
            typer.echo("schema/schema.graphql is out of date: run `karngar export-schema`.", err=True)
            raise typer.Exit(1)
        return
    SCHEMA_FILE.write_text(sdl, encoding="utf-8")
    typer.echo(f"Wrote {SCHEMA_FILE}", err=True)


@app.command("rotate-signing-key")
def rotate_signing_key(
    retire_only: bool = typer.Option(
        False, "--retire", help="Make no new key; delete older keys whose tokens have all expired."
    ),
    force: bool = typer.Option(
        False, "--force", help="With --retire: delete every older key now (a leaked key); its tokens stop working."
    ),
) -> None:
    """Sign new tokens with a new ES256 key; older keys stay in the JWKS until their tokens expire."""
    from datetime import UTC, datetime

    from auth.keys import retire, rotate

    settings = Settings.from_env()
    path = settings.signing_key_file
    if retire_only:
        removed = retire(path, force=force)
        typer.echo(json.dumps({"removed": removed}))
        return
    if force:
        raise typer.BadParameter("--force goes with --retire")
    kid, retiring = rotate(path, settings.access_token_ttl_seconds)
    retire_times = {old: datetime.fromtimestamp(at, UTC).isoformat() for old, at in retiring.items()}
    typer.echo(json.dumps({"signingKid": kid, "retiring": retire_times}))


@app.command()
def healthcheck() -> None:
    """Exit 0 when /healthz on KARNGAR_PORT answers: the container's HEALTHCHECK."""
    import urllib.request

    settings = Settings.from_env()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.port}/healthz", timeout=3) as response:
            healthy = response.status == 200
    except OSError:
        healthy = False
    if not healthy:
        raise typer.Exit(1)


from api import returnee_commands  # noqa: E402

returnee_commands.register(app)

from api import ministry_commands  # noqa: E402

ministry_commands.register(app)
