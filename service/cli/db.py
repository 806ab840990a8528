"""``rekap db``: create and migrate the database."""

from __future__ import annotations

import argparse
from typing import Any

from service.db.migrations import Migration, discover, migrate, status
from service.db.pool import connect, ensure_database
from service.db.roles import APP_ROLE, ServiceRole, ensure_service_role
from service.settings import Settings


def register(commands: Any) -> None:
    db = commands.add_parser("db", help="the database schema").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    run = db.add_parser("migrate", help="apply pending migrations from sql/, each once, in order")
    run.add_argument("--create", action="store_true", help="create the database first if it does not exist")
    run.set_defaults(run=run_migrate)
    db.add_parser("status", help="which migrations are applied or pending").set_defaults(run=run_status)


async def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    if args.create and await ensure_database(settings.owner_url):
        print("created the database")
    applied, role = await migrate_as_owner(settings)
    for m in applied:
        print(f"applied {m.version:03d}_{m.name}.sql")
    print("the schema is up to date" if applied else "nothing to apply: the schema is up to date")
    print(describe_role(role))
    return 0


async def migrate_as_owner(settings: Settings) -> tuple[list[Migration], ServiceRole]:
    """Apply what is pending as the owner (REKAP_DATABASE_OWNER_URL), then make sure the service's
    role (REKAP_DATABASE_URL) has the service's privileges and no more."""
    async with connect(settings.owner_url) as conn:
        applied = await migrate(conn, discover())
        role = await ensure_service_role(conn, settings.database_url)
    return applied, role


def describe_role(role: ServiceRole) -> str:
    if role.is_owner:
        return (
            f"WARNING: the service connects as the owner {role.name!r}, who can switch the audit "
            f"trail's guards off; set REKAP_DATABASE_OWNER_URL for migrations and point "
            f"REKAP_DATABASE_URL at a member of {APP_ROLE} (deploy/README.md)"
        )
    created = " (created)" if role.created else ""
    return f"the service connects as {role.name!r}{created}, a member of {APP_ROLE}"


async def run_status(settings: Settings, _: argparse.Namespace) -> int:
    async with connect(settings.owner_url) as conn:
        state = await status(conn, discover())
    print(f"applied: {', '.join(f'{v:03d}' for v in state.applied) or 'none'}")
    print(f"pending: {', '.join(f'{v:03d}' for v in state.pending) or 'none'}")
    if state.edited:
        print(f"EDITED after being applied: {', '.join(f'{v:03d}' for v in state.edited)}")
    if state.missing:
        print(f"applied but not in sql/: {', '.join(f'{v:03d}' for v in state.missing)}")
    return 0 if state.current else 1
