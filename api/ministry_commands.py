"""The `karngar verify-audit` and `export-hires` commands: the ministry's audit from a terminal."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Annotated, BinaryIO

import typer

from api.exports import BadExportFilter, criteria_from, csv_chunks
from api.settings import Settings
from db.audit import ChainVerification
from db.engine import Database, create_engine
from db.hires import HireCriteria
from resolvers.audit import verify_chain
from resolvers.hires import hires_for_export


def register(app: typer.Typer) -> None:
    app.command("verify-audit")(verify_audit_command)
    app.command("export-hires")(export_hires_command)


@asynccontextmanager
async def _database(url: str) -> AsyncIterator[Database]:
    engine = create_engine(url, pool_size=1)
    try:
        yield Database(engine)
    finally:
        await engine.dispose()


def verify_audit_command() -> None:
    """Recompute the audit trail's hash chain from its first event; exit 1 naming the first broken seq."""
    from api.cli import database  # here, not at the top: api.cli imports this module when it loads

    async def verify(url: str) -> ChainVerification:
        async with _database(url) as db:
            return await verify_chain(db)

    with database(Settings.from_env()) as url:
        result = asyncio.run(verify(url))
    if result.ok:
        typer.echo(f"The audit trail holds: {result.events_checked} events verified.")
        return
    typer.echo(f"The audit trail is broken at seq {result.first_broken_seq} ({result.events_checked} events checked).")
    raise typer.Exit(1)


def export_hires_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write here instead of to stdout.")
    ] = None,
    status: Annotated[list[str] | None, typer.Option(help="ACTIVE, ENDED or VOIDED; repeat or comma-separate.")] = None,
    province: Annotated[list[str] | None, typer.Option(help="The vacancy's province, e.g. KAMPONG_SPEU.")] = None,
    sector: Annotated[
        list[str] | None, typer.Option(help="The vacancy's sector: TEXTILE, CONSTRUCTION, AGRICULTURE.")
    ] = None,
    employer_id: Annotated[str | None, typer.Option(help="The employer's global id (or UUID).")] = None,
    recorded_from: Annotated[
        str | None, typer.Option(help="Recorded at or after this ISO date or time (Phnom Penh if no offset).")
    ] = None,
    recorded_to: Annotated[str | None, typer.Option(help="Recorded before this ISO date or time.")] = None,
) -> None:
    """Write every hire as the ministry's CSV export (UTF-8 with a byte order mark, as GET /exports/hires.csv)."""
    from api.cli import database  # here, not at the top: api.cli imports this module when it loads

    try:
        criteria = criteria_from(
            statuses=status or (),
            provinces=province or (),
            sectors=sector or (),
            employer_id=employer_id,
            recorded_from=recorded_from,
            recorded_to=recorded_to,
        )
    except BadExportFilter as exc:
        raise typer.BadParameter(str(exc)) from exc
    with (
        database(Settings.from_env()) as url,
        output.open("wb") if output else nullcontext(sys.stdout.buffer) as out,
    ):
        asyncio.run(_export(url, criteria, out))


async def _export(url: str, criteria: HireCriteria, out: BinaryIO) -> None:
    async with _database(url) as db:
        async for chunk in csv_chunks(hires_for_export(db, criteria)):
            out.write(chunk)
