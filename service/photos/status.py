"""The state of a TPS's pages, as the officer's phone shows it."""

from __future__ import annotations

from collections import Counter

import asyncpg
import msgspec

from ocr import TpsDecoding
from ocr.form import FIELDS, Page
from service.photos import store
from service.photos.model import FieldValue, PageStatus, Photo, TpsPhotos
from service.photos.states import PageState, PhotoState
from service.review.store import retakes


async def tps_status(conn: asyncpg.Connection, tps: str) -> TpsPhotos:
    photos = await store.photos_of(conn, tps)  # oldest first
    # A page's current photo is the newest one the reader identified as it; the others are its versions.
    current: dict[int, Photo] = {p.page: p for p in photos if p.page is not None}
    versions = Counter(p.page for p in photos if p.page is not None)
    decoding = None
    if len(current) == len(Page):
        raw = await store.decoding_of(conn, tps, [p.id for p in current.values()])
        decoding = None if raw is None else msgspec.json.decode(raw, type=TpsDecoding)
    asked = {r.page: r.reason for r in await retakes(conn, tps)}
    pages = [
        msgspec.structs.replace(
            _page(page, current.get(page.value), versions[page.value], decoding),
            retake_requested=asked.get(page.value),
        )
        for page in Page
    ]
    # A refused photo matters until a later photo is read (the officer took it again).
    newest_read = max((p.uploaded_at for p in photos if p.state is PhotoState.READ), default=None)
    waiting = [
        p
        for p in photos
        if p.state in (PhotoState.RECEIVED, PhotoState.READING)
        or (
            p.state in (PhotoState.RETAKE, PhotoState.FAILED)
            and (newest_read is None or p.uploaded_at > newest_read)
        )
    ]
    return TpsPhotos(
        tps=tps,
        ballot=store.BALLOT,
        pages=pages,
        waiting=waiting,
        violations=[] if decoding is None else decoding.violations,
    )


def _page(page: Page, photo: Photo | None, versions: int, decoding: TpsDecoding | None) -> PageStatus:
    if photo is None:
        return PageStatus(page=page.value, state=PageState.MISSING, photo=None, versions=0)
    fields: dict[str, FieldValue] = {}
    state = PageState.READ
    if decoding is not None:
        for name in FIELDS[page]:
            decoded = decoding.fields.get(name)
            if decoded is not None:
                fields[name] = FieldValue(
                    value=decoded.value,
                    read=decoded.read,
                    accepted=decoded.accepted,
                    confidence=round(decoded.confidence, 4),
                    reason=decoded.reason,
                )
        state = PageState.VERIFIED if all(f.accepted for f in fields.values()) else PageState.NEEDS_REVIEW
    return PageStatus(page=page.value, state=state, photo=photo, versions=versions, fields=fields)
