"""``rekap worker``: reads queued photos with the OCR core on every core, stores the readings.

One asyncio loop talks to Redis and PostgreSQL; the CPU-bound reading runs in a process pool
(one process per core). Between jobs it also applies the pending changes to the regional
totals (``service.recap.totals``). Every step is safe to repeat, because a job can run twice: a photo that
already has a reading is not read again, readings and decodings are inserted once. A job is
acknowledged only after its result is committed, so a worker killed mid-job leaves its entry
pending, and another worker claims it after ``queue_claim_seconds``. Photos whose queue entry
was lost (Redis flushed or restarted) are found in PostgreSQL by the sweep and queued again.

A reading has a hard time limit (``REKAP_OCR_READ_LIMIT_SECONDS``): a photo that keeps the reader busy longer
is refused as ``unclear``, its process and the pool's others stopped and the pool started
again; the other photos they were reading are read again, each alone, as after a crash.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import asyncpg
import msgspec
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

import ocr
from ocr.form import Page
from ocr.publication import conflicts
from service.db.pool import CONNECTION_ERRORS, acquire, create_pool
from service.db.redis import redis_client
from service.errors import NotFound, StorageFull
from service.photos import store
from service.photos.queue import Entry, OcrQueue
from service.photos.states import PhotoState
from service.photos.storage import PhotoStore
from service.recap import totals
from service.results import workflow
from service.results.store import lock_tps
from service.settings import Settings
from service.sim import pages as sim_pages

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
MAX_DELIVERIES = 5
"""A photo handed out this many times without a result crashes the reader: it is set aside."""
OUTAGES: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError, OSError, *CONNECTION_ERRORS)


class ReadResult(msgspec.Struct, frozen=True):
    outcome: str
    page: int | None
    retake_reason: str | None
    reading: bytes
    reader_version: str
    ms: float
    working: bytes | None = None
    """The photo's working copy (``ocr.working_copy``) when it was read as a page, for the crops."""


class ReadingTooLong(Exception):
    """A reading was stopped at the time limit (its processes killed)."""

    def __init__(self, limit_s: float) -> None:
        super().__init__(f"the reading took longer than {limit_s:g} s")
        self.limit_s = limit_s


def read_job(data: bytes, simulated: bool = False) -> ReadResult:
    """Runs in a pool process: one photo through the OCR core (or, for a simulated election's
    page, its numbers as the photo carries them: ``service.sim.pages``; its working copy is then
    left to the first crop). A page's working copy is made here, in the same process, so that
    the review's crops need not decode the whole photo."""
    start = time.perf_counter()
    imitated = sim_pages.reading(data) if simulated else None
    outcome = imitated or ocr.read_page(data)
    ms = (time.perf_counter() - start) * 1000
    if isinstance(outcome, ocr.Rejected):
        return ReadResult(
            "rejected", None, outcome.reason.value, msgspec.json.encode(outcome), ocr.VERSION, ms
        )
    return ReadResult(
        "page",
        outcome.page.value,
        None,
        msgspec.json.encode(outcome),
        outcome.reader_version,
        ms,
        None if imitated else ocr.working_copy(data),
    )


def too_long(limit_s: float) -> ReadResult:
    """What a reading stopped at the time limit is stored as: a photo to take again."""
    refusal = ocr.Rejected(ocr.Retake.UNCLEAR, ocr.Retake.UNCLEAR.message, str(ReadingTooLong(limit_s)))
    return ReadResult(
        "rejected", None, refusal.reason.value, msgspec.json.encode(refusal), ocr.VERSION, limit_s * 1000
    )


def ready() -> None:
    """Runs in a pool process: nothing, once the process has started."""


def decode_job(readings: list[str]) -> tuple[bytes, bool, bool]:
    """Runs in a pool process: the current pages of one TPS decoded together."""
    decoded = ocr.decode(msgspec.json.decode(r, type=ocr.PageReading) for r in readings)
    return msgspec.json.encode(decoded), decoded.consistent, decoded.all_accepted


class Worker:
    def __init__(
        self,
        settings: Settings,
        *,
        processes: int,
        read_limit_s: float | None = None,
        read: Callable[[bytes], ReadResult] | None = None,
    ) -> None:
        """``read`` is the job that reads a photo in a pool process (``read_job`` unless a test
        gives a slow or failing one); it must be a module-level function or a partial of one."""
        self.settings = settings
        self.processes = processes
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"
        self.photos = PhotoStore(settings.storage_path)
        self.claim_ms = settings.queue_claim_seconds * 1000
        self.sweep_every = max(1.0, settings.queue_claim_seconds / 2)
        # Real photos take a quarter of a second to a few seconds; the reader's own budgets (the
        # boxes' search, ``ocr.imagefile``'s limits on pixels and scans) keep it far below the
        # limit, so only a photo that defeats them meets it. The time a pool process takes to
        # start is not counted.
        self.read_limit_s = read_limit_s or float(settings.ocr_read_limit_seconds)
        self.read_job = read or functools.partial(read_job, simulated=bool(settings.simulated_ocr))

    async def run(self, stop: asyncio.Event) -> None:
        self.pool = await create_pool(self.settings)
        self.redis = redis_client(self.settings, timeout=5)
        self.queue = OcrQueue(self.redis, self.settings.redis_prefix)
        self.executor = ocr.reading_pool(self.processes)
        slots = asyncio.Semaphore(self.processes)
        running: set[asyncio.Task[None]] = set()
        last_sweep = 0.0
        log.info("worker %s: %d OCR processes", self.consumer, self.processes)
        if self.settings.simulated_ocr:
            log.warning("REKAP_SIMULATED_OCR=1: simulated pages skip the OCR; never set it for a real count")
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() - last_sweep > self.sweep_every:
                        await self.sweep()
                        last_sweep = time.monotonic()
                    async with acquire(self.pool) as conn:
                        await totals.apply_deltas(conn, wait=False)
                    await slots.acquire()
                    slots.release()
                    free = self.processes - len(running)
                    entries = await self.queue.claim(self.consumer, self.claim_ms, free)
                    if not entries:
                        entries = await self.queue.read(self.consumer, free, block_ms=1000)
                except OUTAGES as error:
                    log.warning("worker: Redis or PostgreSQL unavailable (%r); retrying", error)
                    await asyncio.sleep(1)
                    continue
                for entry in entries:
                    await slots.acquire()
                    task = asyncio.create_task(self.handle(entry))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    task.add_done_callback(lambda _: slots.release())
        finally:
            if running:
                await asyncio.wait(running)
            self.executor.shutdown(wait=True, cancel_futures=True)
            await self.redis.aclose()
            await self.pool.close()

    async def sweep(self) -> int:
        """Queue again every photo without a reading that waited twice the claim time.

        Twice: an entry whose worker died is claimed first (keeping its delivery count, which
        sets a poison photo aside); only an entry that is gone altogether waits for the sweep.
        Only while the queue is empty: entries still waiting are not lost, just late, and
        queuing them again would grow a backlog with copies.
        """
        await self.queue.ensure_group()
        if await self.queue.depth() > 0:
            return 0
        async with acquire(self.pool) as conn:
            ids = await store.stale(conn, 2 * self.settings.queue_claim_seconds)
        for photo_id in ids:
            await self.queue.enqueue(photo_id)
        if ids:
            log.info("sweep: %d photo(s) queued again", len(ids))
        return len(ids)

    async def handle(self, entry: Entry) -> None:
        try:
            if entry.job is not None:
                await self.process(entry, entry.job.photo_id)
            await self.queue.ack(entry.id)
        except BrokenProcessPool:
            log.error("the OCR process died on entry %s, also alone; its job stays pending", entry.id)
        except OUTAGES as error:
            log.warning("entry %s left pending: %r", entry.id, error)
        except Exception:
            # A bug met on this entry must not stop the worker from reading every other photo;
            # the entry stays pending (claimed again later) until it has failed too often.
            log.exception("entry %s failed", entry.id)
            if await self.queue.deliveries(entry.id) > MAX_DELIVERIES:
                log.error(
                    "entry %s dropped after %d tries; its photo keeps what was stored",
                    entry.id,
                    MAX_DELIVERIES,
                )
                await self.queue.ack(entry.id)

    async def process(self, entry: Entry, photo_id: int) -> None:
        async with acquire(self.pool) as conn:
            photo = await store.photo_for_job(conn, photo_id)
            if photo is None:
                return
            if not photo.read:
                if await self.queue.deliveries(entry.id) > MAX_DELIVERIES:
                    await self._set_aside(conn, photo_id, "the reader failed on it too many times")
                else:
                    await store.move(conn, photo_id, PhotoState.READING)
                    await self._read(conn, photo_id, photo.sha256)
            await self._decode(conn, photo.tps)

    async def _read(self, conn: asyncpg.Connection, photo_id: int, sha256: str) -> None:
        try:
            data = await asyncio.to_thread(self.photos.get, sha256)
        except NotFound:
            await self._set_aside(conn, photo_id, "the photo's file is missing from the store")
            return
        try:
            result = await self._isolating_crashes(self.read_job, data, limit_s=self.read_limit_s)
        except ReadingTooLong as stopped:
            log.error("photo %s: %s; its reading process was stopped", photo_id, stopped)
            result = too_long(stopped.limit_s)
        if result.working is not None:
            await self._keep_working_copy(sha256, result.working)
        await store.save_reading(
            conn,
            photo_id,
            outcome=result.outcome,
            page=result.page,
            retake_reason=result.retake_reason,
            reading=result.reading,
            reader_version=result.reader_version,
            ms=result.ms,
        )
        log.info(
            "photo %s: %s %s in %.0f ms",
            photo_id,
            result.outcome,
            result.page or result.retake_reason,
            result.ms,
        )

    async def _keep_working_copy(self, sha256: str, working: bytes) -> None:
        try:
            await asyncio.to_thread(self.photos.put_working, sha256, working)
        except StorageFull as full:  # the reading matters more; the first crop makes the copy again
            log.warning("photo %s: %s", sha256, full)

    async def _isolating_crashes(
        self, job: Callable[[T], R], argument: T, *, limit_s: float | None = None
    ) -> R:
        """Run a job in the pool; if the pool breaks (one of its processes died, perhaps on
        another photo, or was stopped at another job's time limit), renew it and run this job
        once more alone, so that only a photo that crashes the reader by itself is charged with
        the failure. With ``limit_s``, ``ReadingTooLong`` when the job ran longer."""
        executor = self.executor
        try:
            return await self._within(executor, job, argument, limit_s)
        except BrokenProcessPool:
            self._renew(executor)
            with ocr.reading_pool(1) as alone:
                return await self._within(alone, job, argument, limit_s)

    async def _within(
        self, executor: ProcessPoolExecutor, job: Callable[[T], R], argument: T, limit_s: float | None
    ) -> R:
        """The job's result; past ``limit_s`` its pool's processes are killed (the only way to
        stop a process inside a decoder's C code) and the pool is renewed."""
        loop = asyncio.get_running_loop()
        if limit_s is None:
            return await loop.run_in_executor(executor, job, argument)
        await loop.run_in_executor(executor, ready)  # a process is up: the limit counts the job alone
        running = loop.run_in_executor(executor, job, argument)
        done, _ = await asyncio.wait({running}, timeout=limit_s)
        if not done:
            running.cancel()
            self._renew(executor)
            _kill(executor)
            raise ReadingTooLong(limit_s)
        return running.result()

    def _renew(self, executor: ProcessPoolExecutor) -> None:
        """A new pool in place of a broken one (once, however many of its jobs report it)."""
        if executor is self.executor:
            self.executor = ocr.reading_pool(self.processes)

    async def _set_aside(self, conn: asyncpg.Connection, photo_id: int, why: str) -> None:
        log.error("photo %s set aside: %s", photo_id, why)
        await store.move(conn, photo_id, PhotoState.READING)
        await store.save_reading(
            conn,
            photo_id,
            outcome="failed",
            page=None,
            retake_reason="failed",
            reading=msgspec.json.encode({"failed": why}),
            reader_version=ocr.VERSION,
            ms=0.0,
        )

    async def _decode(self, conn: asyncpg.Connection, tps: str) -> None:
        """When every page of the TPS has a reading, decode the current ones together (once)."""
        current = await store.current_pages(conn, tps)
        if len(current) < len(Page):
            return
        ids = [photo_id for photo_id, _ in current.values()]
        if await store.decoding_of(conn, tps, ids) is not None:
            return
        decoding, consistent, accepted = await self._isolating_crashes(
            decode_job, [reading for _, reading in current.values()]
        )
        async with conn.transaction():
            await lock_tps(conn, tps)
            if [i for i, _ in (await store.current_pages(conn, tps)).values()] != ids:
                return  # a newer photo of a page was read meanwhile; its own decoding follows
            decoding_id = await store.save_decoding(
                conn, tps, ids, decoding, consistent=consistent, accepted=accepted
            )
            if decoding_id is None:
                return  # another worker decoded these photos meanwhile
            pages = [msgspec.json.decode(reading, type=ocr.PageReading) for _, reading in current.values()]
            result = await workflow.record_decoding(
                conn,
                tps,
                msgspec.json.decode(decoding, type=ocr.TpsDecoding),
                decoding_id,
                evidence=conflicts(pages),
            )
        log.info("TPS %s decoded: %s", tps, result.state)


def _kill(executor: ProcessPoolExecutor) -> None:
    """Kill the pool's processes, whatever they are doing: the pool breaks, failing its other
    jobs with ``BrokenProcessPool``, and shuts itself down. Python 3.11 has no public call for
    it (3.14 adds ``ProcessPoolExecutor.kill_workers``)."""
    for process in list((executor._processes or {}).values()):
        process.kill()
