"""What the public sees of a TPS's history: every change of state with its time, and of the words and
numbers only what belongs to a published decision.

The history as kept (``tps_result_event``) holds what the reader made of the form, including numbers
it rejected ("247 makes them add up (the boxes read 447)"), and officers' reasons for decisions that
were later overturned. None of that was checked, so none of it is public:

- a TPS not published now shows each step as its state, its time and a fixed sentence, its actor as
  the system part or ``petugas``; no number, no reason, no officer's name;
- a published TPS shows a set of numbers only where it is one that was published (the numbers read
  before an officer corrected them are not); the reader's and the checks' reasons always give way to
  the fixed sentence (they are machine text about unchecked readings); an officer's reason and name
  stay for the steps that led to a publication with the numbers published: the sign-off and the
  publication. The officer writes that reason to be read by everyone with the numbers
  (``workflow.reason_given``) and is accountable for it; a correction rejected or superseded before
  publication is shown as its state only.
"""

from __future__ import annotations

import asyncpg
import msgspec

from ocr.form import BALLOT
from service.results.states import TpsState
from service.results.store import Event, event_of

STEP = {
    TpsState.RECEIVED: "Foto formulir diterima",
    TpsState.READ: "Foto formulir dibaca sistem",
    TpsState.VERIFIED: "Angka lolos semua pemeriksaan",
    TpsState.NEEDS_REVIEW: "Diteruskan ke petugas untuk ditinjau",
    TpsState.REVIEWED: "Ditinjau petugas, menunggu persetujuan",
    TpsState.PUBLISHED: "Angka dipublikasikan",
}
"""The public's sentence for each step, instead of the reason recorded with it."""
OFFICER = "petugas"
"""An officer whose step is not part of a published decision, unnamed."""
SIGNED = frozenset({TpsState.REVIEWED, TpsState.PUBLISHED})
"""Steps in which an officer signs numbers off."""


class _Step(msgspec.Struct, frozen=True, kw_only=True):
    event: Event
    by_officer: bool


async def public_history(conn: asyncpg.Connection, tps: str, *, published: bool) -> list[Event]:
    """The TPS's history as the public sees it; ``published``: whether it is published now."""
    rows = await conn.fetch(
        """
        SELECT e.at, e.actor_user IS NOT NULL AS by_officer, coalesce(u.username, e.actor_system) AS actor,
               e.from_state, e.to_state, e.numbers_before::text AS before, e.numbers_after::text AS after,
               e.reason
        FROM tps_result_event e LEFT JOIN app_user u ON u.id = e.actor_user
        WHERE e.tps_code = $1 AND e.ballot = $2 ORDER BY e.id
        """,
        tps,
        BALLOT,
    )
    steps = [_Step(event=event_of(r), by_officer=r["by_officer"]) for r in rows]
    return _shown(steps, published=published)


def _shown(steps: list[_Step], *, published: bool) -> list[Event]:
    if not published:
        return [_plain(s, None) for s in steps]
    out: list[Event] = []
    segment: list[_Step] = []
    sets = [s.event.numbers_after for s in steps if s.event.to_state == TpsState.PUBLISHED]
    for step in steps:
        segment.append(step)
        if step.event.to_state == TpsState.PUBLISHED:
            out.extend(_published_segment(segment, sets))
            segment = []
    # After the last publication (none while the TPS is published; kept for safety): unchecked.
    out.extend(_plain(s, sets) for s in segment)
    return out


def _published_segment(segment: list[_Step], sets: list[dict[str, int]]) -> list[Event]:
    """The steps up to and including one publication."""
    numbers = segment[-1].event.numbers_after
    out = []
    for step in segment:
        e = step.event
        if step.by_officer and e.to_state in SIGNED and e.numbers_after == numbers:
            out.append(_numbers_shown(e, sets))
        else:
            out.append(_plain(step, sets))
    return out


def _plain(step: _Step, sets: list[dict[str, int]] | None) -> Event:
    """The step as its state and time, with the numbers shown only if they were published."""
    e = _numbers_shown(step.event, sets or [])
    return msgspec.structs.replace(
        e,
        actor=OFFICER if step.by_officer else e.actor,
        reason=STEP[TpsState(e.to_state)],
    )


def _numbers_shown(e: Event, sets: list[dict[str, int]]) -> Event:
    before = e.numbers_before if e.numbers_before in sets else None
    after = e.numbers_after if e.numbers_after in sets else {}
    return msgspec.structs.replace(e, numbers_before=before, numbers_after=after)
