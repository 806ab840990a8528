"""TPS results, their history and the deltas they send to the regional totals, in PostgreSQL.

Every change goes through ``apply``: it checks the moves against the state table and, in one
statement under the TPS's lock, writes the new row, appends an event per move and the change to
the totals (the new contribution minus the old), so no change is lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg
import msgspec

from ocr.form import BALLOT, PAIRS
from service.errors import Conflict
from service.results.checks import Finding
from service.results.states import TpsState, require

COUNTED = (
    *PAIRS,
    "suara_sah",
    "suara_tidak_sah",
    "suara_total",
    "pemilih_dpt_j",
    "pengguna_total_j",
)
"""Fields summed per region (from published numbers only)."""
PROGRESS = ("tps_received", "tps_verified", "tps_needs_review", "tps_reviewed", "tps_published")
COLUMNS = (*COUNTED, *PROGRESS)


class TpsResult(msgspec.Struct, frozen=True, kw_only=True):
    tps: str
    ballot: str
    state: TpsState
    numbers: dict[str, int]
    findings: list[Finding]
    version: int
    updated_at: datetime


Changed = dict[str, tuple[int | None, int | None]]
"""Field → (its number before, after), for the fields that differ."""


def changed(before: Mapping[str, int], after: Mapping[str, int]) -> Changed:
    """The fields two sets of a TPS's numbers disagree on (a correction, a new photo's reading)."""
    return {
        name: (before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def contribution(state: TpsState | None, numbers: Mapping[str, int]) -> list[int]:
    """What one TPS adds to its regions' totals: its numbers once published, and its progress."""
    if state is None:
        return [0] * len(COLUMNS)
    published = state is TpsState.PUBLISHED
    votes = [int(numbers.get(f) or 0) if published else 0 for f in COUNTED]
    progress = [
        1,
        int(state is TpsState.VERIFIED),
        int(state is TpsState.NEEDS_REVIEW),
        int(state is TpsState.REVIEWED),
        int(published),
    ]
    return votes + progress


def _result(row: asyncpg.Record) -> TpsResult:
    return TpsResult(
        tps=row["tps_code"],
        ballot=row["ballot"],
        state=TpsState(row["state"]),
        numbers=msgspec.json.decode(row["numbers"]),
        findings=msgspec.json.decode(row["findings"], type=list[Finding]),
        version=row["version"],
        updated_at=row["updated_at"],
    )


async def lock_tps(conn: asyncpg.Connection, tps: str) -> None:
    """Serialise the changes of one TPS until the transaction ends, also while it has no row yet."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"tps_result:{tps}")


async def load(conn: asyncpg.Connection, tps: str, *, lock: bool = False) -> TpsResult | None:
    query = (
        "SELECT tps_code, ballot, state, numbers::text AS numbers, findings::text AS findings, version, "
        "updated_at FROM tps_result WHERE tps_code = $1 AND ballot = $2"
    )
    row = await conn.fetchrow(query + (" FOR UPDATE" if lock else ""), tps, BALLOT)
    return None if row is None else _result(row)


async def load_with_dpt(conn: asyncpg.Connection, tps: str) -> tuple[TpsResult | None, int | None]:
    """The TPS's result (if any) and its registered DPT, in one round trip."""
    row = await conn.fetchrow(
        "SELECT r.tps_code, r.ballot, r.state, r.numbers::text AS numbers, r.findings::text AS findings, "
        "r.version, r.updated_at, t.dpt_j FROM tps t "
        "LEFT JOIN tps_result r ON r.tps_code = t.code AND r.ballot = $2 WHERE t.code = $1",
        tps,
        BALLOT,
    )
    if row is None:
        return None, None
    return (None if row["state"] is None else _result(row)), row["dpt_j"]


class Move(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a TPS's change: the state it moves to, who or what moved it, and why."""

    state: TpsState
    reason: str
    actor_user: int | None = None
    actor_system: str | None = None


ATTEMPTS = 8
"""Times a change is computed again when the TPS changed between reading it and writing."""


async def apply(
    conn: asyncpg.Connection,
    tps: str,
    old: TpsResult | None,
    moves: Sequence[Move],
    *,
    numbers: Mapping[str, int] | None = None,
    findings: list[Finding] | None = None,
    decoding_id: int | None = None,
) -> TpsResult | None:
    """Move the TPS from ``old`` (as read) through ``moves`` in one round trip: its row, an event
    per move and one delta for the totals (sql/016_tps_moves.sql; the events chained by the same
    function, sql/017_chain_in_moves.sql). ``None``: the TPS is no longer
    ``old`` (someone changed it meanwhile) and nothing was written; read it again.

    The numbers stay unless new ones are given (the first move records the change), as do the
    findings."""
    state = None if old is None else old.state
    for move in moves:
        require(state, move.state)
        state = move.state
    assert state is not None, "a change has at least one move"
    after = dict(numbers) if numbers is not None else (old.numbers if old else {})
    kept_findings = findings if findings is not None else (old.findings if old else [])
    before = contribution(None if old is None else old.state, old.numbers if old else {})
    delta = [a - b for a, b in zip(contribution(state, after), before, strict=True)]
    row = await conn.fetchrow(
        "SELECT * FROM tps_result_moves($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11)",
        tps,
        BALLOT,
        0 if old is None else old.version,
        [m.state.value for m in moves],
        [m.reason for m in moves],
        [m.actor_user for m in moves],
        [m.actor_system for m in moves],
        msgspec.json.encode(after).decode(),
        msgspec.json.encode(kept_findings).decode(),
        decoding_id,
        delta,
    )
    return None if row is None else _result(row)


async def transition(
    conn: asyncpg.Connection,
    tps: str,
    new: TpsState,
    *,
    reason: str,
    numbers: Mapping[str, int] | None = None,
    findings: list[Finding] | None = None,
    actor_user: int | None = None,
    actor_system: str | None = None,
    decoding_id: int | None = None,
    first: bool = False,
) -> TpsResult:
    """Move a TPS to ``new`` (keeping its numbers unless new ones are given), with the reason.

    ``first``: only create the TPS's row; if it exists already, leave it as it is.
    """
    move = Move(state=new, reason=reason, actor_user=actor_user, actor_system=actor_system)
    for _ in range(ATTEMPTS):
        old = await load(conn, tps)
        if first and old is not None:
            return old
        result = await apply(
            conn, tps, old, [move], numbers=numbers, findings=findings, decoding_id=decoding_id
        )
        if result is not None:
            return result
    raise changing(tps)


def changing(tps: str) -> Conflict:
    """The TPS changed between each reading and writing of ``ATTEMPTS`` tries."""
    return Conflict(
        f"Angka TPS {tps} sedang diubah berulang kali oleh pihak lain; coba lagi sebentar lagi",
        detail=f"TPS {tps} changed under each of {ATTEMPTS} attempts",
    )


class Event(msgspec.Struct, frozen=True, kw_only=True):
    at: datetime
    actor: str
    """A user's name, or the system part that acted (``ocr``, ``checks``)."""
    from_state: str | None
    to_state: str
    numbers_before: dict[str, int] | None
    numbers_after: dict[str, int]
    reason: str


async def history(conn: asyncpg.Connection, tps: str) -> list[Event]:
    rows = await conn.fetch(
        """
        SELECT e.at, coalesce(u.username, e.actor_system) AS actor, e.from_state, e.to_state,
               e.numbers_before::text AS before, e.numbers_after::text AS after, e.reason
        FROM tps_result_event e LEFT JOIN app_user u ON u.id = e.actor_user
        WHERE e.tps_code = $1 AND e.ballot = $2 ORDER BY e.id
        """,
        tps,
        BALLOT,
    )
    return [event_of(r) for r in rows]


def event_of(row: asyncpg.Record) -> Event:
    """An event from a row with ``at, actor, from_state, to_state, before, after, reason`` (the
    numbers as JSON text)."""
    return Event(
        at=row["at"],
        actor=row["actor"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        numbers_before=None if row["before"] is None else msgspec.json.decode(row["before"]),
        numbers_after=msgspec.json.decode(row["after"]),
        reason=row["reason"],
    )
