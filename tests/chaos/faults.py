"""Scenarios 1–4: a worker killed mid-job, Redis and PostgreSQL restarted under load, the photo
store full. Each injects its fault into the running services and judges what clients got and
whether every accepted photo was kept and read, without restarting any rekap process."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import httpx

from service.photos.storage import PhotoStore, sha256_of
from tests.chaos.client import Tally
from tests.chaos.ledger import partial_files
from tests.chaos.outcome import Outcome, Uploads, judged, must_accept, nothing_lost
from tests.chaos.stack import TPS, Stack

OUTAGE_S = 4.0
SLOWEST_ALLOWED_S = 15.0
"""No answer may take longer, outage or not (the client gives up at 20 s)."""


def process_group(pgid: int) -> list[int]:
    """The live processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


async def _mid_job(conn: asyncpg.Connection, ids: list[int], within: float) -> int | None:
    """The first of ``ids`` seen being read (taken by a worker, no reading stored yet)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found: int | None = await conn.fetchval(
            "SELECT p.id FROM photo p LEFT JOIN photo_reading r ON r.photo_id = p.id "
            "WHERE p.id = ANY($1::bigint[]) AND p.state = 'reading' AND r.photo_id IS NULL LIMIT 1",
            ids,
        )
        if found is not None:
            return found
        await asyncio.sleep(0.005)
    return None


async def _with_ocr_process(pgid: int, within: float) -> list[int]:
    """The worker's process group once its OCR process has started (or as it is after ``within``)."""
    deadline = time.monotonic() + within
    while len(group := process_group(pgid)) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    return group


async def _survivors(pgid: int, within: float) -> list[int]:
    """Processes of a killed group still alive after ``within`` seconds (none, normally)."""
    deadline = time.monotonic() + within
    while (alive := process_group(pgid)) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return alive


async def _unread(conn: asyncpg.Connection, photo_id: int) -> bool:
    return not await conn.fetchval("SELECT 1 FROM photo_reading WHERE photo_id = $1", photo_id)


async def worker_killed_mid_job(stack: Stack) -> Outcome:
    """kill -9 of a worker's whole process group while it reads a photo; another worker reads it."""
    tally = Tally()
    officer = await stack.officer(TPS[0], tally)
    stack.stop_workers()
    accepted = []
    for page in (1, 2, 3, 1, 2):
        accepted.append(await must_accept(officer, stack.photos.photo(page), page))
    conn = await asyncpg.connect(stack.postgres.url, timeout=10)
    problems: list[str] = []
    figures: dict[str, object] = {}
    try:
        victim_photo = None
        for attempt in range(1, 6):
            victim = stack.start_worker()
            pending = [a.photo_id for a in accepted if await _unread(conn, a.photo_id)]
            taken = await _mid_job(conn, pending, within=60)
            group = await _with_ocr_process(victim.process.pid, within=1)
            victim.kill()
            killed_at = time.monotonic()
            if survivors := await _survivors(victim.process.pid, within=5):
                problems.append(f"processes of the killed worker survived: {survivors}")
            if taken is not None and await _unread(conn, taken):
                victim_photo = taken
                figures.update(attempts=attempt, photo_id=taken, processes_killed=len(group))
                break
        if victim_photo is None:
            problems.append("no worker was caught mid-job in 5 attempts")
        stack.start_worker()
        if victim_photo is not None:
            await _until_read(conn, victim_photo, within=60)
            figures["seconds_until_read_again"] = round(time.monotonic() - killed_at, 2)
    finally:
        await conn.close()
        await officer.aclose()
    lost = await nothing_lost(stack, accepted)
    problems += tally.unexpected(allowed=(200, 201))
    figures["accepted"] = len(accepted)
    return judged(
        "worker_killed_mid_job",
        problems,
        lost,
        figures,
        "the photo read when its worker died was read by the next one",
    )


async def _until_read(conn: asyncpg.Connection, photo_id: int, within: float) -> None:
    deadline = time.monotonic() + within
    while await _unread(conn, photo_id):
        if time.monotonic() > deadline:
            raise TimeoutError(f"photo {photo_id} was not read again within {within} s")
        await asyncio.sleep(0.05)


async def redis_restarted_during_uploads(stack: Stack) -> Outcome:
    """Redis killed (losing the queue) and started again while a phone keeps sending."""
    stack.worker_alive()
    tally = Tally()
    officer = await stack.officer(TPS[1], tally)
    uploads = Uploads(stack, officer)
    window = [0.0, 0.0]

    async def fault() -> None:
        await uploads.until_accepted(2)
        window[0] = time.monotonic()
        try:
            await asyncio.to_thread(stack.redis.kill)
            await asyncio.sleep(OUTAGE_S)
        finally:
            await asyncio.to_thread(stack.redis.start)
            window[1] = time.monotonic()
            uploads.fault_over.set()

    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(uploads.run())
            tasks.create_task(fault())
    finally:
        await officer.aclose()
    back = time.monotonic()
    lost = await nothing_lost(stack, uploads.accepted)
    problems = tally.unexpected(allowed=(200, 201, 503))
    if uploads.never_accepted:
        problems.append(f"{uploads.never_accepted} upload(s) never accepted after Redis came back")
    figures = {
        "accepted": len(uploads.accepted),
        "answers_during_outage": tally.statuses("upload", (window[0], window[1])),
        "answers": tally.statuses(),
        "seconds_until_all_read_after_restart": round(time.monotonic() - back, 2),
        "slowest_answer_s": tally.slowest(),
    }
    if tally.slowest() > SLOWEST_ALLOWED_S:
        problems.append(f"an answer took {tally.slowest()} s")
    return judged(
        "redis_restarted_during_uploads",
        problems,
        lost,
        figures,
        "every accepted photo was queued again and read",
    )


async def postgres_restarted_during_uploads_and_reads(stack: Stack) -> Outcome:
    """PostgreSQL crashed (immediate stop) and started again under uploads and reads."""
    worker = stack.worker_alive()
    assert stack.server is not None
    server_pid, worker_pid = stack.server.process.pid, worker.process.pid
    tally = Tally()
    officer = await stack.officer(TPS[2], tally)
    uploads = Uploads(stack, officer)
    window = [0.0, 0.0]

    async def reads() -> None:
        while not uploads.fault_over.is_set() or time.monotonic() - window[1] < 2:
            await officer.get("/api/v1/public/ppwp/regions/nasional", "public read")
            await officer.get("/api/v1/public/ppwp/regions/34", "public read")
            await officer.get(f"/api/v1/tps/{TPS[2]}/ppwp", "officer read")
            await asyncio.sleep(0.1)

    held = asyncio.Event()
    slow: list[int] = []

    async def slow_upload() -> None:
        """Logged in and half sent before the crash, the rest sent during the outage."""
        await uploads.until_accepted(2)
        data = stack.photos.photo(1)
        answer, accepted = await officer.send(data, 1, held_until=held)
        slow.append(answer.status)
        accepted = accepted or await officer.send_until_accepted(data, 1, within=60)
        if accepted is None:
            uploads.never_accepted += 1
        else:
            uploads.accepted.append(accepted)

    async def fault() -> None:
        await uploads.until_accepted(2)
        await asyncio.sleep(0.5)  # the slow upload is in, its login checked
        window[0] = time.monotonic()
        try:
            await asyncio.to_thread(stack.postgres.crash)
            held.set()
            await asyncio.sleep(OUTAGE_S)
        finally:
            held.set()
            await asyncio.to_thread(stack.postgres.start)
            window[1] = time.monotonic()
            uploads.fault_over.set()

    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(uploads.run())
            tasks.create_task(slow_upload())
            tasks.create_task(reads())
            tasks.create_task(fault())
    finally:
        await officer.aclose()
    lost = await nothing_lost(stack, uploads.accepted)
    problems = tally.unexpected(allowed=(200, 201, 304, 503))
    if uploads.never_accepted:
        problems.append(f"{uploads.never_accepted} upload(s) never accepted after PostgreSQL came back")
    if tally.slowest() > SLOWEST_ALLOWED_S:
        problems.append(f"an answer took {tally.slowest()} s")
    if stack.server.process.pid != server_pid or stack.server.process.poll() is not None:
        problems.append("the API process did not survive")
    if worker.process.pid != worker_pid or worker.process.poll() is not None:
        problems.append("the worker process did not survive")
    recovered = [a.at for _, a in tally.answers if a.at > window[1] and a.status in (200, 201)]
    during = (window[0], window[1])
    figures = {
        "accepted": len(uploads.accepted),
        "uploads_during_outage": tally.statuses("upload", during),
        "slow_upload_across_the_crash": slow,
        "public_reads_during_outage": tally.statuses("public read", during),
        "officer_reads_during_outage": tally.statuses("officer read", during),
        "seconds_to_first_success_after_restart": round(min(recovered) - window[1], 2) if recovered else None,
        "slowest_answer_s": tally.slowest(),
        "health_after": await _health(stack.url),
    }
    return judged(
        "postgres_restarted_during_uploads_and_reads",
        problems,
        lost,
        figures,
        "clients got 503 with Retry-After meanwhile; the API and worker recovered by themselves",
    )


async def _health(url: str) -> int:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return (await http.get("/health")).status_code


async def photo_store_full(stack: Stack) -> Outcome:
    """The photo store's filesystem fills up: clean refusals, no half-written record, then recovery."""
    if not stack.storage.mounted:
        return Outcome(
            name="photo_store_full",
            passed=False,
            skipped=True,
            lost=0,
            detail=f"skipped: {stack.storage.unavailable}; a full disk cannot be made without a filesystem of its own",
        )
    stack.worker_alive()
    tally = Tally()
    officer = await stack.officer(TPS[3], tally)
    problems: list[str] = []
    try:
        first_bytes = stack.photos.photo(1)
        first = await must_accept(officer, first_bytes, 1)
        refused_bytes = [stack.photos.photo(page) for page in (2, 3, 1)]
        try:
            free = stack.storage.fill(leave_bytes=64 * 1024)
            when_full = [
                await officer.send(data, page) for page, data in zip((2, 3, 1), refused_bytes, strict=True)
            ]
            retried, again = await officer.send(first_bytes, 1)
            problems += _half_written(stack.storage.path, refused_bytes)
            problems += await _rows_of(stack, refused_bytes)
        finally:
            stack.storage.release()
        for answer, taken in when_full:
            if answer.status not in (507, 503) or taken is not None:
                problems.append(f"an upload to a full store got {answer.status}, not 507/503")
        if retried.status != 200 or again is None or again.photo_id != first.photo_id:
            problems.append(f"a retry of a photo stored before the disk filled got {retried.status}, not 200")
        later = [
            await officer.send_until_accepted(data, page, within=30)
            for page, data in zip((2, 3, 1), refused_bytes, strict=True)
        ]
        if any(a is None or a.status != 201 for a in later):
            problems.append("after space was freed, the refused photos were not accepted")
    finally:
        await officer.aclose()
    accepted = [first, *[a for a in later if a is not None]]
    lost = await nothing_lost(stack, accepted)
    problems += tally.unexpected(allowed=(200, 201, 503, 507))
    figures = {
        "free_bytes_when_full": free,
        "answers_when_full": [a.status for a, _ in when_full],
        "answers": tally.statuses(),
        "accepted": len(accepted),
    }
    return judged(
        "photo_store_full",
        problems,
        lost,
        figures,
        "refused with 507 and Retry-After, nothing half-written; accepted again once space was freed",
    )


def _half_written(storage: Path, refused: list[bytes]) -> list[str]:
    """Partial files, and files of refused photos (there must be neither)."""
    store = PhotoStore(storage)
    problems = [f"a partial file was left: {name}" for name in partial_files(storage)]
    for data in refused:
        sha256 = sha256_of(data)
        if store.path(sha256).exists():
            problems.append(f"a refused photo's file {sha256[:12]} was written")
    return problems


async def _rows_of(stack: Stack, refused: list[bytes]) -> list[str]:
    conn = await asyncpg.connect(stack.postgres.url, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT id FROM photo WHERE sha256 = ANY($1::text[])", [sha256_of(d) for d in refused]
        )
    finally:
        await conn.close()
    return [f"photo {r['id']} was recorded although its upload was refused" for r in rows]
