"""Photos made to cost the reader time, and the limits that bound that cost (issue 17, point 2).

A progressive JPEG makes the decoder pass over all its pixels once per scan: a 6000×6600 file
whose one scan is repeated 3,000 times is half a megabyte and kept a reader busy for 77 s.
``ocr.inspect`` (at upload) and the decoder's own check refuse it from the file's structure; the
worker stops a reading at its time limit whatever the cause; and the review's crops are cut
from a small working copy made once, not from the photo for every officer's every crop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import cv2
import httpx
import msgspec
import numpy as np
import pytest

import ocr
from ocr.crop import WORKING_SIDE
from ocr.form import PAGE_OF
from ocr.imagefile import MAX_DECODE, MAX_SCANS, MAX_SEGMENTS, decode_gray, sniff
from service.db.redis import redis_client
from service.photos import store
from service.photos.queue import OcrQueue
from service.photos.states import PhotoState
from service.photos.storage import PhotoStore
from service.photos.worker import ReadResult, Worker, read_job
from service.review.crops import field_crop
from service.users.model import Role, User
from service.users.store import upsert_user
from tests.conftest import BASE, SHARED_DATA, Synthetic
from tests.ocr.test_crop import FRAMED, frame_contrast
from tests.security.conftest import REVIEWED

TPS = "3404072001001"
LIMIT_S = 4.0
"""The worker's time limit in these tests: well above a process's start (not counted) and the
scripted jobs' own quick work, well below their slow sleep."""


def progressive(width: int, height: int, *, scans_added: int = 0) -> bytes:
    """A flat grey colour JPEG, progressive (libjpeg's script: 10 scans), with its last scan (a
    refinement of every pixel's brightness, 61 bytes here) repeated ``scans_added`` more times."""
    ok, encoded = cv2.imencode(
        ".jpg", np.full((height, width, 3), 200, np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    )
    assert ok
    data = encoded.tobytes()
    last = data.rindex(b"\xff\xda")  # a start of scan: inside a scan's data 0xFF is stuffed
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + data[last:-2] * scans_added + data[-2:]


@pytest.fixture(scope="module")
def scan_bomb() -> bytes:
    """The file of the finding: 6000×6600 pixels, one scan repeated 3,000 times."""
    bomb = progressive(6000, 6600, scans_added=3000)
    assert 300_000 < len(bomb) < 600_000
    return bomb


def test_the_scan_bomb_is_refused_from_its_structure(scan_bomb: bytes) -> None:
    """At upload and before any decode: the walk stops at the first scan past the limit (measured
    at 0.1–0.3 ms, against 77 s for the decode it prevents)."""
    with pytest.raises(ocr.Unreadable) as refused:
        ocr.inspect(scan_bomb)
    assert refused.value.reason is ocr.Retake.DAMAGED
    assert f"more than {MAX_SCANS} scans" in refused.value.detail
    with pytest.raises(ocr.Unreadable) as undecoded:
        decode_gray(scan_bomb)
    assert undecoded.value.reason is ocr.Retake.DAMAGED
    outcome = ocr.read_page(scan_bomb)
    assert isinstance(outcome, ocr.Rejected) and outcome.reason is ocr.Retake.DAMAGED
    with pytest.raises(ocr.Unreadable):
        ocr.working_copy(scan_bomb)


def test_the_decode_budget_weighs_scans_by_pixels() -> None:
    """A camera's progressive photo passes at the largest size accepted; more passes over as
    many pixels do not, while a smaller photo may have many more scans."""
    camera = progressive(6000, 6600)
    assert sniff(camera).scans == 10
    assert (ocr.inspect(camera).width, ocr.inspect(camera).height) == (6000, 6600)
    with pytest.raises(ocr.Unreadable) as refused:
        ocr.inspect(progressive(6000, 6600, scans_added=10))
    assert refused.value.reason is ocr.Retake.TOO_LARGE and "20 scans" in refused.value.detail
    small = progressive(2000, 3000, scans_added=MAX_SCANS - 10)
    assert sniff(small).scans == MAX_SCANS
    assert decode_gray(small).shape == (3000, 2000)
    with pytest.raises(ocr.Unreadable) as many:
        ocr.inspect(progressive(2000, 3000, scans_added=MAX_SCANS - 9))
    assert many.value.reason is ocr.Retake.DAMAGED


def with_comments(jpeg: bytes, count: int) -> bytes:
    comment = b"\xff\xfe" + struct.pack(">H", 7) + b"rekap"
    return jpeg[:2] + comment * count + jpeg[2:]


def noisy_jpeg(restart_interval: int = 0) -> bytes:
    """Noise: its entropy-coded data is full of stuffed 0xFF bytes."""
    noise = np.random.default_rng(7).integers(0, 256, (900, 700), dtype=np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_RST_INTERVAL, restart_interval]
    ok, encoded = cv2.imencode(".jpg", noise, params)
    assert ok
    return encoded.tobytes()


def test_more_segments_than_a_camera_writes_are_refused() -> None:
    photo = noisy_jpeg()
    assert ocr.inspect(with_comments(photo, MAX_SEGMENTS // 2)).width == 700
    with pytest.raises(ocr.Unreadable) as refused:
        ocr.inspect(with_comments(photo, MAX_SEGMENTS))
    assert refused.value.reason is ocr.Retake.DAMAGED and "segments" in refused.value.detail


def test_the_walk_skips_stuffed_bytes_restart_markers_and_fill_bytes() -> None:
    """Scans full of 0xFF 0x00 and restart markers, fill bytes before a marker and a trailer
    after the end (as some phones write) are a whole file; cut inside the scan, it is not."""
    photo = noisy_jpeg(restart_interval=4)
    assert photo.count(b"\xff\x00") > 1000 and photo.count(b"\xff\xd3") > 10
    end = photo.rindex(b"\xff\xd9")
    filled = photo[:end] + b"\xff" * 5000 + photo[end:] + b"SEFT trailer \xff\xd8\xff"
    for whole in (photo, filled):
        layout = sniff(whole)
        assert (layout.width, layout.height, layout.scans, layout.complete) == (700, 900, 1, True)
        assert ocr.inspect(whole).media_type == "image/jpeg"
    with pytest.raises(ocr.Unreadable) as cut:
        ocr.inspect(photo[: len(photo) * 2 // 3])
    assert cut.value.reason is ocr.Retake.DAMAGED and "cut short" in cut.value.detail


def starts_as_jpeg(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(2) == b"\xff\xd8"


def test_no_real_photo_comes_near_the_limits() -> None:
    """Every JPEG of the forms' photos in ../shared/data (some named .png) is whole, far within
    the decode budget and has a few scans at most."""
    paths = [p for p in sorted(SHARED_DATA.glob("*/**/*")) if p.is_file() and starts_as_jpeg(p)]
    if not paths:
        pytest.skip("needs the photos of ../shared/data, which are not present in this checkout")
    assert len(paths) > 600
    for path in paths:
        layout = sniff(path.read_bytes())
        assert layout.complete and layout.width * layout.height * layout.scans * 100 < MAX_DECODE, path
        assert layout.scans * 8 <= MAX_SCANS, path


def test_the_upload_refuses_the_scan_bomb_in_indonesian(
    api: httpx.Client, login: Callable[[str], dict[str, str]], storage: Path, scan_bomb: bytes
) -> None:
    response = api.post(
        f"/api/v1/tps/{REVIEWED}/ppwp/photos",
        content=scan_bomb,
        headers={**login(f"kpps.{REVIEWED}"), "Content-Type": "image/jpeg"},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["reason"] == "damaged"
    assert body["message"] == ocr.Retake.DAMAGED.pesan and "scans" in body["detail"]
    assert not list(storage.rglob(hashlib.sha256(scan_bomb).hexdigest()))


# The worker's time limit. Its reading job is scripted by the photo's bytes, and runs in the
# worker's real process pool (so it is a module-level function, imported there).


def scripted_read(data: bytes) -> ReadResult:
    """``slow <dir>``: notes its process and start, then sleeps far past any limit. ``busy <dir>
    <until>``: notes each attempt; the first lasts until the time ``until``, later ones are quick.
    ``nap <s>``: sleeps that long. Then, and for anything else, the real ``read_job`` (which
    refuses these bytes at once as not an image)."""
    command, *args = data.decode().split()
    if command == "slow":
        Path(args[0], "slow").write_text(f"{os.getpid()} {time.time()}")
        time.sleep(600)
    elif command == "busy":
        attempts = Path(args[0], "busy")
        first = not attempts.exists()
        with attempts.open("a") as notes:
            notes.write(f"{os.getpid()}\n")
        if first:
            time.sleep(max(0.0, float(args[1]) - time.time()))
    elif command == "nap":
        time.sleep(float(args[0]))
    return read_job(data)


@pytest.fixture
async def uploader(regions: asyncpg.Connection) -> User:
    return await upsert_user(
        regions, username="admin.budget", display_name="Admin", role=Role.ADMIN, secret="budget-pass-1"
    )


async def photo(
    conn: asyncpg.Connection,
    photos: PhotoStore,
    uploader: User,
    data: bytes,
    info: ocr.ImageInfo | None = None,
) -> int:
    """A received photo, stored, with its row (``info`` as the upload found it)."""
    row, _ = await store.insert_photo(
        conn,
        tps=TPS,
        sha256=photos.put(data),
        info=info or ocr.ImageInfo("image/jpeg", 3000, 4000),
        size_bytes=len(data),
        page_hint=None,
        user_id=uploader.id,
    )
    return row.id


class Running:
    """A worker running in this event loop, and its queue."""

    def __init__(self, task: asyncio.Task[None], queue: OcrQueue, conn: asyncpg.Connection) -> None:
        self.task, self.queue, self.conn = task, queue, conn

    async def reading(self, photo_id: int, timeout: float = 60) -> asyncpg.Record:
        """The stored reading of the photo, once the worker has saved it."""
        deadline = time.monotonic() + timeout
        while (
            row := await self.conn.fetchrow(
                "SELECT outcome, retake_reason, reading->>'detail' AS detail FROM photo_reading "
                "WHERE photo_id = $1",
                photo_id,
            )
        ) is None:
            if self.task.done():
                self.task.result()
                pytest.fail("the worker stopped")
            assert time.monotonic() < deadline, f"photo {photo_id} was not read within {timeout} s"
            await asyncio.sleep(0.1)
        return row


@asynccontextmanager
async def running(
    conn: asyncpg.Connection, fresh_db: str, storage: Path, **options: Any
) -> AsyncIterator[Running]:
    settings = msgspec.structs.replace(
        BASE,
        database_url=fresh_db,
        storage_dir=str(storage),
        redis_prefix=f"test-budget-{uuid.uuid4().hex[:8]}",
    )
    redis = redis_client(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(settings, **options).run(stop))
    try:
        yield Running(task, OcrQueue(redis, settings.redis_prefix), conn)
    finally:
        stop.set()
        await task
        keys = [key async for key in redis.scan_iter(f"{settings.redis_prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_reading_past_the_time_limit_is_stopped_and_refused(
    regions: asyncpg.Connection, fresh_db: str, uploader: User, tmp_path: Path
) -> None:
    """The stuck process is killed, not waited for; the photo is sent back to be taken again;
    the photo another process of the pool was reading is read again, and later photos too."""
    photos, notes = PhotoStore(tmp_path / "photos"), tmp_path / "notes"
    notes.mkdir()
    async with running(
        regions, fresh_db, photos.root, processes=2, read_limit_s=LIMIT_S, read=scripted_read
    ) as worker:
        # Both processes started, and have imported this module, before the clock matters.
        warm = [await photo(regions, photos, uploader, f"nap 1.0 {n}".encode()) for n in (1, 2)]
        for photo_id in warm:
            await worker.queue.enqueue(photo_id)
        for photo_id in warm:
            assert (await worker.reading(photo_id))["retake_reason"] == "not_an_image"

        slow = await photo(regions, photos, uploader, f"slow {notes}".encode())
        await worker.queue.enqueue(slow)
        await until((notes / "slow").exists, "the slow reading to start")
        pid, started = (float(n) for n in (notes / "slow").read_text().split())
        # Started after the slow one, this reading is under way when the limit stops the pool,
        # and would end within its own limit.
        await asyncio.sleep(1.5)
        busy = await photo(regions, photos, uploader, f"busy {notes} {started + LIMIT_S + 1.0}".encode())
        await worker.queue.enqueue(busy)

        stopped = await worker.reading(slow)
        assert (stopped["outcome"], stopped["retake_reason"]) == ("rejected", "unclear")
        assert stopped["detail"] == f"the reading took longer than {LIMIT_S:g} s"
        await until(lambda: not alive(int(pid)), "the stuck process to end", timeout=10)
        assert (await worker.reading(busy))["retake_reason"] == "not_an_image"
        attempts = (notes / "busy").read_text().split()
        assert len(attempts) == 2 and attempts[0] != attempts[1], "read again, in another process"

        later = await photo(regions, photos, uploader, b"after the stuck one")
        await worker.queue.enqueue(later)
        assert (await worker.reading(later))["retake_reason"] == "not_an_image"
    (sent_back,) = [p for p in await store.photos_of(regions, TPS) if p.id == slow]
    assert sent_back.state is PhotoState.RETAKE
    assert sent_back.retake_message == ocr.Retake.UNCLEAR.pesan


# Crops from the working copy.


def first_field(page: int) -> str:
    return next(name for name, on in PAGE_OF.items() if on == page)


async def test_the_worker_keeps_a_working_copy_and_crops_come_from_it(
    regions: asyncpg.Connection, fresh_db: str, uploader: User, tmp_path: Path, synthetic: Synthetic
) -> None:
    photos = PhotoStore(tmp_path / "photos")
    data = synthetic.page(sorted(synthetic.values)[0], 3).read_bytes()
    photo_id = await photo(regions, photos, uploader, data, ocr.inspect(data))
    async with running(regions, fresh_db, photos.root, processes=1) as worker:
        await worker.queue.enqueue(photo_id)
        assert (await worker.reading(photo_id))["outcome"] == "page"
    sha256 = hashlib.sha256(data).hexdigest()
    copy = cv2.imdecode(np.frombuffer(photos.get_working(sha256), np.uint8), cv2.IMREAD_COLOR)
    assert copy.shape[:2] == decode_gray(data).shape, "upright, as read; small enough already"
    photos.path(sha256).write_bytes(b"no longer the photo")  # a crop that decoded it would fail
    crop = await field_crop(regions, photos, uploader, TPS, first_field(3))
    assert frame_contrast(crop) > FRAMED


async def test_a_photo_read_without_a_working_copy_gets_one_at_its_first_crop(
    regions: asyncpg.Connection, uploader: User, tmp_path: Path, synthetic: Synthetic
) -> None:
    """As a photo read before there were working copies: the first crop makes it, shrunk from a
    photo larger than ``WORKING_SIDE``, and every crop after it comes from the copy alone."""
    page = cv2.imread(str(synthetic.page(sorted(synthetic.values)[1], 2)))
    ok, encoded = cv2.imencode(".jpg", cv2.resize(page, None, fx=1.5, fy=1.5), [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    data = encoded.tobytes()
    info = ocr.inspect(data)
    assert max(info.width, info.height) > WORKING_SIDE
    reading = ocr.read_page(data)
    assert isinstance(reading, ocr.PageReading)
    photos = PhotoStore(tmp_path / "photos")
    photo_id = await photo(regions, photos, uploader, data, info)
    await store.move(regions, photo_id, PhotoState.READING)
    await store.save_reading(
        regions,
        photo_id,
        outcome="page",
        page=reading.page.value,
        retake_reason=None,
        reading=msgspec.json.encode(reading),
        reader_version=reading.reader_version,
        ms=1.0,
    )
    sha256 = hashlib.sha256(data).hexdigest()
    assert not photos.working_path(sha256).exists()
    field = first_field(2)
    crop = await field_crop(regions, photos, uploader, TPS, field)
    assert frame_contrast(crop) > FRAMED, "the reading's quadrilateral, scaled to the copy"
    copy = cv2.imdecode(np.frombuffer(photos.get_working(sha256), np.uint8), cv2.IMREAD_COLOR)
    assert max(copy.shape[:2]) == WORKING_SIDE
    photos.path(sha256).write_bytes(b"no longer the photo")
    assert await field_crop(regions, photos, uploader, TPS, field) == crop
