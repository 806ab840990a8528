"""The state of a TPS's pages, as the officer's phone shows it."""

from __future__ import annotations

from collections import Counter

import asyncpg
import msgspec

from ocr import TpsDecoding
from ocr.form import BALLOT, FIELDS, Page
from service.photos import store
from service.photos.model import FieldValue, PageStatus, Photo, TpsPhotos
from service.photos.states import PageState, PhotoState
from service.results import store as results
from service.results.new_reading import waiting as new_reading
from service.results.states import TpsState
from service.review.flags import open_flags
from service.review.store import retakes

DECIDED = {
    TpsState.READ: PageState.READ,
    TpsState.VERIFIED: PageState.VERIFIED,
    TpsState.NEEDS_REVIEW: PageState.NEEDS_REVIEW,
    TpsState.REVIEWED: PageState.REVIEWED,
    TpsState.PUBLISHED: PageState.PUBLISHED,
}
"""A read page's state once its TPS is decoded: the TPS's, for every card alike."""


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
    result = await results.load(conn, tps)
    fresh = None if result is None else await new_reading(conn, tps, result.numbers)
    pages = []
    for page in Page:
        status = _page(page, current.get(page.value), versions[page.value], decoding)
        if decoding is not None and result is not None and result.state in DECIDED:
            state = DECIDED[result.state]
            photo = current[page.value]
            if fresh is not None and photo.uploaded_at > result.updated_at:
                state = PageState.NEW_PHOTO
            status = msgspec.structs.replace(status, state=state)
        pages.append(msgspec.structs.replace(status, retake_requested=asked.get(page.value)))
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
        ballot=BALLOT,
        pages=pages,
        waiting=waiting,
        violations=[] if decoding is None else decoding.violations,
        state=None if result is None else result.state.value,
        new_reading=fresh is not None,
        flagged=[f.field for f in await open_flags(conn, tps)],
    )


def _page(page: Page, photo: Photo | None, versions: int, decoding: TpsDecoding | None) -> PageStatus:
    if photo is None:
        return PageStatus(page=page.value, state=PageState.MISSING, photo=None, versions=0)
    fields: dict[str, FieldValue] = {}
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
    return PageStatus(page=page.value, state=PageState.READ, photo=photo, versions=versions, fields=fields)
