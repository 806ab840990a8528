"""``rekap tps``: registered voters (DPT) per TPS."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from service.cli.progress import count_progress, file_progress
from service.cli.regions import add_scope_options
from service.cli.report import print_report
from service.db.pool import connect
from service.regions.voters import MAX_DPT, fill_synthetic_voters, import_voters
from service.settings import Settings


def register(commands: Any) -> None:
    tps = commands.add_parser("tps", help="registered voters per TPS").add_subparsers(
        dest="tps_command", required=True, metavar="ACTION"
    )
    run = tps.add_parser(
        "import", help="set each TPS's DPT from per-TPS CSV files (kode_tps, dpt_l, dpt_p, dpt_j)"
    )
    run.add_argument("files", type=Path, nargs="+", metavar="FILE", help="CSV, plain or gzip")
    add_scope_options(run)
    run.add_argument("--max-dpt", type=int, default=MAX_DPT, help="voters a TPS may have")
    run.set_defaults(run=run_import)

    fill = tps.add_parser(
        "fill-voters",
        help="give every TPS without a DPT a plausible synthetic one (marked synthetic), for benchmarks",
    )
    fill.add_argument("--only", action="append", default=[], metavar="CODE")
    fill.add_argument("--seed", type=int, default=2024)
    fill.add_argument("--max-dpt", type=int, default=MAX_DPT)
    fill.set_defaults(run=run_fill)


async def run_import(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        for path in args.files:
            started = time.monotonic()
            with file_progress(path, "reading") as on_bytes:
                report = await import_voters(
                    conn,
                    path,
                    only=args.only,
                    skip_bad=args.skip_bad,
                    max_dpt=args.max_dpt,
                    on_bytes=on_bytes,
                )
            print_report(report, time.monotonic() - started)
    return 0


async def run_fill(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        missing = await conn.fetchval("SELECT count(*) FROM tps WHERE dpt_j IS NULL")
        with count_progress(missing, "filling", "TPS") as on_progress:
            filled = await fill_synthetic_voters(
                conn, only=args.only, seed=args.seed, max_dpt=args.max_dpt, on_progress=on_progress
            )
    print(f"gave {filled} TPS a synthetic DPT (seed {args.seed})")
    return 0
