"""``rekap recap``: the regional totals (rebuild from scratch, apply pending changes, show one)."""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec

from service.db.pool import connect
from service.errors import InvalidInput
from service.recap import d_hasil, totals
from service.regions.files import BadRow, ImportRejected, ImportReport, checked_rows, read_csv
from service.settings import Settings
from service.users.store import user_named


def register(commands: Any) -> None:
    recap = commands.add_parser("recap", help="regional totals of the TPS results").add_subparsers(
        dest="recap_command", required=True, metavar="ACTION"
    )
    rebuild = recap.add_parser("rebuild", help="recompute every total from the TPS results")
    rebuild.set_defaults(run=run_rebuild)
    apply = recap.add_parser("apply", help="apply the pending changes (the worker does this continuously)")
    apply.set_defaults(run=run_apply)
    imp = recap.add_parser(
        "import",
        help="record D.Hasil numbers from a CSV (level,region,child,field,value) as an officer",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--user", required=True, help="the recap officer recording them (username)")
    imp.set_defaults(run=run_import)
    show = recap.add_parser("totals", help="a region's totals and progress as JSON")
    show.add_argument("code", nargs="?", default=None, help="region code (default: the nation)")
    show.set_defaults(run=run_totals)


async def run_rebuild(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        start = time.perf_counter()
        await totals.rebuild(conn)
        print(f"totals rebuilt in {time.perf_counter() - start:.1f} s")
    return 0


async def run_apply(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        print(f"{await totals.apply_all(conn)} change(s) applied")
    return 0


async def run_totals(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        print(msgspec.json.encode(await totals.region_totals(conn, args.code)).decode())
    return 0


HEADER = ["level", "region", "child", "field", "value"]


def read_d_hasil(path: Path) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    """(level, region) → child → field → value; every bad line is reported, nothing is taken."""
    lines = read_csv(path)
    _, header = next(lines)
    if [c.strip().lower() for c in header] != HEADER:
        raise InvalidInput(f"{path}: the first line must be {','.join(HEADER)}")
    forms: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))

    def parse(_: int, row: list[str]) -> None:
        level, region, child, field, value = (c.strip() for c in row)
        if not value.isdigit():
            raise BadRow(f"the value {value!r} is not a whole number")
        if field in forms[(level, region)][child]:
            raise BadRow(f"{child} {field} is given twice")
        forms[(level, region)][child][field] = int(value)

    report = ImportReport(file=str(path))
    for _ in checked_rows(lines, HEADER, parse, report):
        pass
    if report.bad_lines:
        raise ImportRejected(report, "fix them; nothing was recorded")
    return forms


async def run_import(settings: Settings, args: argparse.Namespace) -> int:
    forms = read_d_hasil(args.file)
    async with connect(settings.database_url) as conn:
        user = await user_named(conn, args.user)
        async with conn.transaction():
            results = [
                await d_hasil.record(conn, user, lv, rg, children) for (lv, rg), children in forms.items()
            ]
    for result in results:
        print(
            f"{result.level} {result.region}: {result.recorded} numbers, "
            f"{len(result.discrepancies)} differences"
        )
        for d in result.discrepancies:
            causes = ", ".join(f"{t.tps} ({t.state})" for t in d.tps if t.state != "published")
            print(
                f"  {d.child} {d.field}: form {d.recorded}, TPS sum {d.expected}"
                + (f"; not counted: {causes}" if causes else "")
            )
    return 0
