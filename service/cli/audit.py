"""``rekap audit verify``: check that nobody altered the history of any TPS."""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from service.audit.verify import verify
from service.db.pool import connect
from service.settings import Settings


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION"
    )
    check = audit.add_parser(
        "verify", help="recompute every TPS's hash chain; report the first broken link (exit 1 if any)"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=run_verify)


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        report = await verify(conn)
    if args.json:
        print(msgspec.json.encode(report).decode())
    elif report.first_broken is None:
        print(f"intact: {report.events} events in {report.chains} chains")
    else:
        first = report.first_broken
        where = f"event {first.event_id}" if first.event_id is not None else "the end of the chain"
        print(
            f"BROKEN: {len(report.broken)} link(s); the first at {where} "
            f"of TPS {first.tps_code}: {first.problem}"
        )
    return 0 if report.intact else 1
