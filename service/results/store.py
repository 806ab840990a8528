"""TPS results, their history and the deltas they send to the regional totals, in PostgreSQL.

Every change goes through ``transition``: it locks the TPS's row, checks the move against the
state table, writes the new row, appends the event and appends the change to the totals (the
new contribution minus the old) in one transaction, so no change is lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
import msgspec

from ocr.form import PAIRS
from service.results.checks import Finding
from service.results.states import TpsState, check

BALLOT = "ppwp"
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
    async with conn.transaction():
        await lock_tps(conn, tps)
        old = await load(conn, tps, lock=True)
        if first and old is not None:
            return old
        check(None if old is None else old.state, new)
        after = dict(numbers) if numbers is not None else (old.numbers if old else {})
        kept_findings = findings if findings is not None else (old.findings if old else [])
        row = await conn.fetchrow(
            """
            INSERT INTO tps_result (tps_code, ballot, state, numbers, findings, decoding_id)
            VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)
            ON CONFLICT (tps_code, ballot) DO UPDATE
                SET state = EXCLUDED.state, numbers = EXCLUDED.numbers, findings = EXCLUDED.findings,
                    decoding_id = coalesce(EXCLUDED.decoding_id, tps_result.decoding_id),
                    version = tps_result.version + 1, updated_at = now()
            RETURNING tps_code, ballot, state, numbers::text AS numbers, findings::text AS findings,
                      version, updated_at
            """,
            tps,
            BALLOT,
            new.value,
            msgspec.json.encode(after).decode(),
            msgspec.json.encode(kept_findings).decode(),
            decoding_id,
        )
        await conn.execute(
            """
            INSERT INTO tps_result_event (tps_code, ballot, actor_user, actor_system, from_state, to_state,
                                          numbers_before, numbers_after, reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)
            """,
            tps,
            BALLOT,
            actor_user,
            actor_system,
            None if old is None else old.state.value,
            new.value,
            None if old is None else msgspec.json.encode(old.numbers).decode(),
            msgspec.json.encode(after).decode(),
            reason,
        )
        before = contribution(None if old is None else old.state, old.numbers if old else {})
        delta = [a - b for a, b in zip(contribution(new, after), before, strict=True)]
        # Also when nothing counted changed: applying it is what announces the TPS's new state.
        await conn.execute(
            f"INSERT INTO recap_delta (tps_code, desa_code, ballot, {', '.join(COLUMNS)}) "  # noqa: S608 - constant columns
            f"VALUES ($1, $2, $3, {', '.join(f'${i + 4}' for i in range(len(COLUMNS)))})",
            tps,
            tps[:10],
            BALLOT,
            *delta,
        )
        assert row is not None
        return _result(row)


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
