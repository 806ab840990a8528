"""``rekap recap``: the regional totals (rebuild from scratch, apply pending changes, show one)."""

from __future__ import annotations

import argparse
import time
from typing import Any

import msgspec

from service.db.pool import connect
from service.recap import totals
from service.settings import Settings


def register(commands: Any) -> None:
    recap = commands.add_parser("recap", help="regional totals of the TPS results").add_subparsers(
        dest="recap_command", required=True, metavar="ACTION"
    )
    rebuild = recap.add_parser("rebuild", help="recompute every total from the TPS results")
    rebuild.set_defaults(run=run_rebuild)
    apply = recap.add_parser("apply", help="apply the pending changes (the worker does this continuously)")
    apply.set_defaults(run=run_apply)
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
