"""Totals and progress per region, from the TPS results.

Kept for desa (level 4), kecamatan (3) and kabupaten/kota (2) in ``region_total``; provinces
and the nation are summed from their kabupaten/kota rows when read (FACTS.md: no hot rows, no
lock conflicts between concurrent writers). ``apply_deltas`` moves the changes that TPS
transitions appended to ``recap_delta`` into those rows, a batch per transaction, deleting what
it applies; ``rebuild`` recomputes everything from ``tps_result`` and must give the same numbers.
"""

from __future__ import annotations

import asyncpg
import msgspec

from ocr.form import BALLOT
from service.errors import NotFound
from service.regions.codes import Level, level_of
from service.regions.store import require_region
from service.results.store import COLUMNS, COUNTED

_LEVELS = ((Level.DESA, 10), (Level.KECAMATAN, 6), (Level.KABKOTA, 4))
_SUMS = ", ".join(f"sum({c})" for c in COLUMNS)
_ADD = ", ".join(f"{c} = region_total.{c} + EXCLUDED.{c}" for c in COLUMNS)
_PER_LEVEL = " UNION ALL ".join(
    f"SELECT left(desa_code, {n}) AS code, {int(level)} AS level, * FROM batch"  # noqa: S608 - constants
    for level, n in _LEVELS
)


class RegionTotals(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    ballot: str
    numbers: dict[str, int]
    """Sums of the published numbers of every TPS in the region."""
    tps_expected: int
    tps_received: int
    tps_verified: int
    tps_needs_review: int
    tps_reviewed: int
    tps_published: int


APPLIER_LOCK = 0x72656B6170  # one applier at a time: versions of public_change commit in order


async def apply_deltas(conn: asyncpg.Connection, batch: int = 5000, *, wait: bool = True) -> int:
    """Apply up to ``batch`` pending changes and record them as the next public version; the
    number applied (0 when none were pending, or when ``wait`` is false and another applier is
    at work)."""
    async with conn.transaction():
        if wait:
            await conn.execute("SELECT pg_advisory_xact_lock($1)", APPLIER_LOCK)
        elif not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", APPLIER_LOCK):
            return 0
        applied: int = await conn.fetchval(
            f"""
            WITH batch AS (
                DELETE FROM recap_delta WHERE id IN (
                    SELECT id FROM recap_delta ORDER BY id LIMIT $1
                ) RETURNING *
            ), per_region AS (
                SELECT code, level, ballot, {_SUMS} FROM ({_PER_LEVEL}) AS each GROUP BY code, level, ballot
            ), upserted AS (
                INSERT INTO region_total (region_code, level, ballot, {", ".join(COLUMNS)})
                SELECT * FROM per_region ORDER BY code
                ON CONFLICT (region_code, ballot) DO UPDATE SET {_ADD}
                RETURNING 1
            ), announced AS (
                INSERT INTO public_change (version, tps)
                SELECT coalesce((SELECT max(version) FROM public_change), 0) + 1,
                       array_agg(DISTINCT tps_code) FILTER (WHERE tps_code IS NOT NULL)
                FROM batch HAVING count(*) > 0
                RETURNING 1
            )
            SELECT count(*) FROM batch
            """,  # noqa: S608 - constant columns
            batch,
        )
    return applied


async def apply_all(conn: asyncpg.Connection, *, wait: bool = True) -> int:
    total = 0
    while applied := await apply_deltas(conn, wait=wait):
        total += applied
    return total


async def rebuild(conn: asyncpg.Connection) -> None:
    """Recompute every total from the TPS results, in one transaction, with writers held off."""
    values = ", ".join(
        f"CASE WHEN state = 'published' THEN coalesce((numbers->>'{c}')::bigint, 0) ELSE 0 END AS {c}"
        for c in COUNTED
    )
    progress = (
        "1 AS tps_received, (state = 'verified')::int AS tps_verified, "
        "(state = 'needs_review')::int AS tps_needs_review, (state = 'reviewed')::int AS tps_reviewed, "
        "(state = 'published')::int AS tps_published"
    )
    async with conn.transaction():
        await conn.execute("LOCK TABLE tps_result IN SHARE MODE")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", APPLIER_LOCK)
        await conn.execute("DELETE FROM recap_delta")
        await conn.execute("DELETE FROM region_total")
        await conn.execute(
            f"""
            WITH batch AS (
                SELECT left(tps_code, 10) AS desa_code, ballot, {values}, {progress} FROM tps_result
            )
            INSERT INTO region_total (region_code, level, ballot, {", ".join(COLUMNS)})
            SELECT code, level, ballot, {_SUMS} FROM ({_PER_LEVEL}) AS each GROUP BY code, level, ballot
            """  # noqa: S608 - constant columns
        )
        await conn.execute(
            "INSERT INTO public_change (version, tps) "
            "SELECT coalesce(max(version), 0) + 1, NULL FROM public_change"
        )


async def snapshot(conn: asyncpg.Connection) -> dict[tuple[str, str], tuple[int, ...]]:
    """Every stored total (for comparing incremental totals with a rebuild)."""
    rows = await conn.fetch(f"SELECT region_code, ballot, {', '.join(COLUMNS)} FROM region_total")  # noqa: S608
    return {
        (r["region_code"], r["ballot"]): tuple(r[c] for c in COLUMNS)
        for r in rows
        if any(r[c] for c in COLUMNS)
    }


async def region_totals(conn: asyncpg.Connection, code: str | None) -> RegionTotals:
    """A region's totals (``None``: the nation), as applied so far."""
    level = Level.NASIONAL if code is None else level_of(code)
    if level is Level.TPS:
        raise NotFound(
            f"Kode {code} adalah kode TPS: TPS punya angkanya sendiri, bukan jumlah rekapitulasi.",
            detail="a TPS has its own numbers, not totals",
        )
    prefix = code or ""
    if level in (Level.NASIONAL, Level.PROVINSI):
        row = await conn.fetchrow(
            f"SELECT {_SUMS} FROM region_total "  # noqa: S608 - constant columns
            "WHERE ballot = $1 AND level = 2 AND region_code LIKE $2 || '%'",
            BALLOT,
            prefix,
        )
    else:
        row = await conn.fetchrow(
            f"SELECT {', '.join(COLUMNS)} FROM region_total WHERE ballot = $1 AND region_code = $2",  # noqa: S608
            BALLOT,
            prefix,
        )
    expected = await conn.fetchval("SELECT tps FROM region_tps_count WHERE code = $1", prefix) or 0
    if code is not None and not expected:
        await require_region(conn, code)
    sums = [0 if row is None else int(row[i] or 0) for i in range(len(COLUMNS))]
    named = dict(zip(COLUMNS, sums, strict=True))
    return RegionTotals(
        code=code or "",
        ballot=BALLOT,
        numbers={c: named[c] for c in COUNTED},
        tps_expected=int(expected),
        tps_received=named["tps_received"],
        tps_verified=named["tps_verified"],
        tps_needs_review=named["tps_needs_review"],
        tps_reviewed=named["tps_reviewed"],
        tps_published=named["tps_published"],
    )
