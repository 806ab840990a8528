"""``rekap users``: accounts."""

from __future__ import annotations

import argparse
from typing import Any

from service.db.pool import connect
from service.settings import Settings
from service.users.credentials import new_secret
from service.users.model import Role
from service.users.store import upsert_user


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


async def run_issue_admin(settings: Settings, args: argparse.Namespace) -> int:
    secret = new_secret()
    async with connect(settings.database_url) as conn:
        user = await upsert_user(
            conn, username=args.username, display_name=args.name, role=Role.ADMIN, secret=secret
        )
    print(f"{user.username}\t{secret}")
    return 0
