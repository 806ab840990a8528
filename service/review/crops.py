"""Each field's boxes cut from the current photo of its page, so that an officer can compare the
reading with the handwriting without searching the whole photo.

Crops are cut from the photo's working copy (``ocr.working_copy``, stored beside the photo), not
from the photo: a photo made to decode slowly cost 7.6 s for every officer's every crop. The
worker makes the copy when it reads the photo; the first crop of a photo read without one (read
before copies were made, or a simulated page) makes it, once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref

import asyncpg
import msgspec

import ocr
from ocr.form import BALLOT, PAGE_OF
from ocr.reading import Alternative, Quad
from service.errors import NotFound, StorageFull
from service.photos.storage import PhotoStore
from service.results import workflow
from service.users.model import User
from service.web.labels import label

log = logging.getLogger(__name__)


class Located(msgspec.Struct, frozen=True):
    """Where a field's boxes are (the photo and the quadrilateral in it) and what they read."""

    sha256: str
    quad: Quad
    alternatives: list[Alternative]
    photo_size: tuple[int, int]
    """(width, height) of the photo as stored, to scale ``quad`` to its working copy."""


class _Boxes(msgspec.Struct, frozen=True):
    name: str
    quad: Quad
    alternatives: list[Alternative] = []


class _Reading(msgspec.Struct, frozen=True):
    """The part of a stored ``ocr.PageReading`` that says where its fields are."""

    fields: list[_Boxes] = []


def url(tps: str, field: str, photo: str) -> str:
    """Names the photo too, so that a browser's cached crop is not shown after a retake."""
    return f"/api/v1/review/{tps}/crops/{field}?photo={photo[:16]}"


class CurrentPages(msgspec.Struct, frozen=True):
    photos: dict[int, str]
    """Page → SHA-256 of its current photo."""
    located: dict[str, Located]
    """The fields of those pages whose boxes the reader found, by name."""


async def current(conn: asyncpg.Connection, tps: str, page: int | None = None) -> CurrentPages:
    """The TPS's current pages (or only ``page``) and where each field's boxes are on them."""
    rows = await conn.fetch(
        "SELECT c.page, c.sha256, c.reading::text AS reading, p.width, p.height "
        "FROM current_page c JOIN photo p ON p.id = c.photo_id "
        "WHERE c.tps_code = $1 AND c.ballot = $2 AND ($3::int IS NULL OR c.page = $3) ORDER BY c.page",
        tps,
        BALLOT,
        page,
    )
    return CurrentPages(
        photos={r["page"]: r["sha256"] for r in rows},
        located={
            box.name: Located(
                sha256=r["sha256"],
                quad=box.quad,
                alternatives=box.alternatives,
                photo_size=(r["width"], r["height"]),
            )
            for r in rows
            for box in msgspec.json.decode(r["reading"], type=_Reading).fields
        },
    )


async def field_crop(
    conn: asyncpg.Connection, photos: PhotoStore, officer: User, tps: str, field: str
) -> bytes:
    """A JPEG of the field's three boxes on the current photo of its page, for an officer of the area."""
    workflow.require_officer(officer, tps)
    if field not in PAGE_OF:
        raise NotFound(
            f"Formulir C.Hasil-PPWP tidak punya isian {label(field)}.",
            detail=f"the form C.Hasil-PPWP has no field {field!r}; its fields are {', '.join(PAGE_OF)}",
        )
    page = PAGE_OF[field]
    where = (await current(conn, tps, page)).located.get(field)
    if where is None:
        raise NotFound(
            f"TPS {tps} belum punya foto halaman {page} yang sudah dibaca rekap, jadi belum ada gambar "
            f"isian '{label(field)}': angkanya dicatat tanpa foto, atau fotonya masih dibaca.",
            detail=f"TPS {tps} has no photo of page {page} read by rekap, so there is no picture "
            f"of {field}: its numbers were recorded without one, or the photo is still being read",
        )
    copy = await asyncio.to_thread(working_copy, photos, where.sha256)
    return await asyncio.to_thread(ocr.crop_field, copy, where.quad, photo_size=where.photo_size)


_making: weakref.WeakValueDictionary[str, threading.Lock] = weakref.WeakValueDictionary()
"""A lock per photo whose working copy is being made, so that the crops of one review screen,
asked for at once, decode the photo once."""


def working_copy(photos: PhotoStore, sha256: str) -> bytes:
    """The photo's working copy, made and stored now if there is none (in a thread: it blocks)."""
    try:
        return photos.get_working(sha256)
    except NotFound:
        pass
    with _making.setdefault(sha256, threading.Lock()):
        try:
            return photos.get_working(sha256)  # made while this thread waited
        except NotFound:
            pass
        copy = ocr.working_copy(photos.get(sha256))
        try:
            photos.put_working(sha256, copy)
        except StorageFull as full:  # the crop is still cut; the next one tries to keep it again
            log.warning("photo %s: %s", sha256, full.detail or full.message)
        return copy
