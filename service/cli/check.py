"""``rekap check sirekap FILE...``: the consistency rules and anomaly flags over Sirekap's numbers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import msgspec

from service.errors import InvalidInput
from service.results.sirekap import check_files
from service.settings import Settings


def register(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="run the consistency checks over published numbers"
    ).add_subparsers(dest="check_command", required=True, metavar="SOURCE")
    sirekap = check.add_parser("sirekap", help="Sirekap's per-TPS CSV files (plain or gzip)")
    sirekap.add_argument("files", type=Path, nargs="+", metavar="FILE")
    sirekap.add_argument("--json", action="store_true")
    sirekap.set_defaults(run=run_sirekap)


def run_sirekap(settings: Settings, args: argparse.Namespace) -> int:
    for path in args.files:
        if not path.is_file():
            raise InvalidInput(f"{path} does not exist")
    report = check_files(args.files)
    if args.json:
        print(msgspec.json.encode(report).decode())
        return 0
    print(
        f"{report.rows} rows, {report.tps_with_numbers} TPS with numbers, "
        f"{report.tps_breaking_a_blocking_rule} breaking a blocking rule"
    )
    for r in report.rules:
        print(f"  rule {r.number} {r.rule:24} {r.severity:8} {r.tps:6} TPS  e.g. {', '.join(r.examples[:3])}")
    for kind, count in report.anomalies.items():
        print(f"  anomaly {kind:22} {count:6} TPS  e.g. {', '.join(report.anomaly_examples[kind][:3])}")
    return 0
