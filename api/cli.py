"""The `karngar` command line: serve, migrate, seed-demo."""

from __future__ import annotations

import asyncio
import json
import logging
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

    settings = Settings.from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with database(settings) as url:
        upgrade(url)
        # Workers are separate processes that build the app from the environment (api/asgi.py).
        os.environ["DATABASE_URL"] = url
        typer.echo(f"Karngar on http://{settings.host}:{settings.port}/graphql", err=True)
        uvicorn.run(
            "api.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level="info",
            access_log=settings.access_log,
        )


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


from api import returnee_commands  # noqa: E402

returnee_commands.register(app)

from api import ministry_commands  # noqa: E402

ministry_commands.register(app)
