"""``rekap users``: accounts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.db.pool import connect
from service.errors import InvalidInput
from service.regions.codes import Level, level_of
from service.settings import Settings
from service.users import sheet
from service.users.credentials import new_secret
from service.users.kpps import issue_kpps, tps_in_region
from service.users.model import Role
from service.users.store import set_disabled, upsert_user

NATION = "nasional"


def register(commands: Any) -> None:
    users = commands.add_parser("users", help="accounts").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    admin = users.add_parser(
        "issue-admin", help="create an administrator (or give it a new password) and print it"
    )
    admin.add_argument("username")
    admin.add_argument("--name", default="Administrator")
    admin.set_defaults(run=run_issue_admin)

    officer = users.add_parser(
        "issue-officer",
        help="create a recap officer for a region (or give it a new password) and print it",
    )
    officer.add_argument("username")
    officer.add_argument(
        "--region",
        required=True,
        metavar="CODE",
        help="the area it works in: a kecamatan (PPK), kab/kota, province code, or 'nasional' (KPU RI)",
    )
    officer.add_argument("--name", required=True, help="the officer's full name, shown in the audit trail")
    officer.set_defaults(run=run_issue_officer)

    kpps = users.add_parser(
        "issue-kpps",
        help="create one KPPS login per TPS (or give it a new password) and print them",
    )
    which = kpps.add_mutually_exclusive_group(required=True)
    which.add_argument("--tps", nargs="+", metavar="CODE", help="13-digit TPS codes")
    which.add_argument("--region", metavar="CODE", help="every TPS in this province/kab/kec/desa")
    kpps.add_argument(
        "--sheet", type=Path, metavar="FILE.html", help="also write a printable sheet with QR codes"
    )
    kpps.add_argument(
        "--url", default=None, help="address officers open on their phones (default: http://HOST:PORT)"
    )
    kpps.set_defaults(run=run_issue_kpps)

    disable = users.add_parser(
        "disable",
        help="refuse an account's logins and end its sessions at once (issuing it again enables it)",
    )
    disable.add_argument("username")
    disable.set_defaults(run=run_disable)
    enable = users.add_parser(
        "enable",
        help="let a disabled account log in again with the password it had (issue it again for a new one)",
    )
    enable.add_argument("username")
    enable.set_defaults(run=run_enable)


async def run_issue_admin(settings: Settings, args: argparse.Namespace) -> int:
    secret = new_secret()
    async with connect(settings.database_url) as conn:
        user = await upsert_user(
            conn, username=args.username, display_name=args.name, role=Role.ADMIN, secret=secret
        )
    print(f"{user.username}\t{secret}")
    return 0


async def run_issue_officer(settings: Settings, args: argparse.Namespace) -> int:
    region = None if args.region == NATION else args.region
    level = Level.NASIONAL if region is None else level_of(region)
    if level in (Level.DESA, Level.TPS):
        raise InvalidInput(
            f"{args.region} is a {level.title}: recap officers work for a kecamatan or above "
            "(a TPS has KPPS logins: rekap users issue-kpps)"
        )
    secret = new_secret()
    async with connect(settings.database_url) as conn:
        user = await upsert_user(
            conn,
            username=args.username,
            display_name=args.name,
            role=Role.OFFICER,
            secret=secret,
            scope_region=region,
        )
    scope = NATION if region is None else f"{level.title} {region}"
    print(f"{user.username}\t{secret}\t{scope}")
    return 0


async def run_issue_kpps(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        codes = args.tps or await tps_in_region(conn, args.region)
        issued = await issue_kpps(conn, codes)
    print("tps\tusername\tpassword")
    for credential in issued:
        print(f"{credential.user.tps_code}\t{credential.user.username}\t{credential.secret}")
    if args.sheet:
        base_url = args.url or f"http://{settings.host}:{settings.port}"
        args.sheet.write_text(sheet.render(issued, base_url))
        print(f"printable sheet: {args.sheet}", file=sys.stderr)
    return 0


async def run_disable(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        user, ended = await set_disabled(conn, args.username, disabled=True)
    print(f"{user.username}\tdisabled\t{ended} session(s) ended")
    return 0


async def run_enable(settings: Settings, args: argparse.Namespace) -> int:
    async with connect(settings.database_url) as conn:
        user, _ = await set_disabled(conn, args.username, disabled=False)
    print(f"{user.username}\tenabled")
    return 0
