"""The service's database role: who REKAP_DATABASE_URL logs in as, kept to the privileges of
``rekap_app`` (sql/012_least_privilege.sql) while migrations run as the tables' owner.

A penetration test found the service connected as a superuser owning the tables: one
``SET session_replication_role = replica`` switched the audit trail's guards off. Migrating
therefore checks that the service's role can do no such thing, and says so when it could.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import asyncpg
import msgspec

from service.errors import MigrationError

APP_ROLE = "rekap_app"
"""The group role granted the service's privileges in each database (sql/012_least_privilege.sql)."""


class ServiceRole(msgspec.Struct, frozen=True, kw_only=True):
    """What ``ensure_service_role`` found or did, for the operator."""

    name: str
    created: bool = False
    is_owner: bool = False
    """The service connects as the owner itself (a development setup): no separation at all."""


def login_of(url: str) -> tuple[str | None, str | None]:
    """The user name and password a PostgreSQL URL logs in with (``None`` where it names none)."""
    parts = urlsplit(url)
    return (
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


async def ensure_service_role(owner: asyncpg.Connection, service_url: str) -> ServiceRole:
    """Make the role of ``service_url`` a login member of ``rekap_app`` (creating it, or setting
    the URL's password, where the owner may manage roles); refuse a role that could undo the
    audit trail's guards. ``owner`` is connected as the migrating owner."""
    me = await owner.fetchrow(
        "SELECT current_user AS name, rolsuper OR rolcreaterole AS manages FROM pg_roles "
        "WHERE rolname = current_user"
    )
    assert me is not None
    name, password = login_of(service_url)
    if name is None or name == me["name"]:
        return ServiceRole(name=me["name"], is_owner=True)
    found = await owner.fetchrow("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", name)
    exists = found is not None
    problem = await too_powerful(owner, name) if exists else None
    if problem:
        raise MigrationError(
            f"REKAP_DATABASE_URL logs in as {name!r}, which {problem}: the service must not be able to "
            "switch the audit trail's guards off. Give it a role of its own, a member of "
            f"{APP_ROLE} only."
        )
    if not exists and not me["manages"]:
        raise MigrationError(
            f"the role {name!r} of REKAP_DATABASE_URL does not exist and {me['name']!r} may not create "
            f"roles: create it as a LOGIN member of {APP_ROLE} (deploy/README.md), or migrate as a role "
            "with CREATEROLE"
        )
    if me["manages"] and (found is None or not found["rolcanlogin"] or password is not None):
        # Quoted by the server (format %I / %L): a role or password is never spliced in here.
        statement = await owner.fetchval(
            "SELECT format(CASE WHEN $3 THEN 'ALTER ROLE %I LOGIN' ELSE 'CREATE ROLE %I LOGIN' END "
            "|| CASE WHEN $2::text IS NULL THEN '' ELSE ' PASSWORD %L' END, $1::text, $2::text)",
            name,
            password,
            bool(exists),
        )
        await owner.execute(statement)
    member = await owner.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", name, APP_ROLE)
    if not member and me["manages"]:
        await owner.execute(
            await owner.fetchval("SELECT format('GRANT %I TO %I', $1::text, $2::text)", APP_ROLE, name)
        )
    elif not member:
        raise MigrationError(
            f"the role {name!r} of REKAP_DATABASE_URL is not a member of {APP_ROLE}: "
            f"GRANT {APP_ROLE} TO {name} (as a role that may), or declare it so (deploy/k8s/postgres.yaml)"
        )
    return ServiceRole(name=name, created=not exists)


async def too_powerful(conn: asyncpg.Connection, role: str) -> str | None:
    """Why ``role`` could rewrite the audit trail unseen by its guards, or ``None``: a superuser
    (session_replication_role), an owner of a table (DISABLE TRIGGER), or a member of one."""
    row = await conn.fetchrow(
        """
        SELECT r.rolsuper,
               (SELECT string_agg(DISTINCT c.relname, ', ') FROM pg_class c
                WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
                  AND pg_has_role(r.oid, c.relowner, 'USAGE')) AS owns
        FROM pg_roles r WHERE r.rolname = $1
        """,
        role,
    )
    if row is None:
        return "does not exist"
    if row["rolsuper"]:
        return "is a superuser"
    if row["owns"]:
        return f"owns (or acts as the owner of) tables: {row['owns']}"
    return None
