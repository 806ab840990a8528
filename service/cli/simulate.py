"""``rekap simulate election-night``: the real service driven at a chosen rate over HTTP."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from service.cli.report import print_struct
from service.errors import InvalidInput
from service.settings import Settings
from service.sim.election import Options, simulate


def register(commands: Any) -> None:
    kinds = commands.add_parser("simulate", help="simulations of the real service").add_subparsers(
        dest="simulate_command", required=True, metavar="KIND"
    )
    night = kinds.add_parser(
        "election-night",
        help="the national TPS list, simulated KPPS uploads and media readers against a real "
        "API and workers; throughput, latencies, queue depth, and totals checked at the end",
    )
    cores = os.cpu_count() or 1
    night.add_argument("--tps", type=int, default=2000, help="TPS that send their three pages")
    night.add_argument("--rate", type=float, default=50.0, help="TPS per second")
    night.add_argument("--readers", type=int, default=8, help="media readers polling the public API")
    night.add_argument(
        "--skip-ocr",
        action="store_true",
        help="pages carry their numbers and workers skip the OCR: measures everything else",
    )
    night.add_argument("--api-processes", type=int, default=1)
    night.add_argument("--ocr-processes", type=int, default=cores)
    night.add_argument("--seed", type=int, default=1)
    night.add_argument(
        "--registry", help="a KPU registry file to load instead of the national TPS list (quick runs)"
    )
    night.add_argument("--drain-timeout", type=float, default=600.0, help="seconds to wait for publication")
    night.add_argument("--json", action="store_true")
    night.set_defaults(run=run_night)


async def run_night(settings: Settings, args: argparse.Namespace) -> int:
    options = _options(settings, args)
    report = await simulate(settings, options, lambda line: print(line, file=sys.stderr, flush=True))
    print_struct(report, args.json)
    return 0 if report.totals_match else 1


def _options(settings: Settings, args: argparse.Namespace) -> Options:
    if not (1 <= args.tps <= 1_000_000 and 0 < args.rate <= 10_000 and 0 <= args.readers <= 1000):
        raise InvalidInput(
            "--tps must be 1 to 1,000,000, --rate above 0 up to 10,000 and --readers 0 to 1,000"
        )
    if not (1 <= args.api_processes <= 64 and 1 <= args.ocr_processes <= 256):
        raise InvalidInput("--api-processes must be 1 to 64 and --ocr-processes 1 to 256")
    if args.registry is not None and not Path(args.registry).is_file():
        raise InvalidInput(f"the registry file {args.registry} does not exist")
    if not args.skip_ocr and not settings.forms_path.is_dir():
        raise InvalidInput(
            f"photos are made from the blank form in {settings.forms_path}, which is missing "
            "(REKAP_FORMS_DIR); or pass --skip-ocr"
        )
    return Options(
        tps=args.tps,
        rate=args.rate,
        readers=args.readers,
        skip_ocr=args.skip_ocr,
        api_processes=args.api_processes,
        ocr_processes=args.ocr_processes,
        seed=args.seed,
        drain_timeout=args.drain_timeout,
        registry=args.registry,
    )
