"""``rekap regions``: load the region and TPS registry."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from service.cli.progress import file_progress
from service.cli.report import print_report
from service.db.pool import connect
from service.regions.registry import import_registry
from service.settings import Settings


def register(commands: Any) -> None:
    regions = commands.add_parser("regions", help="the region and TPS registry").add_subparsers(
        dest="regions_command", required=True, metavar="ACTION"
    )
    run = regions.add_parser(
        "import",
        help="load KPU's registry (kode,nama,kpu_id,tingkat,kode_induk; levels 1-5) "
        "or Kemendagri's list (kode,nama,level,kode_induk)",
    )
    run.add_argument("file", type=Path, help="CSV, plain or gzip")
    add_scope_options(run)
    run.set_defaults(run=run_import)


def add_scope_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="CODE",
        help="import only under this region code (repeatable), e.g. --only 31 --only 34",
    )
    parser.add_argument("--skip-bad", action="store_true", help="import the good lines even if some are bad")


async def run_import(settings: Settings, args: argparse.Namespace) -> int:
    started = time.monotonic()
    async with connect(settings.database_url) as conn:
        with file_progress(args.file, "reading") as on_bytes:
            report = await import_registry(
                conn,
                args.file,
                only=args.only,
                skip_bad=args.skip_bad,
                on_bytes=on_bytes,
                on_stage=lambda stage: print(stage, flush=True),
            )
    print_report(report, time.monotonic() - started)
    return 0
