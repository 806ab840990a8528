"""A new reading of a TPS whose numbers people already rely on waits for an officer.

Once a TPS is published, signed off, or has a correction waiting for a second officer, a new photo
of one of its pages (a retake, a KPPS resending page 2 into slot 1) is stored and read, but its
numbers change nothing: they wait here beside the numbers there, shown to officers, until one of
them takes them (the TPS goes back to review with them: ``adopt``) or sets them aside. So an
upload never unpublishes a TPS nor discards an approved correction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
import msgspec

from ocr.form import BALLOT
from service.errors import Conflict
from service.results import store
from service.results.checks import check_tps
from service.results.states import TpsState
from service.results.store import TpsResult

HELD = frozenset({TpsState.PUBLISHED, TpsState.REVIEWED})
"""States whose numbers a new reading does not replace (``reviewed``: signed off, or a correction
waiting for approval)."""


class NewReading(msgspec.Struct, frozen=True, kw_only=True):
    numbers: dict[str, int]
    changed: store.Changed
    """Field → (the number there now, the new reading's), for the fields that differ."""
    read_at: datetime


async def hold(
    conn: asyncpg.Connection, current: TpsResult, decoding_id: int, numbers: Mapping[str, int]
) -> TpsResult:
    """Keep the new reading beside ``current`` (in the caller's transaction, the TPS locked).

    A reading equal to the numbers there needs nobody: it clears any reading still waiting."""
    if dict(numbers) == current.numbers:
        await conn.execute(
            "DELETE FROM new_reading WHERE tps_code = $1 AND ballot = $2 AND decided_at IS NULL",
            current.tps,
            BALLOT,
        )
        return current
    await conn.execute(
        """
        INSERT INTO new_reading (tps_code, ballot, decoding_id, numbers) VALUES ($1, $2, $3, $4::jsonb)
        ON CONFLICT (tps_code, ballot) WHERE decided_at IS NULL
        DO UPDATE SET decoding_id = EXCLUDED.decoding_id, numbers = EXCLUDED.numbers, read_at = now()
        """,
        current.tps,
        BALLOT,
        decoding_id,
        msgspec.json.encode(dict(numbers)).decode(),
    )
    return current


async def waiting(conn: asyncpg.Connection, tps: str, now: Mapping[str, int]) -> NewReading | None:
    """The TPS's new reading waiting for an officer, compared with the numbers ``now`` there."""
    row = await conn.fetchrow(
        "SELECT numbers::text AS numbers, read_at FROM new_reading "
        "WHERE tps_code = $1 AND ballot = $2 AND decided_at IS NULL",
        tps,
        BALLOT,
    )
    if row is None:
        return None
    numbers = msgspec.json.decode(row["numbers"], type=dict[str, int])
    return NewReading(numbers=numbers, changed=store.changed(now, numbers), read_at=row["read_at"])


async def decide(
    conn: asyncpg.Connection, tps: str, officer_id: int, *, adopt: bool, reason: str, dpt: int | None
) -> TpsResult:
    """An officer takes the new reading (the TPS back to review with its numbers, public no more
    until signed off again) or sets it aside (nothing changes). In the caller's transaction."""
    row = await conn.fetchrow(
        "SELECT id, decoding_id, numbers::text AS numbers FROM new_reading "
        "WHERE tps_code = $1 AND ballot = $2 AND decided_at IS NULL FOR UPDATE",
        tps,
        BALLOT,
    )
    if row is None:
        raise Conflict(
            f"TPS {tps} tidak punya bacaan foto baru yang menunggu keputusan",
            detail=f"TPS {tps} has no new reading waiting",
        )
    current = await store.load(conn, tps, lock=True)
    assert current is not None  # new_reading's foreign key
    if adopt and await conn.fetchval(
        "SELECT 1 FROM correction WHERE tps_code = $1 AND ballot = $2 AND decided_at IS NULL", tps, BALLOT
    ):
        raise Conflict(
            f"TPS {tps} punya koreksi yang menunggu persetujuan: setujui atau tolak koreksi itu dulu, "
            "lalu putuskan bacaan foto baru",
            detail="a correction is waiting for approval: decide it before taking the new reading",
        )
    await conn.execute(
        "UPDATE new_reading SET decided_by = $2, decided_at = now(), adopted = $3, decision_reason = $4 "
        "WHERE id = $1",
        row["id"],
        officer_id,
        adopt,
        reason,
    )
    if not adopt:
        return current
    numbers = msgspec.json.decode(row["numbers"], type=dict[str, int])
    return await store.transition(
        conn,
        tps,
        TpsState.NEEDS_REVIEW,
        numbers=numbers,
        findings=check_tps(numbers, dpt),
        actor_user=officer_id,
        decoding_id=row["decoding_id"],
        reason=f"bacaan foto baru diambil untuk ditinjau: {reason}",
    )
