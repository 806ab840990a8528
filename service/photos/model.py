"""What the photo API returns: msgspec structs, the same for the phone and the tests."""

from __future__ import annotations

from datetime import datetime

import msgspec

from service.photos.states import PageState, PhotoState


class Photo(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    tps: str
    ballot: str
    sha256: str
    url: str
    """Stable address of the photo's bytes (public once the TPS's results are published)."""
    media_type: str
    size_bytes: int
    width: int
    height: int
    page_hint: int | None
    page: int | None
    """The page the reader found (``None`` until read, or when it was refused)."""
    state: PhotoState
    retake_reason: str | None = None
    retake_message: str | None = None
    """In Indonesian, for the officer holding the phone."""
    uploaded_at: datetime


class FieldValue(msgspec.Struct, frozen=True, kw_only=True):
    value: int | None
    read: int | None
    accepted: bool
    confidence: float
    reason: str = ""


class PageStatus(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    state: PageState
    photo: Photo | None
    """The current photo of this page: the newest one the reader identified as it."""
    versions: int
    """How many photos of this page have been read (older ones are kept, never overwritten)."""
    fields: dict[str, FieldValue] = {}
    retake_requested: str | None = None
    """A recap officer's request for a new photo of this page, with their reason (until one comes)."""


class TpsPhotos(msgspec.Struct, frozen=True, kw_only=True):
    tps: str
    ballot: str
    state: str | None = None
    """The TPS's numbers' state (``TpsState``): ``None`` until a photo arrives."""
    new_reading: bool = False
    """A new photo read other numbers than those published or signed off: an officer decides."""
    flagged: list[str] = []
    """Fields the KPPS reported as read wrong, still open (officers see them)."""
    pages: list[PageStatus]
    waiting: list[Photo]
    """Photos not (yet) placed on a page: being read, or refused with a reason to retake."""
    violations: list[str] = []
    """Rules of the form the current pages break (when all three are read)."""
