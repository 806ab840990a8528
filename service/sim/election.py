"""``rekap simulate election-night``: the national TPS list loaded, then the real service (API
processes and OCR workers) driven over HTTP by simulated KPPS uploads at a chosen rate and by
simulated media readers, measuring what a night would: throughput, latencies, the OCR queue's
depth over time, and at the end whether the national totals equal the sum of everything sent.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import msgspec
import numpy as np

from ocr.form import PAIRS, Page
from ocr.synth.pages import generate, tps_values
from service.db.migrations import discover, migrate
from service.db.pool import connect, database_url, ensure_database
from service.db.redis import redis_client
from service.db.scratch import scratch_database
from service.photos.queue import OcrQueue
from service.processes import REKAP, free_port, running, wait_for
from service.regions.registry import NATIONAL_REGISTRY, import_registry
from service.settings import Settings
from service.sim import cpu, pages
from service.users.credentials import new_secret
from service.users.model import Role
from service.users.store import upsert_user

REGISTRY_DB = "rekap_sim_registry"
"""Holds the national registry once; each run copies it (seconds) instead of importing (a minute)."""
TOTALS = ("suara_sah", "suara_tidak_sah", "suara_total")
READER_PAUSE_S = 0.1
UPLOADERS = 16
"""Logins the simulated uploads are spread over, each under the upload limit (set to its highest)."""


class Options(msgspec.Struct, frozen=True, kw_only=True):
    tps: int
    rate: float
    """TPS per second whose three pages are sent."""
    readers: int
    skip_ocr: bool
    api_processes: int
    ocr_processes: int
    seed: int = 1
    drain_timeout: float = 600.0
    registry: str | None = None
    """A KPU registry file to load instead of the national TPS list (for a quick run)."""


class Latency(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]


class Sample(msgspec.Struct, frozen=True, array_like=True):
    t: float
    sent_tps: int
    queue: int
    published: int


class Report(msgspec.Struct, frozen=True, kw_only=True):
    tps_registry: int
    options: Options
    upload_seconds: float
    drain_seconds: float
    """From the last upload until every TPS sent was published and shown in the national totals."""
    uploads: Latency
    readers: Latency
    published_tps: int
    photos_per_s: float
    queue_max: int
    samples: list[Sample]
    """[seconds, TPS sent, OCR queue depth, TPS published], once a second."""
    expected: dict[str, int]
    national: dict[str, int]
    totals_match: bool
    database_bytes_per_tps: int
    cpu_ms_per_photo: dict[str, float]
    """CPU time per photo sent, by part: the API processes, the workers (with their OCR
    processes) and every PostgreSQL process of this machine."""
    """Growth of the database over the run (photos' records, readings, results, audit, totals)
    per TPS sent; the photos' bytes are on the photo store, not here."""


class _Tally:
    """The requests of one kind: how long each took and what it was answered."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self.statuses: collections.Counter[int] = collections.Counter()

    def record(self, began: float, status: int) -> None:
        self.ms.append((time.perf_counter() - began) * 1000)
        self.statuses[status] += 1

    def latency(self, seconds: float) -> Latency:
        ms = self.ms
        q = statistics.quantiles(ms, n=100) if len(ms) > 1 else [ms[0] if ms else 0.0] * 99
        return Latency(
            count=len(ms),
            per_s=round(len(ms) / seconds, 1) if seconds else 0.0,
            p50_ms=round(q[49], 1),
            p95_ms=round(q[94], 1),
            p99_ms=round(q[98], 1),
            statuses={str(k): v for k, v in sorted(self.statuses.items())},
        )


async def registry_database(settings: Settings, say: Callable[[str], None]) -> str:
    """The URL of the database holding the national registry, imported the first time."""
    url = database_url(settings.database_url, REGISTRY_DB)
    await ensure_database(url)
    async with connect(url) as conn:
        await migrate(conn, discover())
        if not await conn.fetchval("SELECT count(*) FROM tps"):
            path = settings.data_path / NATIONAL_REGISTRY
            if not path.is_file():
                raise FileNotFoundError(f"the national TPS list {path} is missing (REKAP_DATA_DIR)")
            say(f"importing the national TPS list from {path} (once; about a minute)")
            await import_registry(conn, path)
    return url


class _Photos:
    """What each TPS sends: its numbers and the bytes of its three pages."""

    def __init__(self, options: Options, settings: Settings, folder: Path) -> None:
        self.skip_ocr = options.skip_ocr
        self.rng = np.random.default_rng(options.seed)
        self.pool: list[tuple[dict[str, int], list[bytes]]] = []
        if not options.skip_ocr:
            # Real photos of the project's synthesiser, a few TPS' worth, sent for many TPS.
            generate(settings.forms_path, folder, 3 * min(options.tps, 8), seed=options.seed, strength=0.6)
            truth: dict[str, dict[str, int]] = msgspec.json.decode((folder / "values.json").read_bytes())
            for tps, numbers in sorted(truth.items()):
                photos = [next(folder.glob(f"{tps}-p{p}-*.jpg")).read_bytes() for p in (1, 2, 3)]
                self.pool.append((numbers, photos))

    def of(self, index: int, tps: str) -> tuple[dict[str, int], list[bytes]]:
        if not self.skip_ocr:
            return self.pool[index % len(self.pool)]
        numbers = tps_values(self.rng)
        return numbers, [pages.photo(tps, page, numbers) for page in Page]


async def simulate(settings: Settings, options: Options, say: Callable[[str], None]) -> Report:
    template = None
    if options.registry is None:
        await registry_database(settings, say)
        template = REGISTRY_DB
    async with scratch_database(settings.database_url, "sim", template=template) as url:
        async with connect(url) as conn:
            if options.registry is not None:
                await import_registry(conn, Path(options.registry))
            registry = int(await conn.fetchval("SELECT count(*) FROM tps"))
            chosen = [
                r["code"]
                for r in await conn.fetch(
                    "SELECT code FROM tps ORDER BY md5(code || $1) LIMIT $2", str(options.seed), options.tps
                )
            ]
            secret = new_secret()
            for n in range(UPLOADERS):
                await upsert_user(
                    conn, username=f"sim.kpps.{n}", display_name="simulasi", role=Role.ADMIN, secret=secret
                )
        with tempfile.TemporaryDirectory(prefix="rekap-sim-") as folder:
            return await _run(settings, options, url, Path(folder), chosen, secret, registry, say)


async def _run(
    settings: Settings,
    options: Options,
    url: str,
    root: Path,
    chosen: list[str],
    secret: str,
    registry: int,
    say: Callable[[str], None],
) -> Report:
    prefix = f"sim-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "REKAP_DATABASE_URL": url,
        "REKAP_STORAGE_DIR": str(root / "photos"),
        "REKAP_REDIS_PREFIX": prefix,
        "REKAP_LOG_LEVEL": "warning",
        "REKAP_SIMULATED_OCR": "1" if options.skip_ocr else "0",
        "REKAP_UPLOADS_PER_MINUTE": "10000",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    photos = _Photos(options, settings, root / "synthetic")
    serve = [*REKAP, "serve", "--port", str(port), "--workers", str(options.api_processes)]
    work = [*REKAP, "worker", "--processes", str(options.ocr_processes)]
    with running(serve, env, root / "api.log") as api, running(work, env, root / "worker.log") as worker:
        wait_for(base + "/health", api, root / "api.log")
        say(
            f"simulating {len(chosen)} TPS at {options.rate:g} TPS/s with {options.readers} readers on {base}"
        )
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=httpx.Limits(max_connections=256)
        ) as client:
            tokens = []
            for n in range(UPLOADERS):
                login = {"username": f"sim.kpps.{n}", "password": secret}
                answer = await client.post("/api/v1/auth/login", json=login)
                answer.raise_for_status()
                tokens.append({"Authorization": f"Bearer {answer.json()['token']}"})
            night = _Night(client, tokens, photos, options, chosen, {"api": api.pid, "workers": worker.pid})
            queue = OcrQueue(redis_client(settings), prefix)
            pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
            try:
                return await night.run(queue, pool, registry, say)
            finally:
                await pool.close()
                await queue.redis.aclose()


class _Night:
    def __init__(
        self,
        client: httpx.AsyncClient,
        tokens: list[dict[str, str]],
        photos: _Photos,
        options: Options,
        chosen: list[str],
        parts: dict[str, int],
    ) -> None:
        self.client = client
        self.tokens = tokens
        self.photos = photos
        self.options = options
        self.chosen = chosen
        self.parts = parts
        self.expected = dict.fromkeys((*PAIRS, *TOTALS), 0)
        self.sent = 0
        self.uploads = _Tally()
        self.reads = _Tally()
        self.samples: list[Sample] = []

    async def run(
        self, queue: OcrQueue, pool: asyncpg.Pool, registry: int, say: Callable[[str], None]
    ) -> Report:
        size_before = int(await pool.fetchval("SELECT pg_database_size(current_database())"))
        cpu_before = self._cpu()
        start = time.perf_counter()
        stop = asyncio.Event()
        readers = [asyncio.create_task(self._reader(stop, i)) for i in range(self.options.readers)]
        sampler = asyncio.create_task(self._sampler(stop, queue, pool, start))
        await self._upload_all(start)
        uploaded = time.perf_counter()
        say(f"sent {self.sent} TPS in {uploaded - start:.1f} s; waiting for every one to be published")
        national = await self._drained(pool, uploaded)
        drained = time.perf_counter()
        stop.set()
        await asyncio.gather(*readers, sampler)
        cpu = {part: after - cpu_before[part] for part, after in self._cpu().items()}
        published = int(await pool.fetchval("SELECT count(*) FROM tps_result WHERE state = 'published'"))
        grown = int(await pool.fetchval("SELECT pg_database_size(current_database())")) - size_before
        return Report(
            tps_registry=registry,
            options=self.options,
            upload_seconds=round(uploaded - start, 2),
            drain_seconds=round(drained - uploaded, 2),
            uploads=self.uploads.latency(uploaded - start),
            readers=self.reads.latency(drained - start),
            published_tps=published,
            photos_per_s=round(3 * self.sent / (drained - start), 1),
            queue_max=max((s.queue for s in self.samples), default=0),
            samples=self.samples,
            expected=self.expected,
            national=national,
            totals_match=national == self.expected,
            database_bytes_per_tps=grown // max(self.sent, 1),
            cpu_ms_per_photo={part: round(1000 * s / max(3 * self.sent, 1), 2) for part, s in cpu.items()},
        )

    def _cpu(self) -> dict[str, float]:
        seconds = {part: cpu.tree_seconds(pid) for part, pid in self.parts.items()}
        return seconds | {"postgres": cpu.named_seconds("postgres")}

    async def _upload_all(self, start: float) -> None:
        slots = asyncio.Semaphore(128)
        tasks = []
        for i, tps in enumerate(self.chosen):
            delay = start + i / self.options.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            task = asyncio.create_task(self._send_tps(i, tps))
            task.add_done_callback(lambda _: slots.release())
            tasks.append(task)
        await asyncio.gather(*tasks)

    async def _send_tps(self, index: int, tps: str) -> None:
        numbers, photos = self.photos.of(index, tps)
        token = self.tokens[index % len(self.tokens)]
        for page, data in enumerate(photos, start=1):
            await self._upload(token, tps, page, data)
        for name in self.expected:
            self.expected[name] += numbers[name]
        self.sent += 1

    async def _upload(self, token: dict[str, str], tps: str, page: int, data: bytes) -> None:
        """One page, retried as a phone would on 429 and 503 (honouring Retry-After)."""
        for _ in range(20):
            began = time.perf_counter()
            response = await self.client.post(
                f"/api/v1/tps/{tps}/ppwp/photos",
                content=data,
                params={"page": page},
                headers={**token, "Content-Type": "image/jpeg"},
            )
            self.uploads.record(began, response.status_code)
            if response.status_code in (200, 201):
                return
            if response.status_code not in (429, 503):
                raise RuntimeError(f"TPS {tps} page {page}: {response.status_code} {response.text}")
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        raise RuntimeError(f"TPS {tps} page {page}: still refused after 20 attempts")

    async def _reader(self, stop: asyncio.Event, n: int) -> None:
        """A media reader on a connection of its own: the version, the nation, a province, a TPS
        (mostly what everyone reads), about ten requests a second."""
        rng = random.Random(n)
        provinces = sorted({c[:2] for c in self.chosen})
        async with httpx.AsyncClient(base_url=str(self.client.base_url), timeout=30) as client:
            while not stop.is_set():
                await self._read_one(client, rng, provinces)
                await asyncio.sleep(READER_PAUSE_S)

    async def _read_one(self, client: httpx.AsyncClient, rng: random.Random, provinces: list[str]) -> None:
        pick = rng.random()
        if pick < 0.4:
            path = "/api/v1/public/ppwp/version"
        elif pick < 0.7:
            path = "/api/v1/public/ppwp/regions/nasional"
        elif pick < 0.9:
            path = f"/api/v1/public/ppwp/regions/{rng.choice(provinces)}"
        else:
            path = f"/api/v1/public/ppwp/tps/{rng.choice(self.chosen)}"
        began = time.perf_counter()
        try:
            status = (await client.get(path)).status_code
        except httpx.TransportError:
            status = 0
        self.reads.record(began, status)

    async def _sampler(self, stop: asyncio.Event, queue: OcrQueue, pool: asyncpg.Pool, start: float) -> None:
        while not stop.is_set():
            published = await pool.fetchval("SELECT count(*) FROM tps_result WHERE state = 'published'")
            self.samples.append(
                Sample(round(time.perf_counter() - start, 1), self.sent, await queue.depth(), int(published))
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def _drained(self, pool: asyncpg.Pool, since: float) -> dict[str, int]:
        """The national totals once they show every TPS sent (or as they stand at the timeout)."""
        national: dict[str, int] = {}
        while time.perf_counter() - since < self.options.drain_timeout:
            doc = (await self.client.get("/api/v1/public/ppwp/regions/nasional")).json()
            national = {f"suara_paslon_{c['number']}": c["votes"] for c in doc["candidates"]}
            national |= {name: doc[name] for name in TOTALS}
            if national == self.expected:
                break
            await asyncio.sleep(0.5)
        return national
