"""``rekap demo``: a working rekap in one command: schema, regions (the real ones of DKI Jakarta
and DI Yogyakarta, or an example country without ``../shared``), demo accounts, the API on a free
port, an OCR worker beside it, and the KPPS of a hundred-odd TPS sending their photos
(``service.sim.demo``) so that /hasil fills and /petugas has work."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

from service.cli.db import describe_role, migrate_as_owner
from service.cli.progress import count_progress, file_progress
from service.cli.serve import add_listen_options, serve
from service.db.pool import connect, ensure_database
from service.errors import InvalidInput
from service.regions.example import load_example
from service.regions.registry import NATIONAL_REGISTRY, import_registry
from service.regions.voters import import_voters
from service.results.states import TpsState
from service.settings import Settings
from service.sim import demo
from service.users.demo import create_demo_accounts
from service.users.model import IssuedCredential, Role

PROVINCES = ("31", "34")  # DKI Jakarta, DI Yogyakarta: the provinces with real per-TPS data
VOTERS = (
    "pilpres2024_tps_dki/ppwp_tps_dki_jakarta_20240220.csv.gz",
    "pilpres2024_tps_diy/ppwp_tps_di_yogyakarta_20240317.csv.gz",
)


PENDING = (TpsState.RECEIVED, TpsState.READ, TpsState.VERIFIED)
"""States of a TPS the worker has not finished with."""


class Prepared(msgspec.Struct, frozen=True, kw_only=True):
    issued: list[IssuedCredential]
    tps: list[demo.DemoTps]
    secrets: dict[str, str]


def register(commands: Any) -> None:
    parser = commands.add_parser("demo", help="load the demo election, serve the API and send photos")
    add_listen_options(parser)
    parser.add_argument("--real", type=int, default=20, help="TPS whose real photos are sent (default 20)")
    parser.add_argument("--synthetic", type=int, default=100, help="TPS sent synthetic photos (default 100)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between two TPS sent (default 0.5)")
    parser.set_defaults(run=run_demo)


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    photographer = demo.Photographer(settings.forms_path)
    prepared = asyncio.run(prepare(settings, args.real, args.synthetic))
    host = args.host or settings.host
    port = free_port(host, settings.port if args.port is None else args.port)
    base = f"http://{host}:{port}"
    _print_guide(base, prepared.issued)
    env = {**os.environ, "REKAP_LOG_LEVEL": "warning"}  # a line per photo would hide the progress bar
    if photographer.simulated:
        env["REKAP_SIMULATED_OCR"] = "1"  # the simulated pages carry their numbers (service.sim.pages)
        print(
            "  The blank C.Hasil form is not on this machine (REKAP_FORMS_DIR): the synthetic TPS send\n"
            "  simulated pages that carry their numbers, which the demo's worker takes as read.",
            flush=True,
        )
    processes = str(max(1, (os.cpu_count() or 1) - 1))
    worker = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "worker", "--processes", processes], env=env
    )
    sender = threading.Thread(
        target=_send_all,
        args=(settings, base, prepared, photographer, args.pause),
        daemon=True,
        name="demo-kpps",
    )
    if prepared.tps:
        sender.start()
    try:
        serve(settings, host, port, args.workers or settings.worker_count)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return 0


def _print_guide(base: str, issued: list[IssuedCredential]) -> None:
    kpps = next(c.user for c in issued if c.user.role is Role.KPPS)
    print(
        f"\nrekap demo: {base}\n"
        f"  results:  {base}/hasil          (public, nation down to each TPS)\n"
        f"  KPPS:     {base}/kpps           (phone page: photograph the three pages)\n"
        f"  officers: {base}/petugas        (review queue)\n"
        f"  health:   {base}/health\n"
        f"  API docs: {base}/schema\n"
        f"  regions:  {base}/api/v1/regions/34\n"
        "  accounts (new passwords each run):"
    )
    for credential in issued:
        user = credential.user
        print(f"    {user.role.value:8} {user.username:24} {credential.secret}")
    print(
        f"  log in:   curl -s {base}/api/v1/auth/login -H 'content-type: application/json' "
        f'-d \'{{"username": "{issued[0].user.username}", "password": "{issued[0].secret}"}}\'\n'
        "  then send 'Authorization: Bearer <token>'.\n"
        f"  a KPPS sends a photo of a page: curl -s {base}/api/v1/tps/{kpps.tps_code}/ppwp/photos "
        "-H 'Authorization: Bearer <its token>' -F photo=@page1.jpg\n"
        f"  and follows its reading:        curl -s {base}/api/v1/tps/{kpps.tps_code}/ppwp "
        "-H 'Authorization: Bearer <its token>'\n"
        "  An OCR worker (rekap worker) runs beside the API. Stop both with Ctrl-C.\n",
        flush=True,
    )


def _send_all(
    settings: Settings, base: str, prepared: Prepared, photographer: demo.Photographer, pause_s: float
) -> None:
    """The demo's KPPS at work (a thread beside the server): once the API answers, each sends its
    TPS's pages; then what became of them, once the worker is through."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tps = prepared.tps
    real = sum(1 for t in tps if t.photos)
    print(
        f"\nrekap demo: {len(tps)} KPPS send their photos "
        f"({real} TPS with real photos, {len(tps) - real} synthetic)"
    )
    total = sum(len(t.photos) or 3 for t in tps)
    with count_progress(total, "photos sent", "photo") as advance:
        sent = asyncio.run(
            demo.send(base, tps, prepared.secrets, photographer, pause_s=pause_s, on_photo=advance)
        )
    for problem in sent.refused[:5]:
        print(f"  refused: {problem}")
    states = asyncio.run(_settled(settings, tps))
    published = states.get(TpsState.PUBLISHED, 0)
    waiting = sum(n for state, n in states.items() if state not in (TpsState.PUBLISHED, *PENDING))
    print(
        f"rekap demo: {sent.photos} photos of {sent.tps} TPS sent; {published} TPS published "
        f"(see {base}/hasil), {waiting} waiting for an officer "
        f"(log in as the officer above at {base}/petugas)",
        flush=True,
    )


async def _settled(settings: Settings, tps: list[demo.DemoTps], timeout_s: float = 120) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    async with connect(settings.database_url) as conn:
        while True:
            states = await demo.outcome(conn, tps)
            if not any(states.get(s) for s in PENDING) or time.monotonic() > deadline:
                return states
            await asyncio.sleep(1)


async def prepare(settings: Settings, real: int, synthetic: int) -> Prepared:
    if await ensure_database(settings.owner_url):
        print("created the database")
    applied, role = await migrate_as_owner(settings)
    for m in applied:
        print(f"applied {m.version:03d}_{m.name}.sql")
    print(describe_role(role))
    registry = settings.data_path / NATIONAL_REGISTRY
    async with connect(settings.database_url) as conn:
        example = not registry.is_file()
        if example:
            inserted = await load_example(conn)
            print(
                f"regions: KPU's registry is not on this machine; an example country loaded instead "
                f"({inserted} regions and TPS, names marked CONTOH, registered voters drawn at random)"
            )
        else:
            await _load_real(conn, settings.data_path)
        issued = await create_demo_accounts(conn, PROVINCES[1], real_dpt=not example)
        shown = {c.user.tps_code for c in issued if c.user.tps_code}
        tps = await demo.plan(conn, settings.data_path, real=real, synthetic=synthetic, exclude=shown)
        with count_progress(len(tps), "KPPS accounts of the demo TPS", "account") as advance:
            secrets = await demo.kpps_accounts(conn, tps, advance)
    return Prepared(issued=issued, tps=tps, secrets=secrets)


async def _load_real(conn: Any, data: Path) -> None:
    registry = data / NATIONAL_REGISTRY
    with file_progress(registry, "regions of DKI Jakarta and DI Yogyakarta") as on_bytes:
        report = await import_registry(conn, registry, only=PROVINCES, on_bytes=on_bytes)
    print(f"regions: {report.inserted} new, {report.unchanged + report.updated} already there")
    for name in VOTERS:
        path = Path(data, name)
        with file_progress(path, f"DPT {path.parent.name}") as on_bytes:
            voters = await import_voters(conn, path, skip_bad=True, on_bytes=on_bytes)
        print(
            f"DPT: {voters.updated + voters.unchanged} TPS from {path.name}; "
            f"{len(voters.bad_lines)} lines skipped as inconsistent (Sirekap misreads)"
        )


def free_port(host: str, first: int) -> int:
    for port in range(first, first + 100):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise InvalidInput(f"no free port from {first} to {first + 99} on {host}")
