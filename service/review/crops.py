"""Each field's boxes cut from the current photo of its page, so that an officer can compare the
reading with the handwriting without searching the whole photo."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec

import ocr
from ocr.form import PAGE_OF
from ocr.reading import Alternative, Quad
from service.errors import NotFound
from service.photos.storage import PhotoStore
from service.results import workflow
from service.results.store import BALLOT
from service.users.model import User


class Located(msgspec.Struct, frozen=True):
    """Where a field's boxes are (the photo and the quadrilateral in it) and what they read."""

    sha256: str
    quad: Quad
    alternatives: list[Alternative]


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
        "SELECT page, sha256, reading::text AS reading FROM current_page "
        "WHERE tps_code = $1 AND ballot = $2 AND ($3::int IS NULL OR page = $3) ORDER BY page",
        tps,
        BALLOT,
        page,
    )
    return CurrentPages(
        photos={r["page"]: r["sha256"] for r in rows},
        located={
            box.name: Located(sha256=r["sha256"], quad=box.quad, alternatives=box.alternatives)
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
        raise NotFound(f"the form C.Hasil-PPWP has no field {field!r}; its fields are {', '.join(PAGE_OF)}")
    where = (await current(conn, tps, PAGE_OF[field])).located.get(field)
    if where is None:
        raise NotFound(
            f"TPS {tps} has no photo of page {PAGE_OF[field]} read by rekap, so there is no picture "
            f"of {field}: its numbers were recorded without one, or the photo is still being read"
        )
    data = await asyncio.to_thread(photos.get, where.sha256)
    return await asyncio.to_thread(ocr.crop_field, data, where.quad)
