"""A migrated database of its own for a benchmark, dropped afterwards whatever happens."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from service.db.migrations import discover, migrate
from service.db.pool import database_url as beside
from service.db.pool import quote_ident


@asynccontextmanager
async def scratch_database(
    database_url: str, purpose: str, *, template: str | None = None
) -> AsyncIterator[str]:
    """The URL of a new, migrated database beside ``database_url``'s, named for ``purpose``; a copy
    of the database ``template`` if given (nobody may be connected to it meanwhile)."""
    name = f"rekap_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(beside(database_url, "postgres"))
    copy = f" TEMPLATE {quote_ident(template)}" if template else ""
    await admin.execute(f"CREATE DATABASE {quote_ident(name)}{copy}")
    url = beside(database_url, name)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, discover())
        finally:
            await conn.close()
        yield url
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
        await admin.close()
