"""``rekap audit``: check that nobody altered the history of any TPS, and anchor it outside the
database with signed checkpoints (service/audit/anchor.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import msgspec

from service.audit import store
from service.audit.anchor import AnchorReport, make_checkpoint, verify_against
from service.audit.keys import generate, load_signing_key, public_hex, public_path, read_public_key
from service.audit.verify import AuditReport, verify
from service.db.pool import connect
from service.errors import DependencyUnavailable
from service.settings import Settings

log = logging.getLogger("rekap.audit")


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True, metavar="ACTION"
    )
    check = audit.add_parser(
        "verify",
        help="recompute every TPS's hash chain; with --against, also check a signed checkpoint "
        "(exit 1 on any problem)",
    )
    check.add_argument(
        "--against",
        metavar="CHECKPOINT",
        help="a checkpoint kept outside rekap: a file (JSON, or a log of them: its last) or an http(s) URL",
    )
    check.add_argument(
        "--public-key",
        metavar="KEY",
        help="the published key (64 hex digits, or a file holding them); default: the .pub beside "
        "REKAP_AUDIT_KEY_FILE",
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(run=run_verify)

    keygen = audit.add_parser(
        "keygen", help="create the Ed25519 key that signs checkpoints (REKAP_AUDIT_KEY_FILE) and its .pub"
    )
    keygen.set_defaults(run=run_keygen)
    audit.add_parser("public-key", help="print the signing key's public half, to publish").set_defaults(
        run=run_public_key
    )
    checkpoint = audit.add_parser(
        "checkpoint",
        help="sign the chains' heads now: stored for the public API and appended to REKAP_AUDIT_LOG_FILE",
    )
    checkpoint.add_argument(
        "--every", type=float, metavar="MINUTES", help="keep making one every MINUTES until stopped"
    )
    checkpoint.set_defaults(run=run_checkpoint)


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    if args.against is None:
        async with connect(settings.database_url) as conn:
            report = await verify(conn)
        print(msgspec.json.encode(report).decode() if args.json else describe_chains(report))
        return 0 if report.intact else 1
    key = read_public_key(args.public_key, Path(settings.audit_key_file))
    checkpoint = store.read_checkpoint(args.against)
    async with connect(settings.database_url) as conn:
        anchored = await verify_against(conn, checkpoint, key)
    print(msgspec.json.encode(anchored).decode() if args.json else describe_anchor(anchored))
    return 0 if anchored.intact else 1


def describe_chains(report: AuditReport) -> str:
    if report.first_broken is None:
        return f"intact: {report.events} events in {report.chains} chains"
    first = report.first_broken
    where = f"event {first.event_id}" if first.event_id is not None else "the end of the chain"
    return (
        f"BROKEN: {len(report.broken)} link(s); the first at {where} of TPS {first.tps_code}: {first.problem}"
    )


def describe_anchor(report: AnchorReport) -> str:
    lines = [describe_chains(report.chains)]
    if report.intact:
        lines.append(
            f"extends the checkpoint of {report.checkpoint_made_at} (boundary {report.checkpoint_seq}, "
            "signature valid): nothing up to it was rewritten"
        )
    else:
        lines += [f"BROKEN: {problem}" for problem in report.problems]
    return "\n".join(lines)


async def run_keygen(settings: Settings, _: argparse.Namespace) -> int:
    key_file = Path(settings.audit_key_file)
    public = generate(key_file)
    print(f"signing key: {key_file} (keep it here only; back it up offline)")
    print(f"public key:  {public_hex(public)} (also in {public_path(key_file)}): publish it apart from rekap")
    return 0


async def run_public_key(settings: Settings, _: argparse.Namespace) -> int:
    print(public_hex(load_signing_key(Path(settings.audit_key_file)).public_key()))
    return 0


async def run_checkpoint(settings: Settings, args: argparse.Namespace) -> int:
    if args.every is None:
        await checkpoint_once(settings)
        return 0
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        try:
            await checkpoint_once(settings)
        except DependencyUnavailable as error:  # PostgreSQL down or busy: the next round tries again
            log.warning("no checkpoint this round: %s", error)
        with contextlib.suppress(TimeoutError):  # the interval passed without a stop
            await asyncio.wait_for(stop.wait(), timeout=args.every * 60)
    return 0


async def checkpoint_once(settings: Settings) -> None:
    key = load_signing_key(Path(settings.audit_key_file))
    async with connect(settings.database_url) as conn:
        checkpoint = await make_checkpoint(conn, key)
        checkpoint_id = await store.save(conn, checkpoint)
    if settings.audit_log_file:
        store.append_log(Path(settings.audit_log_file), checkpoint)
    print(
        f"checkpoint {checkpoint_id}: {checkpoint.events} events in {checkpoint.chains} chains up to "
        f"seq {checkpoint.seq}, root {checkpoint.root[:16]}…",
        flush=True,
    )
