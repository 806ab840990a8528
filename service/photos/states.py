"""A photo's states and the one table of moves between them (mirrored by photo.state's CHECK).

received ─► reading ─► read       (the reader found a page)
                   ├─► retake     (the reader gave a reason to photograph it again)
                   └─► failed     (the reader crashed on it again and again: set aside)
reading ─► received               (its worker died; the queue hands it to another)
"""

from __future__ import annotations

from enum import StrEnum

from service.errors import IllegalTransition


class PhotoState(StrEnum):
    RECEIVED = "received"
    READING = "reading"
    READ = "read"
    RETAKE = "retake"
    FAILED = "failed"


TRANSITIONS: dict[PhotoState, frozenset[PhotoState]] = {
    PhotoState.RECEIVED: frozenset({PhotoState.READING}),
    PhotoState.READING: frozenset(
        {PhotoState.READING, PhotoState.READ, PhotoState.RETAKE, PhotoState.FAILED, PhotoState.RECEIVED}
    ),
    PhotoState.READ: frozenset(),
    PhotoState.RETAKE: frozenset(),
    PhotoState.FAILED: frozenset(),
}
"""READING → READING: a job handed to a second worker after the first went silent."""


def allowed(old: PhotoState, new: PhotoState) -> bool:
    return new in TRANSITIONS[old]


def require(old: PhotoState, new: PhotoState) -> None:
    if not allowed(old, new):
        raise IllegalTransition(
            f"Foto tidak dapat berpindah dari keadaan {old} ke {new}",
            detail=f"a photo cannot go from {old} to {new}",
        )


def sources(new: PhotoState) -> list[str]:
    """The states a photo may be in to move to ``new`` (for an UPDATE's WHERE clause)."""
    return [old.value for old, targets in TRANSITIONS.items() if new in targets]


class PageState(StrEnum):
    """What the officer's phone shows for one page of the form: its photo's state until all three
    pages are read, then the TPS's (``TpsState``), and ``new_photo`` for a page photographed again
    after the TPS's numbers were published or signed off (it waits for an officer)."""

    MISSING = "missing"
    RECEIVED = "received"
    READING = "reading"
    READ = "read"
    RETAKE = "retake"
    NEEDS_REVIEW = "needs_review"
    VERIFIED = "verified"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    NEW_PHOTO = "new_photo"
