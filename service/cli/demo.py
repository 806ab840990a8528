"""``rekap demo``: a working rekap on real data in one command: schema, the real regions and TPS of
DKI Jakarta and DI Yogyakarta, demo accounts, the API on a free port and an OCR worker beside it."""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from service.cli.db import describe_role, migrate_as_owner
from service.cli.progress import file_progress
from service.cli.serve import add_listen_options, serve
from service.db.pool import connect, ensure_database
from service.errors import InvalidInput
from service.regions.registry import NATIONAL_REGISTRY, import_registry
from service.regions.voters import import_voters
from service.settings import Settings
from service.users.demo import create_demo_accounts
from service.users.model import IssuedCredential, Role

PROVINCES = ("31", "34")  # DKI Jakarta, DI Yogyakarta: the provinces with real per-TPS data
VOTERS = (
    "pilpres2024_tps_dki/ppwp_tps_dki_jakarta_20240220.csv.gz",
    "pilpres2024_tps_diy/ppwp_tps_di_yogyakarta_20240317.csv.gz",
)


def register(commands: Any) -> None:
    demo = commands.add_parser("demo", help="load the demo election and serve the API")
    add_listen_options(demo)
    demo.set_defaults(run=run_demo)


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    issued = asyncio.run(prepare(settings))
    kpps = next(c.user for c in issued if c.user.role is Role.KPPS)
    host = args.host or settings.host
    port = free_port(host, settings.port if args.port is None else args.port)
    base = f"http://{host}:{port}"
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
    worker = subprocess.Popen([sys.executable, "-m", "service.cli.main", "worker", "--processes", "1"])
    try:
        serve(settings, host, port, args.workers or settings.worker_count)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return 0


async def prepare(settings: Settings) -> list[IssuedCredential]:
    data = settings.data_path
    registry = data / NATIONAL_REGISTRY
    if not registry.is_file():
        raise InvalidInput(
            f"the demo loads real regions from {registry}, which is missing; "
            "set REKAP_DATA_DIR to the folder holding kpu_tps_registry/"
        )
    if await ensure_database(settings.owner_url):
        print("created the database")
    applied, role = await migrate_as_owner(settings)
    for m in applied:
        print(f"applied {m.version:03d}_{m.name}.sql")
    print(describe_role(role))
    async with connect(settings.database_url) as conn:
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
        return await create_demo_accounts(conn, PROVINCES[1])


def free_port(host: str, first: int) -> int:
    for port in range(first, first + 100):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise InvalidInput(f"no free port from {first} to {first + 99} on {host}")
