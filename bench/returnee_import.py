"""How fast `karngar import-returnees` registers a labour office's CSV.

    .venv/bin/python bench/returnee_import.py [--rows 20000] [--registered 0] [--seed 3]

Writes a seeded CSV of --rows synthetic returnees (db.synthetic: the names, provinces, work and skills of
`generate-profiles`), of which 5% repeat an earlier row's phone or national id and 2% have a cell the import
refuses, then imports it (resolvers.returnee_import, as the command does: 500 rows a transaction) into a fresh
database `karngar_import` (the embedded PostgreSQL under `KARNGAR_BENCH_DIR`, default `./.karngar-bench`, or
`DATABASE_URL`'s server) that already holds --registered generated returnees. Prints rows a second, overall and
for the last half, and checks the report against what was written.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_database
from db.audit import Actor
from db.engine import Database, create_engine
from db.synthetic import generate_returnees, synthetic_returnees
from resolvers.returnee_import import COLUMNS, import_returnees
from resolvers.validation import today_in_cambodia

OFFICE = Actor(name="bench:import", employer_id=None)
DUPLICATE_SHARE, BAD_SHARE = 0.05, 0.02


def office_csv(rows: int, seed: int, first: int) -> Iterator[str]:
    """The CSV's lines, header first, as a provincial office would keep it."""
    today = today_in_cambodia()
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    yield ",".join(COLUMNS) + "\n"
    written: list[list[str]] = []
    returnees = synthetic_returnees(seed, today, first=first)
    for _ in range(rows):
        if written and rng.random() < DUPLICATE_SHARE:
            row = list(rng.choice(written))  # the same person entered twice
        else:
            r = next(returnees)
            identity, profile = r.identity, r.profile
            experience = ";".join(
                f"{code}:{years}:{'abroad' if abroad else 'home'}" for _, code, abroad, _, years in r.experience
            )
            row = [
                identity[1], identity[2], identity[3].isoformat(), identity[4], identity[5] or "", identity[6],
                "", "", "", ";".join(profile[11]), experience, ";".join(profile[9]), ";".join(profile[10]),
                profile[6], profile[7].isoformat(), ";".join(profile[8]), identity[7].isoformat(),
                "yes" if identity[8] else "no",
            ]  # fmt: skip
            if rng.random() < BAD_SHARE:
                row[3] = "12 34"  # not a Cambodian phone number
            written.append(row)
        writer.writerow(row)
        yield out.getvalue()
        out.seek(0)
        out.truncate()


async def main(args: argparse.Namespace, url: str) -> None:
    db = Database(create_engine(url, pool_size=2))
    if args.registered:
        print(f"registering {args.registered:,} generated returnees first ...", flush=True)
        await generate_returnees(db, args.registered, args.seed + 1, today_in_cambodia())
    done, marks = 0, [(0, time.perf_counter())]

    def on_batch(size: int) -> None:
        nonlocal done
        done += size
        marks.append((done, time.perf_counter()))

    started = time.perf_counter()
    report = await import_returnees(
        db, office_csv(args.rows, args.seed, first=args.registered), actor=OFFICE, on_batch=on_batch
    )
    took = time.perf_counter() - started
    async with db.read() as session:
        registered = await session.scalar(text("SELECT count(*) FROM returnee_identities"))
        events = await session.scalar(text("SELECT count(*) FROM audit_events WHERE actor = :a"), {"a": OFFICE.name})
    await db.engine.dispose()
    half = next(m for m in marks if m[0] >= done / 2)
    print(
        f"{args.rows:,} rows in {took:.1f} s: {args.rows / took:,.0f} rows a second"
        f" (the second half {(done - half[0]) / (marks[-1][1] - half[1]):,.0f});"
        f" imported {report.imported:,}, rejected {report.rejected:,}, duplicates {report.duplicates:,}"
    )
    assert report.imported == registered - args.registered == events, (report.imported, registered, events)
    assert report.imported + report.rejected + report.duplicates == args.rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--registered", type=int, default=0, help="generated returnees registered before the import")
    parser.add_argument("--seed", type=int, default=3)
    arguments = parser.parse_args()
    directory = Path(os.environ.get("KARNGAR_BENCH_DIR", ".karngar-bench")).resolve()
    with bench_database(directory, "karngar_import", fresh=True) as (bench_url, _):
        asyncio.run(main(arguments, bench_url))
