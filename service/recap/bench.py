"""``rekap bench recap``: how fast TPS results flow into the regional totals, on a scratch database.

A synthetic region tree (one province; kabupaten/kota, kecamatan and desa of ten children each,
fifteen TPS per desa) is created in a database of its own; concurrent writers publish every TPS
through the real workflow (four state moves and their events each), then the batch applier moves
all their deltas into the totals, and the totals are rebuilt from scratch and compared.
"""

from __future__ import annotations

import asyncio
import time

import asyncpg
import msgspec
import numpy as np

from ocr import DecodedField, TpsDecoding
from ocr.synth.pages import tps_values
from service.db.pool import acquire
from service.db.scratch import scratch_database
from service.recap import totals
from service.results import workflow

TPS_PER_DESA = 15


class RecapBench(msgspec.Struct, frozen=True):
    tps: int
    writers: int
    publish_tps_per_s: float
    """TPS taken from decoded to published per second (four transitions, events and deltas each)."""
    deltas: int
    apply_changes_per_s: float
    """Deltas moved into the totals per second by the batch applier (run after the writers)."""
    rebuild_s: float
    totals_match_rebuild: bool
    nation_suara_sah: int


async def _tree(conn: asyncpg.Connection, tps: int) -> list[str]:
    desa_count = -(-tps // TPS_PER_DESA)
    await conn.execute("INSERT INTO region (code, name, level, source) VALUES ('34', 'BENCH', 1, 'kpu')")
    await conn.execute(
        """
        INSERT INTO region (code, name, level, parent_code, source)
        SELECT '34' || lpad(k::text, 2, '0'), 'KAB ' || k, 2, '34', 'kpu' FROM generate_series(1, 10) k
        """
    )
    await conn.execute(
        """
        INSERT INTO region (code, name, level, parent_code, source)
        SELECT r.code || lpad(c::text, 2, '0'), 'KEC ' || c, 3, r.code, 'kpu'
        FROM region r, generate_series(1, 10) c WHERE r.level = 2
        """
    )
    await conn.execute(
        """
        INSERT INTO region (code, name, level, parent_code, source)
        SELECT r.code || lpad((2000 + d)::text, 4, '0'), 'DESA ' || d, 4, r.code, 'kpu'
        FROM region r, generate_series(1, $1) d WHERE r.level = 3
        """,
        -(-desa_count // 100),
    )
    rows = await conn.fetch(
        """
        WITH desa AS (SELECT code FROM region WHERE level = 4 ORDER BY code LIMIT $1)
        INSERT INTO tps (code, desa_code, name)
        SELECT d.code || lpad(t::text, 3, '0'), d.code, 'TPS ' || t FROM desa d, generate_series(1, $2) t
        RETURNING code
        """,
        desa_count,
        TPS_PER_DESA,
    )
    return [r["code"] for r in rows][:tps]


async def publish(pool: asyncpg.Pool, codes: list[str]) -> None:
    """Each TPS through the real workflow, from a clear reading of random consistent numbers."""
    async with acquire(pool) as conn:
        for i, code in enumerate(codes):
            numbers = tps_values(np.random.default_rng(i))
            fields = {n: DecodedField(n, v, v, True, 1.0) for n, v in numbers.items()}
            decoding_id = await conn.fetchval(
                "INSERT INTO tps_decoding (tps_code, ballot, photo_ids, decoding, consistent, all_accepted) "
                "VALUES ($1, 'ppwp', $2, '{}', true, true) RETURNING id",
                code,
                [i],
            )
            await workflow.record_decoding(conn, code, TpsDecoding(fields, [], True), decoding_id)


async def bench(database_url: str, *, tps: int, writers: int) -> RecapBench:
    async with scratch_database(database_url, "bench") as url:
        conn = await asyncpg.connect(url)
        try:
            codes = await _tree(conn, tps)
            pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
            start = time.perf_counter()
            await asyncio.gather(*(publish(pool, codes[w::writers]) for w in range(writers)))
            publish_s = time.perf_counter() - start
            await pool.close()
            pending = await conn.fetchval("SELECT count(*) FROM recap_delta")
            start = time.perf_counter()
            await totals.apply_all(conn)
            apply_s = time.perf_counter() - start
            incremental = await totals.snapshot(conn)
            start = time.perf_counter()
            await totals.rebuild(conn)
            rebuild_s = time.perf_counter() - start
            nation = await totals.region_totals(conn, None)
            return RecapBench(
                tps=len(codes),
                writers=writers,
                publish_tps_per_s=round(len(codes) / publish_s, 1),
                deltas=pending,
                apply_changes_per_s=round(pending / apply_s, 1) if pending else 0.0,
                rebuild_s=round(rebuild_s, 3),
                totals_match_rebuild=incremental == await totals.snapshot(conn),
                nation_suara_sah=nation.numbers["suara_sah"],
            )
        finally:
            await conn.close()
