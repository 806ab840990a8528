"""A TPS's states for one ballot and the one table of moves between them (mirrored by
tps_result.state's CHECK).

received ─► read ─► verified ─────────────► published
                 └► needs_review ─► reviewed ─┘
A new reading of the TPS (a new photo) takes it back to ``read`` only while nobody relies on its
numbers yet: ``published`` and ``reviewed`` (signed off, or a correction waiting for a second
officer) leave only through an officer, back to ``needs_review`` (a correction, a new reading an
officer took: ``new_reading``) or on to ``published``. There is no way to ``published`` but
through ``verified`` (every blocking rule passed) or ``reviewed`` (an officer signed off).
"""

from __future__ import annotations

from enum import StrEnum

from service.errors import IllegalTransition


class TpsState(StrEnum):
    RECEIVED = "received"
    READ = "read"
    VERIFIED = "verified"
    NEEDS_REVIEW = "needs_review"
    REVIEWED = "reviewed"
    PUBLISHED = "published"


S = TpsState
TRANSITIONS: dict[TpsState, frozenset[TpsState]] = {
    S.RECEIVED: frozenset({S.READ}),
    S.READ: frozenset({S.VERIFIED, S.NEEDS_REVIEW}),
    S.VERIFIED: frozenset({S.PUBLISHED, S.READ}),
    S.NEEDS_REVIEW: frozenset({S.REVIEWED, S.READ}),
    S.REVIEWED: frozenset({S.PUBLISHED, S.NEEDS_REVIEW}),
    S.PUBLISHED: frozenset({S.NEEDS_REVIEW}),
}


def allowed(old: TpsState | None, new: TpsState) -> bool:
    """Whether the table lets a TPS in ``old`` (``None``: no numbers yet) move to ``new``: every
    precondition on a TPS's state is this question."""
    return new is TpsState.RECEIVED if old is None else new in TRANSITIONS[old]


def require(old: TpsState | None, new: TpsState) -> None:
    if not allowed(old, new):
        raise IllegalTransition(
            f"TPS tidak dapat berpindah dari keadaan {old or 'belum ada'} ke {new}",
            detail=f"a TPS cannot go from {old} to {new}",
        )
