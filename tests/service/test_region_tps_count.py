"""The TPS count of every region, kept by triggers on tps whoever writes it."""

from __future__ import annotations

import asyncpg

COUNTS = "SELECT code, tps FROM region_tps_count WHERE tps > 0 ORDER BY code"
TRUE_COUNTS = """
SELECT p AS code, count(*)::int AS tps FROM tps, region_prefixes(tps.code) AS p GROUP BY p ORDER BY p
"""


async def counts(conn: asyncpg.Connection, sql: str) -> dict[str, int]:
    return {r["code"]: r["tps"] for r in await conn.fetch(sql)}


async def test_counts_follow_the_registry_through_inserts_and_deletes(
    regions: asyncpg.Connection,
) -> None:
    conn = regions
    imported = await counts(conn, COUNTS)
    assert imported == await counts(conn, TRUE_COUNTS)
    assert imported[""] == 4 and imported["34"] == 3 and imported["3404072001"] == 3
    await conn.execute(
        "INSERT INTO tps (code, desa_code, name) VALUES ('3404072001004', '3404072001', 'TPS 004'), "
        "('3404072001005', '3404072001', 'TPS 005')"
    )
    await conn.execute("DELETE FROM tps WHERE code = '3171011001001'")
    after = await counts(conn, COUNTS)
    assert after == await counts(conn, TRUE_COUNTS)
    assert after[""] == 5 and after["3404"] == 5 and "31" not in after
    await conn.execute("DELETE FROM tps")
    assert await counts(conn, COUNTS) == {}
