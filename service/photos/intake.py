"""Taking a photo from an officer's phone: check it, make it durable, record it, queue it.

Order matters for "never lose an accepted photo": the bytes are fsynced, then the row is
committed, then the 201 is sent; putting it on the queue comes last and may fail (Redis down)
without losing anything, because the worker's sweep re-queues every photo with no reading.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from redis.exceptions import RedisError

import ocr
from ocr.imagefile import MAX_PIXELS, MIN_SIDE, sniff
from service.errors import Forbidden, NotFound, PhotoRejected
from service.photos import store
from service.photos.model import Photo, TpsPhotos
from service.photos.queue import OcrQueue
from service.photos.states import PhotoState
from service.photos.status import tps_status
from service.photos.storage import PhotoStore
from service.results import workflow
from service.users.model import Role, User

log = logging.getLogger(__name__)


def may_upload(user: User, tps: str) -> None:
    if user.role is Role.KPPS and user.tps_code == tps:
        return
    if user.role is Role.ADMIN:
        return
    if user.role is Role.KPPS:
        raise Forbidden(
            f"Akun ini untuk TPS {user.tps_code}, jadi tidak dapat mengirim foto TPS {tps}. "
            "Periksa kode TPS, atau masuk dengan akun KPPS TPS itu.",
            detail=f"this login is for TPS {user.tps_code}; it cannot send photos for TPS {tps}",
        )
    raise Forbidden(
        "Foto formulir TPS hanya dikirim oleh KPPS TPS itu, dengan akun KPPS-nya.",
        detail="only the KPPS of a TPS sends its photos",
    )


def may_see(user: User, tps: str) -> None:
    if not user.covers(tps):
        raise Forbidden(
            f"TPS {tps} berada di luar wilayah akun ini.",
            detail=f"TPS {tps} is outside the area of this login",
        )


async def _tps_exists(conn: asyncpg.Connection, tps: str) -> None:
    if not await conn.fetchval("SELECT 1 FROM tps WHERE code = $1", tps):
        raise NotFound(
            f"TPS {tps} tidak ada dalam daftar TPS. Periksa kode TPS (13 angka) di formulir.",
            detail=f"TPS {tps} is not in the registry",
        )


def _angka(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def refusal(error: ocr.Unreadable, data: bytes) -> PhotoRejected:
    """What the KPPS is told of a photo the upload refuses: what to do (``Retake.pesan``) and, for
    a size, the figures behind it; ``ocr``'s English detail is kept for the operators."""
    reason = error.reason
    message = reason.pesan
    if reason is ocr.Retake.NOT_AN_IMAGE:
        message += (
            " Foto HEIC (iPhone) tidak diterima: atur Pengaturan > Kamera > Format ke 'Paling Kompatibel'."
        )
    elif reason in (ocr.Retake.TOO_SMALL, ocr.Retake.TOO_LARGE):
        layout = sniff(data)  # the refusal came after the size was read
        size = f"{layout.width}×{layout.height} piksel"
        if reason is ocr.Retake.TOO_SMALL:
            message += f" (Foto ini {size}; sisi terpendek harus paling sedikit {MIN_SIDE} piksel.)"
        elif layout.width * layout.height > MAX_PIXELS:
            message += f" (Foto ini {size}; paling besar {_angka(MAX_PIXELS)} piksel.)"
        else:
            message += (
                f" (Foto ini {size} dalam {layout.scans} lapisan; foto kamera ponsel jauh lebih sedikit.)"
            )
    return PhotoRejected(reason.value, message, detail=error.detail)


async def accept(
    conn: asyncpg.Connection,
    photos: PhotoStore,
    queue: OcrQueue,
    *,
    user: User,
    tps: str,
    data: bytes,
    page_hint: int | None,
) -> tuple[Photo, bool]:
    """The stored photo and whether it is new (False: the same bytes were sent before)."""
    may_upload(user, tps)
    await _tps_exists(conn, tps)
    try:
        info = ocr.inspect(data)
    except ocr.Unreadable as error:
        raise refusal(error, data) from error
    sha256 = await asyncio.to_thread(photos.put, data)  # fsync off the event loop
    async with conn.transaction():
        photo, created = await store.insert_photo(
            conn,
            tps=tps,
            sha256=sha256,
            info=info,
            size_bytes=len(data),
            page_hint=page_hint,
            user_id=user.id,
        )
        await workflow.mark_received(conn, tps)
    if photo.state is PhotoState.RECEIVED:
        # Also for a retry: the first attempt may have been committed but not queued.
        try:
            await queue.enqueue(photo.id)
        except (RedisError, OSError) as error:
            log.warning("photo %s stored but not queued (%r); the sweep will queue it", photo.id, error)
    return photo, created


async def status(conn: asyncpg.Connection, *, user: User, tps: str) -> TpsPhotos:
    may_see(user, tps)
    await _tps_exists(conn, tps)
    return await tps_status(conn, tps)


async def photo_bytes(
    conn: asyncpg.Connection, photos: PhotoStore, *, user: User, sha256: str
) -> tuple[bytes, str]:
    """A photo's bytes and media type, for a user allowed to see one of the TPS it was sent for."""
    uploads = await store.tps_with_photo(conn, sha256)
    if not uploads:
        raise NotFound("Tidak ada foto dengan alamat ini.", detail="no photo has this address")
    allowed = [media for tps, media in uploads if user.covers(tps)]
    if not allowed:
        raise Forbidden(
            "Foto ini milik TPS di luar wilayah akun ini.",
            detail="this photo belongs to a TPS outside the area of this login",
        )
    return await asyncio.to_thread(photos.get, sha256), allowed[0]
