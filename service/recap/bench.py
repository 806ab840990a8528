"""``rekap bench recap``: how fast TPS results are published and reach the national total the
public API serves, on a scratch database.

Each TPS's clear decoding is stored first, as the OCR stage leaves it (not timed: ``rekap bench
intake`` and ``rekap bench ocr`` measure that stage). Then concurrent writers, as OCR workers do,
record them through the real workflow (``workflow.record_decoding``: its checks and verdict in
Python, its moves, events and delta in one statement), each TPS from nothing to published.
Beside them the API runs as in production, its public cache applying the deltas to the totals
twice a second; a probe reads the national document from it all the while. Afterwards the totals
are compared with a rebuild from the TPS results, and the rebuild is timed.

``freshness``: from a publication's commit to the first moment the API served a national
document of a data version that includes it (``public_change`` says which version took each
TPS; the probe's resolution, ``PROBE_S``, is part of the figure). ``--quick`` runs a synthetic
tree of 100,000 TPS; the default, the national list (822,116 TPS) the simulation keeps.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import msgspec
import numpy as np

from ocr import DecodedField, TpsDecoding
from ocr.synth.pages import tps_values
from service.db.pool import acquire
from service.db.scratch import scratch_database
from service.processes import REKAP, free_port, running, wait_for
from service.recap import totals
from service.results import workflow
from service.results.states import TpsState
from service.sim import cpu
from service.sim.stats import percentile

TPS_PER_DESA = 15
QUICK_TPS = 100_000
PROBE_S = 0.02
NATION = "/api/v1/public/ppwp/regions/nasional"
RETRIES = 3
"""Times a writer tries a TPS again after a lost race or a dropped connection before it counts
the TPS as failed."""
SETTLE_S = 60.0
DISTINCT = 1000
CHUNK = 5000


class RecapBench(msgspec.Struct, frozen=True, kw_only=True):
    tps: int
    writers: int
    changes_per_s: float
    """TPS taken from a clear decoding to published per second, the applier and API running."""
    failed: int
    """TPS not published: errors, or retries exhausted."""
    freshness_p50_ms: float
    freshness_p99_ms: float
    freshness_max_ms: float
    incremental_equals_rebuild: bool
    rebuild_s: float
    rebuild_s_per_million_tps: float
    versions: int
    """Data versions the applier made while the writers ran (each a batch of publications)."""
    cpu_ms_per_change: dict[str, float]
    """CPU per publication of the writers (this process), the API (applier included) and
    PostgreSQL, read from /proc: the figures hold on a machine they share."""
    nation_suara_sah: int


async def synthetic_tree(conn: asyncpg.Connection, tps: int) -> list[str]:
    """One province of ten kabupaten/kota of ten kecamatan, fifteen TPS per desa."""
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
    return sorted(r["code"] for r in rows)[:tps]


def clear_decoding(seed: int) -> TpsDecoding:
    """Random numbers that add up, every field read clearly (what the OCR gives a good photo)."""
    numbers = tps_values(np.random.default_rng(seed))
    return TpsDecoding({n: DecodedField(n, v, v, True, 1.0) for n, v in numbers.items()}, [], True)


async def store_decodings(conn: asyncpg.Connection, codes: list[str]) -> list[tuple[str, TpsDecoding, int]]:
    """A clear decoding of each TPS stored as the OCR stage leaves it, with its id for the
    workflow (``DISTINCT`` sets of numbers, taken in turn: memory stays small at 822,116 TPS)."""
    decodings = [clear_decoding(seed) for seed in range(min(DISTINCT, len(codes)))]
    encoded = [msgspec.json.encode(d).decode() for d in decodings]
    work = []
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        rows = await conn.fetch(
            """
            INSERT INTO tps_decoding (tps_code, ballot, photo_ids, decoding, consistent, all_accepted)
            SELECT code, 'ppwp', ARRAY[n], decoding::jsonb, true, true
            FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS d (code, decoding, n)
            RETURNING tps_code, id
            """,
            chunk,
            [encoded[(start + i) % len(encoded)] for i in range(len(chunk))],
        )
        ids = {r["tps_code"]: r["id"] for r in rows}
        work += [(code, decodings[(start + i) % len(decodings)], ids[code]) for i, code in enumerate(chunk)]
    return work


async def publish(pool: asyncpg.Pool, codes: list[str]) -> None:
    """Each TPS through the real workflow, from a clear reading of random consistent numbers."""
    async with acquire(pool) as conn:
        for code, decoding, decoding_id in await store_decodings(conn, codes):
            await workflow.record_decoding(conn, code, decoding, decoding_id)


class _Writer:
    """One writer (an OCR worker's connection) recording decodings: when each publication
    committed, and what failed."""

    def __init__(self, work: list[tuple[str, TpsDecoding, int]]) -> None:
        self.work = work
        self.committed: dict[str, float] = {}
        self.failed = 0

    async def run(self, pool: asyncpg.Pool) -> None:
        todo = iter(self.work)
        item = next(todo, None)
        attempts = 0
        while item is not None:
            try:
                async with acquire(pool) as conn:
                    while item is not None:
                        code, decoding, decoding_id = item
                        state = (await workflow.record_decoding(conn, code, decoding, decoding_id)).state
                        if state is TpsState.PUBLISHED:
                            self.committed[code] = time.perf_counter()
                        else:
                            self.failed += 1
                        item, attempts = next(todo, None), 0
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                attempts += 1
                if attempts > RETRIES:
                    self.failed += 1
                    item, attempts = next(todo, None), 0


class _Probe:
    """Reads the national document from the API every ``PROBE_S``: (when, data version)."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.seen: list[tuple[float, int]] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.api, timeout=10) as client:
            while not self.stop.is_set():
                answer = await client.get(NATION)
                answer.raise_for_status()
                self.seen.append((time.perf_counter(), int(answer.headers["x-data-version"])))
                await asyncio.sleep(PROBE_S)

    async def until(self, version: int) -> None:
        deadline = time.perf_counter() + SETTLE_S
        while not self.seen or self.seen[-1][1] < version:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the API did not serve data version {version} within {SETTLE_S:g} s")
            await asyncio.sleep(PROBE_S)

    def first_serving(self, version: int) -> float:
        """When the API first served ``version`` or a later one (versions only grow)."""
        versions = [v for _, v in self.seen]
        return self.seen[bisect.bisect_left(versions, version)][0]


def _cpu(api: int) -> tuple[dict[str, float], dict[int, float]]:
    """This process's and the API's CPU seconds, and PostgreSQL's per process (autovacuum workers
    come and go: see ``cpu.named_used``)."""
    return {"writers": time.process_time(), "api": cpu.tree_seconds(api)}, cpu.named("postgres")


def _used(api: int, before: tuple[dict[str, float], dict[int, float]]) -> dict[str, float]:
    now, _ = _cpu(api)
    return {k: v - before[0][k] for k, v in now.items()} | {"postgres": cpu.named_used("postgres", before[1])}


async def bench(
    database_url: str, *, tps: int | None, writers: int, template: str | None = None
) -> RecapBench:
    """``tps``: a synthetic tree of that many TPS; ``None``: every TPS of ``template``."""
    async with scratch_database(database_url, "bench_recap", template=template) as url:
        conn = await asyncpg.connect(url)
        try:
            if tps is None:
                codes = [r["code"] for r in await conn.fetch("SELECT code FROM tps ORDER BY code")]
            else:
                codes = await synthetic_tree(conn, tps)
            work = await store_decodings(conn, codes)
            with tempfile.TemporaryDirectory(prefix="rekap-bench-recap-") as folder:
                figures, incremental = await _run(Path(folder), url, work, writers)
            start = time.perf_counter()
            await totals.rebuild(conn)
            rebuild_s = time.perf_counter() - start
            nation = await totals.region_totals(conn, None)
            return msgspec.structs.replace(
                figures,
                incremental_equals_rebuild=incremental == await totals.snapshot(conn),
                rebuild_s=round(rebuild_s, 3),
                rebuild_s_per_million_tps=round(rebuild_s * 1e6 / len(codes), 2),
                nation_suara_sah=nation.numbers["suara_sah"],
            )
        finally:
            await conn.close()


Snapshot = dict[tuple[str, str], tuple[int, ...]]


async def _run(
    root: Path, url: str, work: list[tuple[str, TpsDecoding, int]], writers: int
) -> tuple[RecapBench, Snapshot]:
    """The writers and the API at work; the figures (the rebuild's still to come) and the totals
    as the applier left them."""
    port = free_port()
    env = {
        **os.environ,
        "REKAP_DATABASE_URL": url,
        "REKAP_STORAGE_DIR": str(root / "photos"),
        "REKAP_LOG_LEVEL": "warning",
    }
    api = f"http://127.0.0.1:{port}"
    with running([*REKAP, "serve", "--port", str(port), "--workers", "1"], env, root / "api.log") as server:
        wait_for(api + NATION, server, root / "api.log")
        probe = _Probe(api)
        probing = asyncio.create_task(probe.run())
        pool = await asyncpg.create_pool(url, min_size=writers, max_size=writers)
        try:
            crew = [_Writer(work[i::writers]) for i in range(writers)]
            before = _cpu(server.pid)
            start = time.perf_counter()
            await asyncio.gather(*(w.run(pool) for w in crew))
            elapsed = time.perf_counter() - start
            async with acquire(pool) as conn:
                first_version = await conn.fetchval("SELECT coalesce(min(version), 0) FROM public_change")
                await probe.until(await _settled(conn))
            used = _used(server.pid, before)
            probe.stop.set()
            await probing
            async with acquire(pool) as conn:
                taken = await conn.fetch(
                    "SELECT version, unnest(tps) AS tps FROM public_change WHERE tps IS NOT NULL"
                )
                last_version = await conn.fetchval("SELECT max(version) FROM public_change")
                incremental = await totals.snapshot(conn)
        finally:
            await pool.close()
            if not probing.done():
                probing.cancel()
    committed = {code: at for w in crew for code, at in w.committed.items()}
    version_of = {r["tps"]: r["version"] for r in taken}
    fresh = [
        (probe.first_serving(version_of[c]) - at) * 1000 for c, at in committed.items() if c in version_of
    ]
    published = len(committed)
    figures = RecapBench(
        tps=len(work),
        writers=writers,
        changes_per_s=round(published / elapsed, 1),
        # A publication no data version took would be one the public never sees: failed too.
        failed=sum(w.failed for w in crew) + sum(1 for c in committed if c not in version_of),
        freshness_p50_ms=percentile(fresh, 0.50),
        freshness_p99_ms=percentile(fresh, 0.99),
        freshness_max_ms=round(max(fresh, default=0.0), 1),
        incremental_equals_rebuild=True,
        rebuild_s=0.0,
        rebuild_s_per_million_tps=0.0,
        versions=(last_version or 0) - first_version + 1 if last_version else 0,
        cpu_ms_per_change={k: round(v * 1000 / max(published, 1), 3) for k, v in used.items()},
        nation_suara_sah=0,
    )
    return figures, incremental


async def _settled(conn: asyncpg.Connection) -> int:
    """The data version holding every publication, once the applier has applied them all."""
    deadline = time.perf_counter() + SETTLE_S
    while await conn.fetchval("SELECT count(*) FROM recap_delta"):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the applier left publications unapplied for {SETTLE_S:g} s")
        await asyncio.sleep(0.05)
    version: int = await conn.fetchval("SELECT coalesce(max(version), 0) FROM public_change")
    return version
