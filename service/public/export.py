"""Bulk exports for newsrooms: one CSV per province or kab/kota, streamed from a server-side
cursor (never built in memory).

Each row is a TPS with the codes and names of every region above it, its state in Bahasa
Indonesia and every field of the form. The numbers leave the database only for a published TPS:
the query itself blanks the others' (an unpublished reading in an export was a real
penetration-test finding), so no later line of Python can let one through.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec

from service.web.labels import STATE, VOTES_FIRST

PLACE = (
    "kode_provinsi",
    "nama_provinsi",
    "kode_kabkota",
    "nama_kabkota",
    "kode_kecamatan",
    "nama_kecamatan",
    "kode_desa",
    "nama_desa",
    "kode_tps",
    "nama_tps",
)
"""Where the TPS is, region by region (columns of ``_ROWS`` by the same names)."""
NUMBERS = VOTES_FIRST
"""Every field of the form (``ocr.form.FIELDS``): the votes first, as the site shows them."""
COLUMNS = (*PLACE, "status", *NUMBERS)
NO_RESULT = "missing"
"""The state of a TPS with no result yet (no photo has come in): ``STATE["missing"]``."""
BATCH = 500

_ROWS = """
SELECT left(t.code, 2) AS kode_provinsi, p.name AS nama_provinsi,
       left(t.code, 4) AS kode_kabkota, kk.name AS nama_kabkota,
       left(t.code, 6) AS kode_kecamatan, kc.name AS nama_kecamatan,
       t.desa_code AS kode_desa, d.name AS nama_desa,
       t.code AS kode_tps, t.name AS nama_tps,
       coalesce(r.state, $2) AS state,
       CASE WHEN r.state = 'published' THEN r.numbers::text END AS numbers
FROM tps t
JOIN region d ON d.code = t.desa_code
JOIN region kc ON kc.code = left(t.code, 6)
JOIN region kk ON kk.code = left(t.code, 4)
JOIN region p ON p.code = left(t.code, 2)
LEFT JOIN tps_result r ON r.tps_code = t.code AND r.ballot = 'ppwp'
WHERE t.code LIKE $1 || '%'
ORDER BY t.code
"""
"""One row per TPS under the region (a code's prefix is its parent's code); ``numbers`` is NULL
unless the TPS is published."""


def _row(record: asyncpg.Record) -> list[Any]:
    """The CSV row of one record of ``_ROWS``: place, state label, numbers (blank if unpublished)."""
    numbers = msgspec.json.decode(record["numbers"]) if record["numbers"] is not None else {}
    place = (record[name] for name in PLACE)
    return [*place, STATE[record["state"]], *(numbers.get(name, "") for name in NUMBERS)]


async def region_csv(pool: asyncpg.Pool, code: str) -> AsyncIterator[bytes]:
    """Every TPS of the province or kab/kota ``code``, in code order, as CSV (UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    yield _taken(out)
    async with pool.acquire() as conn, conn.transaction():
        count = 0
        async for record in conn.cursor(_ROWS, code, NO_RESULT, prefetch=BATCH):
            writer.writerow(_row(record))
            count += 1
            if count % BATCH == 0:
                yield _taken(out)
    if out.tell():
        yield _taken(out)


def _taken(out: io.StringIO) -> bytes:
    """What was written since the last batch, as bytes; the buffer is emptied for the next."""
    data = out.getvalue().encode()
    out.seek(0)
    out.truncate()
    return data
