"""The `karngar import-returnees` and `generate-profiles` commands: returnees in bulk, from a file or invented."""

from __future__ import annotations

import asyncio
import getpass
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from api.settings import Settings
from db.audit import Actor
from db.engine import Database, create_engine
from db.enums import Province
from db.migrate import upgrade
from db.synthetic import generate_returnees, settle_after_bulk_load
from resolvers.returnee_import import ImportFileError, ImportReport, import_returnees
from resolvers.validation import today_in_cambodia

Update = Callable[[float, int], None]


IMPORT_HELP = (
    "Register the returnees of a labour office's CSV file; rows already registered (same phone or national id)"
    " are skipped, so running it twice imports nothing twice.\n\n"
    "Columns: name, sex, date_of_birth, phone, national_id, province, district, commune, village, skills (codes"
    " separated by ';'), experience (occupation:years:abroad|home separated by ';', e.g. 8153:3:abroad;7112:1:home),"
    " certifications, languages, education_level, available_from, preferred_provinces, returned_on,"
    " consent_to_search (yes/no; empty means no).\n\n"
    "Dates are YYYY-MM-DD or DD/MM/YYYY. Every row passes the same checks as registerReturnee;"
    " resolvers/returnee_import.py documents the formats."
)


def register(app: typer.Typer) -> None:
    app.command("import-returnees", help=IMPORT_HELP)(import_returnees_command)
    app.command("generate-profiles")(generate_profiles_command)


@contextmanager
def progress_bar(description: str, total: float) -> Iterator[Update]:
    """A bar on stderr, shown only on a terminal, so that logs and piped --json output stay clean."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task(description, total=total, rows=0)
        yield lambda completed, rows: progress.update(task, completed=completed, rows=rows)


def import_returnees_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV file, in UTF-8.")],
    registered_by: Annotated[
        str, typer.Option("--registered-by", help="Who registers them, for the audit trail (default: your login).")
    ] = "",
    province: Annotated[
        Province | None,
        typer.Option(case_sensitive=False, help="Import only rows of this province; fills empty province cells."),
    ] = None,
    rejected: Annotated[
        Path | None, typer.Option(dir_okay=False, help="Write rejected rows here, with their line number and reason.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Register the returnees of a labour office's CSV file; rows already registered are skipped."""
    actor = Actor(name=f"cli:{registered_by or getpass.getuser()}", employer_id=None)
    settings = Settings.from_env()
    from api.cli import database  # here, not at the top: api.cli imports this module when it loads

    with database(settings) as url:
        upgrade(url)
        with (
            file.open(encoding="utf-8-sig", newline="") as lines,
            rejected.open("w", encoding="utf-8", newline="") if rejected else nullcontext() as rejected_rows,
            progress_bar(f"Importing {file.name}", file.stat().st_size) as update,
        ):
            try:
                report = asyncio.run(_import(url, lines, actor, province, rejected_rows, update))
            except ImportFileError as error:
                typer.echo(str(error), err=True)
                raise typer.Exit(2) from error
    _print_report(report, rejected, as_json)


async def _import(
    url: str, lines: TextIO, actor: Actor, province: Province | None, rejected: TextIO | None, update: Update
) -> ImportReport:
    engine = create_engine(url, pool_size=2)
    rows = 0

    def on_batch(size: int) -> None:
        nonlocal rows
        rows += size
        # The byte offset of the underlying file: a true fraction of the work without counting lines first.
        update(lines.buffer.tell(), rows)

    try:
        return await import_returnees(
            Database(engine), lines, actor=actor, province=province, rejected=rejected, on_batch=on_batch
        )
    finally:
        await engine.dispose()


def _print_report(report: ImportReport, rejected: Path | None, as_json: bool) -> None:
    if as_json:
        document = {**report.as_json(), "rejectedFile": str(rejected) if rejected else None}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    typer.echo(
        f"Imported {report.imported:,} returnees; rejected {report.rejected:,} rows; skipped {report.duplicates:,}"
        f" already registered ({report.duplicate_national_id:,} by national id, {report.duplicate_phone:,} by phone)."
    )
    if report.first_rejections:
        more = f" (the first {len(report.first_rejections)})" if report.rejected > len(report.first_rejections) else ""
        typer.echo(f"Rejected rows{more}:")
        for rejection in report.first_rejections:
            typer.echo(f"  line {rejection.line}: {rejection.reason}")
    if rejected is not None and report.rejected:
        typer.echo(f"Every rejected row, with its line and reason, is in {rejected}.")


def generate_profiles_command(
    count: Annotated[int, typer.Option(min=1, max=10_000_000, help="How many returnees to invent.")],
    seed: Annotated[int, typer.Option(help="The same seed gives the same returnees (with new phones and ids).")] = 0,
) -> None:
    """Add synthetic returnees (Khmer names, realistic provinces, ages, work and consent) for load tests."""
    settings = Settings.from_env()
    from api.cli import database  # here, not at the top: api.cli imports this module when it loads

    with database(settings) as url:
        upgrade(url)
        started = time.perf_counter()
        with progress_bar("Generating returnees", count) as update:
            asyncio.run(_generate(url, count, seed, update))
        elapsed = time.perf_counter() - started
        typer.echo(
            f"Generated {count:,} returnees (seed {seed}) in {elapsed:.1f} s, {count / elapsed:,.0f} a second;"
            " the k-anonymity group counts match the profiles."
        )
        typer.echo("VACUUM ANALYZE of the tables written, so that searches are fast at once ...")
        started = time.perf_counter()
        asyncio.run(settle_after_bulk_load(url))
        typer.echo(f"Done in {time.perf_counter() - started:.1f} s.")


async def _generate(url: str, count: int, seed: int, update: Update) -> None:
    engine = create_engine(url, pool_size=1)
    done = 0

    def on_chunk(size: int) -> None:
        nonlocal done
        done += size
        update(done, done)

    try:
        await generate_returnees(Database(engine), count, seed, today_in_cambodia(), on_chunk)
    finally:
        await engine.dispose()
