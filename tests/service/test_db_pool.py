"""Pooled connections when PostgreSQL goes away under them (restart, crash, an operator's kill)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from service.db.pool import acquire, connection_lost
from service.errors import DatabaseConnectionLost


async def test_a_connection_the_server_closes_while_held_is_an_outage(fresh_db: str) -> None:
    pool = await asyncpg.create_pool(fresh_db, min_size=0, max_size=2)
    try:
        with pytest.raises(DatabaseConnectionLost):
            async with acquire(pool) as conn:
                backend = await conn.fetchval("SELECT pg_backend_pid()")
                admin = await asyncpg.connect(fresh_db)
                try:
                    await admin.execute("SELECT pg_terminate_backend($1)", backend)
                finally:
                    await admin.close()
                deadline = time.monotonic() + 10
                while not connection_lost(conn):
                    assert time.monotonic() < deadline, "the client never noticed"
                    await asyncio.sleep(0.01)
                await conn.fetchval("SELECT 1")
        async with acquire(pool) as conn:  # the pool connects again by itself
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_other_interface_errors_stay_what_they_are(fresh_db: str) -> None:
    pool = await asyncpg.create_pool(fresh_db, min_size=0, max_size=1)
    try:
        with pytest.raises(asyncpg.InterfaceError) as raised:
            async with acquire(pool) as conn:
                assert not connection_lost(conn)
                raise asyncpg.InterfaceError("a misuse of the connection")
        assert str(raised.value) == "a misuse of the connection"
    finally:
        await pool.close()
