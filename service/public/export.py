"""Bulk exports, streamed from a server-side cursor (never built in memory)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import asyncpg
import msgspec

from ocr.form import PAIRS
from service.public.kpu import ADMINISTRASI

COLUMNS = ["kode_tps", "nama", "status", *PAIRS, *ADMINISTRASI]
BATCH = 500


async def province_csv(pool: asyncpg.Pool, province: str) -> AsyncIterator[bytes]:
    """One row per TPS of the province; the numbers only of published TPS (others: the status)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    yield out.getvalue().encode()
    async with pool.acquire() as conn, conn.transaction():
        cursor = conn.cursor(
            """
            SELECT t.code, t.name, coalesce(r.state, 'missing') AS state, r.numbers::text AS numbers
            FROM tps t LEFT JOIN tps_result r ON r.tps_code = t.code AND r.ballot = 'ppwp'
            WHERE t.code LIKE $1 || '%' ORDER BY t.code
            """,
            province,
            prefetch=BATCH,
        )
        out = io.StringIO()
        writer = csv.writer(out)
        count = 0
        async for row in cursor:
            published = row["state"] == "published"
            numbers = msgspec.json.decode(row["numbers"]) if published else {}
            writer.writerow(
                [row["code"], row["name"], row["state"], *(numbers.get(c, "") for c in COLUMNS[3:])]
            )
            count += 1
            if count % BATCH == 0:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        if out.getvalue():
            yield out.getvalue().encode()
