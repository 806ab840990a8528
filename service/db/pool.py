"""Connections to PostgreSQL, with unreachable servers turned into a message an operator can act on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from service.errors import DatabaseConnectionLost, DependencyUnavailable
from service.settings import Settings

# What asyncpg raises when the server is down, restarting, shutting down or refusing us, and
# what ``acquire`` raises when the server closed a connection while it was in use.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    ConnectionError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.TooManyConnectionsError,
    DatabaseConnectionLost,
)

# Connecting can also fail on a wrong host name, a closed port, ...
_CONNECT_ERRORS: tuple[type[Exception], ...] = (OSError, *CONNECTION_ERRORS)


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    netloc = f"{parts.username + '@' if parts.username else ''}{host}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def unavailable(url: str, error: BaseException) -> DependencyUnavailable:
    return DependencyUnavailable(
        f"cannot use PostgreSQL at {describe(url)} (REKAP_DATABASE_URL): {error}. "
        "Start it (make services) or point REKAP_DATABASE_URL at a running server."
    )


async def create_pool(settings: Settings, url: str | None = None) -> asyncpg.Pool:
    """A pool that connects lazily, so the API starts (and reports unhealthy) while PostgreSQL is
    down; to ``settings.database_url`` unless another ``url`` (a read replica) is given."""
    pool = asyncpg.create_pool(
        url or settings.database_url, min_size=0, max_size=settings.db_pool_size, command_timeout=60
    )
    await pool
    return pool


@asynccontextmanager
async def acquire(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the pool, typed as one (the pool's proxy forwards every call to it).

    When the server closes it while it is held, its next use fails with asyncpg's generic
    ``InterfaceError``; that becomes ``DatabaseConnectionLost``, an outage like the others.
    """
    async with pool.acquire() as proxy:
        conn = cast(asyncpg.Connection, proxy)
        try:
            yield conn
        except asyncpg.InterfaceError as error:
            if connection_lost(conn):
                raise DatabaseConnectionLost(f"PostgreSQL closed the connection in use: {error}") from error
            raise


def connection_lost(conn: asyncpg.Connection) -> bool:
    """Whether the server closed this connection, held from a pool. asyncpg then detaches it
    from the pool's proxy at once, and every call on the proxy, this one too, raises
    ``InterfaceError``: only the server's closing does that to a connection still held."""
    try:
        return conn.is_closed()
    except asyncpg.InterfaceError:
        return True


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection for a command-line job."""
    try:
        conn = await asyncpg.connect(url, timeout=10)
    except _CONNECT_ERRORS as error:
        raise unavailable(url, error) from error
    try:
        yield conn
    finally:
        await conn.close()


def database_url(url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``url``, with the same credentials."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist yet; True when it was created."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or (parts.username or "postgres")
    async with connect(database_url(url, "postgres")) as conn:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
        return True


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
