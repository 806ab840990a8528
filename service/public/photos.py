"""Which photos the public may see: those a TPS's numbers were published with.

A TPS's public photos are, while it is published, the current page of each page number as it stood
at its latest publication (``current_page``'s choice among the photos read by then). So:

- a photo the reader refused (not a page of the form) is never public;
- a page photographed again after the publication is not public until a publication follows: its
  reading may not be the published numbers, and until its decoding has been checked it is as
  unchecked as those numbers;
- older versions of a page are not public, even those of an earlier publication: the public
  document lists the current pages only, and a superseded photo was usually retaken because it
  was unreadable or wrong;
- nothing of a TPS that is not published now.

The set changes only when the TPS is published or leaves publication, both of which announce a
change, so the cached TPS document and the photo addresses it lists stay in agreement.

A public photo is shown small first (``thumbnail``: 440 pixels on its longer side, about 13 KB
for a real page against 0.3-1.2 MB for the photo), so that a TPS page stays within a phone's
budget; the photo itself is a tap away. A thumbnail is made the first time the public asks
for it, and kept beside the photo (``PhotoStore.thumbnail_path``). Only a public photo gets one
(the caller checks ``public_photo`` first), each once, at most ``MAKERS`` at a time and off the
event loop: asking for every public thumbnail at once costs each photo one decode, never a
stall.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any

import asyncpg
import cv2
import msgspec
import numpy.typing as npt

from ocr.form import BALLOT
from ocr.imagefile import Unreadable, decode_colour
from service.errors import NotFound, StorageFull
from service.photos.storage import PhotoStore

log = logging.getLogger(__name__)

THUMBNAIL_SIDE = 440
"""The thumbnail's longer side. On the real photos of ../shared/data/c1_form_images (about
1000 × 1540, 0.3-1.2 MB) the page is recognisable and its large handwritten digits legible; at
quality 60 they weigh 8.4-18 KB (median 12.5 KB), and the three pages of one TPS together at
most 46 KB, which leaves room for the page itself within its 60 KB (480 pixels: 53 KB)."""
THUMBNAIL_QUALITY = 60
MAKERS = 2
"""Thumbnails made at once by one API process (each decodes a photo, ~20 ms on one core)."""


class PagePhoto(msgspec.Struct, frozen=True):
    page: int
    sha256: str
    media_type: str


async def public_pages(conn: asyncpg.Connection, tps: str) -> list[PagePhoto]:
    """The TPS's public photos, by page; none while it is not published."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT ON (r.page) r.page, p.sha256, p.media_type
        FROM tps_result t
        CROSS JOIN LATERAL (
            SELECT max(e.at) AS at FROM tps_result_event e
            WHERE e.tps_code = t.tps_code AND e.ballot = t.ballot AND e.to_state = 'published'
        ) published
        JOIN photo p ON p.tps_code = t.tps_code AND p.ballot = t.ballot
        JOIN photo_reading r ON r.photo_id = p.id
        WHERE t.tps_code = $1 AND t.ballot = $2 AND t.state = 'published'
          AND r.outcome = 'page' AND r.read_at <= published.at
        -- current_page's order (sql/007_current_page.sql), among the photos read by the publication
        ORDER BY r.page, p.uploaded_at DESC, p.id DESC
        """,
        tps,
        BALLOT,
    )
    return [PagePhoto(r["page"], r["sha256"], r["media_type"]) for r in rows]


async def public_photo(conn: asyncpg.Connection, sha256: str) -> PagePhoto | None:
    """The photo with these bytes if it is a public photo of some TPS."""
    codes = await conn.fetch(
        "SELECT DISTINCT tps_code FROM photo WHERE sha256 = $1 AND ballot = $2", sha256, BALLOT
    )
    for row in codes:
        for photo in await public_pages(conn, row["tps_code"]):
            if photo.sha256 == sha256:
                return photo
    return None


def thumbnail_url(sha256: str) -> str:
    return f"/api/v1/public/photos/{sha256}/kecil"


def small_copy(data: bytes) -> bytes:
    """The photo (or its working copy) upright by its EXIF orientation and shrunk to at most
    ``THUMBNAIL_SIDE`` pixels on its longer side, as a JPEG; ``Unreadable`` when it cannot be
    decoded."""
    image = decode_colour(data)
    h, w = image.shape[:2]
    scale = THUMBNAIL_SIDE / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return _jpeg(image)


def _jpeg(image: npt.NDArray[Any]) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {image.shape} image as JPEG")
    return bytes(encoded.tobytes())


_makers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()
"""``MAKERS`` per event loop (a semaphore belongs to the loop it first waits in)."""
_making: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
"""A lock per photo whose thumbnail is being made, so that one photo is decoded once."""


async def thumbnail(photos: PhotoStore, sha256: str) -> bytes | None:
    """The thumbnail of the public photo ``sha256``, made and stored now if there is none; ``None``
    when the photo cannot be decoded (then there is nothing smaller to show than the photo)."""
    try:
        return await asyncio.to_thread(photos.get_thumbnail, sha256)
    except NotFound:
        pass
    makers = _makers.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(MAKERS))
    async with makers:  # waiting here holds no thread
        return await asyncio.to_thread(_made, photos, sha256)


def _made(photos: PhotoStore, sha256: str) -> bytes | None:
    with _making.setdefault(sha256, threading.Lock()):
        try:
            return photos.get_thumbnail(sha256)  # made while this thread waited
        except NotFound:
            pass
        try:
            source = photos.get_working(sha256)  # upright and at most 2400 pixels: quicker
        except NotFound:
            source = photos.get(sha256)
        try:
            small = small_copy(source)
        except Unreadable as refused:
            log.warning("photo %s: no thumbnail, it cannot be decoded: %s", sha256, refused.detail)
            return None
        try:
            photos.put_thumbnail(sha256, small)
        except StorageFull as full:  # still shown; the next request tries to keep it again
            log.warning("photo %s: %s", sha256, full.detail or full.message)
        return small
