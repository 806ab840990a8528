"""Lending a request a connection of the pool, for as short a time as its database work takes.

A handler that first waits on the network (a photo's body arriving over a phone's connection)
must not hold a connection meanwhile: twenty slow uploads would otherwise hold the pool and
stall every endpoint that reads the database. Such a handler takes ``pooled_connection`` around
each piece of database work instead of declaring ``db``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Request

from service.db.pool import connection_lost
from service.http.errors import note_connection_lost

ACQUIRE_TIMEOUT_S = 10
"""Past this wait for a free connection the request is answered 503 (``asyncio.TimeoutError``)."""


@asynccontextmanager
async def pooled_connection(request: Request[Any, Any, Any]) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the application's pool, given back on leaving."""
    async with request.app.state.pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
        try:
            yield conn
        except asyncpg.InterfaceError:
            if connection_lost(conn):  # the handler's error is answered as an outage
                note_connection_lost(request)
            raise


async def provide_db(request: Request[Any, Any, Any]) -> AsyncIterator[asyncpg.Connection]:
    """The ``db`` dependency: a connection for the whole handler, taken once the body is parsed
    (Litestar reads and decodes ``data`` before it resolves dependencies)."""
    async with pooled_connection(request) as conn:
        yield conn
