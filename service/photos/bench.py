"""``rekap bench intake``: how many real-size photos the upload API accepts per second, how fast,
and whether any is lost or stored twice.

On a scratch database with an example registry (``service.regions.example``): the API and a
worker start as election night runs them, the worker taking each page's numbers from the photo
itself (``REKAP_SIMULATED_OCR``, ``service.sim.pages``) so that the OCR does not take the cores.
Many KPPS logins (sessions made in the database: argon2 is the login's cost, not the upload's)
each send the three pages of their TPS, some a page twice on purpose, as a phone retries when
an answer is lost. Every photo is distinct: a real photo (or, without ``../shared``, a photo-sized
image) with the TPS's page stamped into its JPEG comment.

``lost``: an upload answered 2xx whose photo is missing afterwards from the database or the
store. ``duplicated``: two records of one photo. CPU per upload is read from /proc for the API,
PostgreSQL and the load generator, so that the figures hold on a machine they share.
"""

from __future__ import annotations

import asyncio
import collections
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import cv2
import msgspec
import numpy as np

from ocr.form import Page
from ocr.synth.pages import tps_values
from service.db.pool import connect
from service.db.scratch import scratch_database
from service.photos.storage import PhotoStore
from service.processes import REKAP, free_port, running, wait_for
from service.regions.example import PROVINCES, write_example_registry
from service.regions.registry import import_registry
from service.settings import Settings
from service.sim import cpu
from service.sim import pages as simulated
from service.sim.stats import percentile
from service.users.credentials import hash_secret, new_secret, new_token

REAL_PHOTOS = "c1_form_images/images"
READ_TIMEOUT_S = 120.0
STATUS_POLLS = 3


class Options(msgspec.Struct, frozen=True, kw_only=True):
    tps: int
    concurrency: int
    retry_share: float = 0.05
    """Share of pages sent a second time (the same bytes), as a phone whose answer was lost."""
    api_processes: int = 0
    seed: int = 1


class Report(msgspec.Struct, frozen=True, kw_only=True):
    tps: int
    uploads: int
    retried: int
    concurrency: int
    photo_bytes_mean: int
    uploads_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    lost: int
    duplicated: int
    read: int
    photo_to_reading_p50_ms: float
    photo_to_reading_p99_ms: float
    cpu_ms_per_upload: dict[str, float]
    """API (granian and its workers), PostgreSQL (every backend), the load generator (this process)."""
    status_requests: int
    """The phones' status polls (``GET /api/v1/tps/{code}/ppwp``), once the uploads were read:
    each KPPS asking ``STATUS_POLLS`` times, as many in flight as uploads were."""
    status_per_s: float
    status_p50_ms: float
    status_p99_ms: float
    status_errors: int
    cpu_ms_per_status: dict[str, float]
    cores: int


class _Checked(msgspec.Struct, frozen=True):
    lost: int
    duplicated: int
    read: int
    p50_ms: float
    p99_ms: float


class _Answer(msgspec.Struct, frozen=True):
    tps: str
    page: int
    status: int
    ms: float
    sha256: str | None
    photo_id: int | None


def _base_photos(data: Path) -> list[bytes]:
    """Real page photos when the shared data is here; otherwise one photo-sized image."""
    real = sorted((data / REAL_PHOTOS).glob("*.jpg"))[:30]
    if real:
        return [p.read_bytes() for p in real]
    rng = np.random.default_rng(0)
    paper = cv2.GaussianBlur(rng.integers(0, 255, (2000, 1500, 3), np.uint8), (0, 0), 3)
    ok, encoded = cv2.imencode(".jpg", paper, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return [encoded.tobytes()]


async def _prepare(url: str, root: Path, options: Options) -> tuple[list[str], dict[str, str]]:
    """The example registry with enough TPS, a KPPS for each TPS sent and a session for each."""
    per_desa = max(4, -(-options.tps // len(PROVINCES)))
    async with connect(url) as conn:
        await import_registry(conn, write_example_registry(root / "registry.csv", tps_per_desa=per_desa))
        chosen = [
            r["code"]
            for r in await conn.fetch(
                "SELECT code FROM tps ORDER BY md5(code || $1) LIMIT $2", str(options.seed), options.tps
            )
        ]
        await conn.execute(
            "INSERT INTO app_user (username, display_name, role, tps_code, secret_hash) "
            "SELECT 'kpps.' || code, 'KPPS ' || code, 'kpps', code, $2 FROM unnest($1::text[]) code",
            chosen,
            hash_secret(new_secret()),  # one hash for all: nobody logs in with it
        )
        tokens = {code: new_token() for code in chosen}
        await conn.executemany(
            "INSERT INTO session_token (token_hash, user_id, expires_at) "
            "SELECT $1, id, now() + interval '1 day' FROM app_user WHERE tps_code = $2",
            [(digest, code) for code, (_, digest) in tokens.items()],
        )
    return chosen, {code: f"Bearer {token}" for code, (token, _) in tokens.items()}


async def bench(settings: Settings, options: Options) -> Report:
    with tempfile.TemporaryDirectory(prefix="rekap-bench-intake-") as folder:
        root = Path(folder)
        async with scratch_database(settings.database_url, "intake") as url:
            chosen, auth = await _prepare(url, root, options)
            return await _run(settings, options, url, root, chosen, auth)


async def _run(
    settings: Settings,
    options: Options,
    url: str,
    root: Path,
    chosen: list[str],
    auth: dict[str, str],
) -> Report:
    env = {
        **os.environ,
        "REKAP_DATABASE_URL": url,
        "REKAP_STORAGE_DIR": str(root / "photos"),
        "REKAP_REDIS_PREFIX": f"bench-intake-{uuid.uuid4().hex[:8]}",
        "REKAP_LOG_LEVEL": "warning",
        "REKAP_SIMULATED_OCR": "1",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api_processes = options.api_processes or settings.worker_count
    serve = [*REKAP, "serve", "--port", str(port), "--workers", str(api_processes)]
    work = [*REKAP, "worker", "--processes", "1"]
    photos = _base_photos(settings.data_path)
    rng = random.Random(options.seed)
    numbers_rng = np.random.default_rng(options.seed)
    with running(serve, env, root / "api.log") as api, running(work, env, root / "worker.log"):
        wait_for(base + "/health", api, root / "api.log")
        jobs = []
        for i, tps in enumerate(chosen):
            numbers = tps_values(numbers_rng)
            for page in Page:
                data = simulated.stamp(photos[(3 * i + page) % len(photos)], tps, page, numbers)
                jobs.append((tps, int(page), data))
                if rng.random() < options.retry_share:
                    jobs.append((tps, int(page), data))
        rng.shuffle(jobs)
        answers: list[_Answer] = []
        todo = collections.deque(jobs)
        before = _cpu(api.pid)
        began = time.perf_counter()

        async def connection() -> None:
            client = _Client("127.0.0.1", port)
            while todo:
                tps, page, data = todo.popleft()
                answers.append(await client.upload(auth[tps], tps, page, data))
            client.close()

        await asyncio.gather(*(connection() for _ in range(options.concurrency)))
        elapsed = time.perf_counter() - began
        after = _cpu(api.pid)
        checked = await _checked(url, PhotoStore(root / "photos"), answers)
        polls = collections.deque(tps for _ in range(STATUS_POLLS) for tps in chosen)
        polled: list[tuple[int, float]] = []

        async def poller() -> None:
            client = _Client("127.0.0.1", port)
            while polls:
                tps = polls.popleft()
                polled.append(await client.status(auth[tps], tps))
            client.close()

        before_polls = _cpu(api.pid)
        began = time.perf_counter()
        await asyncio.gather(*(poller() for _ in range(options.concurrency)))
        polling = time.perf_counter() - began
        after_polls = _cpu(api.pid)
    poll_ms = sorted(ms for _, ms in polled)
    ok = [a for a in answers if 200 <= a.status < 300]
    latencies = sorted(a.ms for a in answers)
    statuses: dict[str, int] = {}
    for a in answers:
        statuses[str(a.status)] = statuses.get(str(a.status), 0) + 1
    return Report(
        tps=len(chosen),
        uploads=len(answers),
        retried=len(jobs) - 3 * len(chosen),
        concurrency=options.concurrency,
        photo_bytes_mean=int(statistics.fmean(len(j[2]) for j in jobs)),
        uploads_per_s=round(len(ok) / elapsed, 1),
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
        statuses=statuses,
        cpu_ms_per_upload={k: round(1000 * (after[k] - before[k]) / max(1, len(answers)), 2) for k in after},
        status_requests=len(polled),
        status_per_s=round(len(polled) / polling, 1),
        status_p50_ms=percentile(poll_ms, 0.50),
        status_p99_ms=percentile(poll_ms, 0.99),
        status_errors=sum(1 for status, _ in polled if status != 200),
        cpu_ms_per_status={
            k: round(1000 * (after_polls[k] - before_polls[k]) / max(1, len(polled)), 3) for k in after_polls
        },
        cores=os.cpu_count() or 1,
        lost=checked.lost,
        duplicated=checked.duplicated,
        read=checked.read,
        photo_to_reading_p50_ms=checked.p50_ms,
        photo_to_reading_p99_ms=checked.p99_ms,
    )


class _Upload(msgspec.Struct):
    id: int
    sha256: str


class _Client:
    """One keep-alive HTTP/1.1 connection sending uploads as a phone would, written plainly so
    that the load generator costs far less CPU per upload than the API it measures (httpx cost
    twice the API's, on the same cores)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def upload(self, auth: str, tps: str, page: int, data: bytes) -> _Answer:
        head = (
            f"POST /api/v1/tps/{tps}/ppwp/photos?page={page} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: {auth}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        began = time.perf_counter()
        try:
            status, body = await self._exchange(head, data)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            return _Answer(tps, page, 0, (time.perf_counter() - began) * 1000, None, None)
        ms = (time.perf_counter() - began) * 1000
        if 200 <= status < 300:
            photo = msgspec.json.decode(body, type=_Upload)
            return _Answer(tps, page, status, ms, photo.sha256, photo.id)
        return _Answer(tps, page, status, ms, None, None)

    async def status(self, auth: str, tps: str) -> tuple[int, float]:
        """A phone asking how its TPS's pages are: the answer's status and ms."""
        head = (
            f"GET /api/v1/tps/{tps}/ppwp HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Authorization: {auth}\r\n\r\n"
        ).encode()
        began = time.perf_counter()
        try:
            status, _ = await self._exchange(head, b"")
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            status = 0
        return status, (time.perf_counter() - began) * 1000

    async def _exchange(self, head: bytes, data: bytes) -> tuple[int, bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(head + data)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length, close = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"connection" and b"close" in value.lower():
                close = True
        body = await reader.readexactly(length)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def _cpu(api: int) -> dict[str, float]:
    return {
        "api": cpu.tree_seconds(api),
        "postgres": cpu.named_seconds("postgres"),
        "load_generator": time.process_time(),  # this process alone (the API and worker are its children)
    }


async def _checked(url: str, store: PhotoStore, answers: list[_Answer]) -> _Checked:
    """Lost and duplicated photos, and the time from upload to reading once the worker is through."""
    accepted = {(a.photo_id, a.sha256) for a in answers if a.photo_id is not None}
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id, sha256 FROM photo WHERE id = ANY($1::bigint[])", [i for i, _ in accepted]
        )
        stored = {(r["id"], r["sha256"]) for r in rows}
        lost = sum(1 for photo in accepted if photo not in stored or not store.path(photo[1] or "").is_file())
        duplicated = int(
            await conn.fetchval(
                "SELECT count(*) FROM (SELECT 1 FROM photo GROUP BY tps_code, sha256 HAVING count(*) > 1) d"
            )
        )
        deadline = time.monotonic() + READ_TIMEOUT_S
        while time.monotonic() < deadline:
            unread = await conn.fetchval(
                "SELECT count(*) FROM photo p "
                "WHERE NOT EXISTS (SELECT 1 FROM photo_reading r WHERE r.photo_id = p.id)"
            )
            if not unread:
                break
            await asyncio.sleep(0.5)
        timing = await conn.fetchrow(
            """
            SELECT count(*) AS read,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
            FROM (SELECT extract(epoch FROM r.read_at - p.uploaded_at) * 1000 AS ms
                  FROM photo p JOIN photo_reading r ON r.photo_id = p.id) t
            """
        )
    finally:
        await conn.close()
    assert timing is not None
    return _Checked(
        lost=lost,
        duplicated=duplicated,
        read=int(timing["read"]),
        p50_ms=round(float(timing["p50"] or 0), 1),
        p99_ms=round(float(timing["p99"] or 0), 1),
    )
