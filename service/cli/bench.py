"""``rekap bench``: benchmarks that print their figures as JSON (tests never time anything)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ocr.bench import bench as bench_ocr
from service.cli.report import print_struct
from service.errors import InvalidInput
from service.photos import bench as intake_bench
from service.public.bench import bench as bench_api
from service.recap.bench import QUICK_TPS
from service.recap.bench import bench as bench_recap
from service.settings import Settings
from service.sim.election import REGISTRY_DB, registry_database

REAL_PHOTOS = ("c1_form_images", "c1_form_images_unverified")
"""The folders of REKAP_DATA_DIR holding whole real pages; a missing one is left out
(``real_pages`` says how many were timed). ``c1_page2_crops`` holds cut-out parts of page 2,
not photos a KPPS would send, and ``c1_2019_ppwp_scans`` the 2019 form."""


def register(commands: Any) -> None:
    targets = commands.add_parser("bench", help="benchmarks that print JSON").add_subparsers(
        dest="bench_command", required=True, metavar="TARGET"
    )
    ocr = targets.add_parser(
        "ocr", help="ms per page on one core: mean, median, p90, p99, max, by stage; refused photos apart"
    )
    ocr.add_argument("--quick", action="store_true", help="6 photos of each source instead of all")
    ocr.add_argument("--json", action="store_true")
    ocr.set_defaults(run=run_ocr)
    recap = targets.add_parser(
        "recap", help="TPS results into regional totals: writers, applier, rebuild (scratch database)"
    )
    recap.add_argument("--quick", action="store_true", help=f"a synthetic tree of {QUICK_TPS:,} TPS")
    recap.add_argument(
        "--tps", type=int, help="a synthetic tree of this many TPS (default: the national list, 822,116 TPS)"
    )
    recap.add_argument("--writers", type=int, default=32, help="concurrent writers, as OCR workers")
    recap.add_argument("--json", action="store_true")
    recap.set_defaults(run=run_recap)
    intake = targets.add_parser(
        "intake", help="real-size uploads from many KPPS: rate, latency, lost, duplicated (scratch database)"
    )
    intake.add_argument("--tps", type=int, default=1500, help="TPS whose three pages are sent")
    intake.add_argument(
        "--concurrency", type=int, default=12, help="uploads in flight (phones waiting on an answer)"
    )
    intake.add_argument("--quick", action="store_true", help="300 TPS")
    intake.add_argument("--json", action="store_true")
    intake.set_defaults(run=run_intake)
    api = targets.add_parser(
        "api", help="the cached public API against nginx serving the same bytes (wrk), and freshness"
    )
    api.add_argument("--workers", type=int, default=2, help="processes of the API and of nginx")
    api.add_argument("--connections", type=int, default=64)
    api.add_argument("--duration", type=float, default=10.0, help="seconds of load per target")
    api.add_argument("--quick", action="store_true", help="3 s per target")
    api.add_argument("--json", action="store_true")
    api.set_defaults(run=run_api)


def run_ocr(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.forms_path.is_dir():
        raise InvalidInput(f"blank form folder {settings.forms_path} does not exist (REKAP_FORMS_DIR)")
    real = {name: settings.data_path / name / "images" for name in REAL_PHOTOS}
    found = {name: folder for name, folder in real.items() if folder.is_dir()}
    print_struct(bench_ocr(settings.forms_path, found, quick=args.quick), args.json)
    return 0


async def run_recap(settings: Settings, args: argparse.Namespace) -> int:
    tps = QUICK_TPS if args.quick else args.tps
    if not ((tps is None or 1 <= tps <= 1_000_000) and 1 <= args.writers <= 64):
        raise InvalidInput("--tps must be 1 to 1,000,000 and --writers 1 to 64")
    template = None
    if tps is None:  # the national list, kept by the simulation (imported the first time)
        try:
            await registry_database(settings, lambda line: print(line, file=sys.stderr))
        except FileNotFoundError as error:
            raise InvalidInput(f"{error}; --quick runs without it") from error
        template = REGISTRY_DB
    figures = await bench_recap(settings.database_url, tps=tps, writers=args.writers, template=template)
    print_struct(figures, args.json)
    return 0


async def run_intake(settings: Settings, args: argparse.Namespace) -> int:
    tps = 300 if args.quick else args.tps
    if not (1 <= tps <= 100_000 and 1 <= args.concurrency <= 1024):
        raise InvalidInput("--tps must be 1 to 100,000 and --concurrency 1 to 1,024")
    print_struct(
        await intake_bench.bench(settings, intake_bench.Options(tps=tps, concurrency=args.concurrency)),
        args.json,
    )
    return 0


async def run_api(settings: Settings, args: argparse.Namespace) -> int:
    if not (1 <= args.workers <= 64 and 1 <= args.connections <= 10_000):
        raise InvalidInput("--workers must be 1 to 64 and --connections 1 to 10,000")
    duration = 3.0 if args.quick else args.duration
    figures = await bench_api(
        settings.database_url, workers=args.workers, connections=args.connections, duration=duration
    )
    print_struct(figures, args.json)
    return 0
