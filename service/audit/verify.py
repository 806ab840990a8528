"""``rekap audit verify``: recompute every link of every TPS's chain of events and report the
first one that no longer holds.

A link breaks when an event's content no longer gives its hash (the row was edited), when its
``prev_hash`` is not the hash of the event before it (an event was removed or inserted before
it), or when a TPS's newest hash is not its newest event's (events were removed from the end).
"""

from __future__ import annotations

import asyncpg
import msgspec

DIGEST = (
    "tps_event_digest(prev_hash, tps_code, ballot, at, actor_user, actor_system, from_state, to_state, "
    "numbers_before, numbers_after, reason)"
)
LIMIT = 100


class BrokenLink(msgspec.Struct, frozen=True, kw_only=True):
    event_id: int | None
    """``None`` when the events after the TPS's last one are missing."""
    tps_code: str
    ballot: str
    problem: str


class AuditReport(msgspec.Struct, frozen=True, kw_only=True):
    events: int
    chains: int
    intact: bool
    first_broken: BrokenLink | None
    broken: list[BrokenLink]
    """Up to 100, in the order the events were written."""


async def verify(conn: asyncpg.Connection) -> AuditReport:
    rows = await conn.fetch(
        f"""
        WITH linked AS (
            SELECT id, tps_code, ballot, hash, prev_hash, {DIGEST} AS recomputed,
                   lag(hash) OVER (PARTITION BY tps_code, ballot ORDER BY id) AS before
            FROM tps_result_event
        )
        SELECT id, tps_code, ballot,
               CASE WHEN hash IS DISTINCT FROM recomputed
                    THEN 'its content no longer matches its hash: the row was changed after it was written'
                    ELSE 'it does not follow the event before it: an event was removed or inserted'
               END AS problem
        FROM linked
        WHERE hash IS DISTINCT FROM recomputed OR prev_hash IS DISTINCT FROM before
        ORDER BY id LIMIT $1
        """,  # noqa: S608 - a constant expression
        LIMIT,
    )
    broken = [
        BrokenLink(event_id=r["id"], tps_code=r["tps_code"], ballot=r["ballot"], problem=r["problem"])
        for r in rows
    ]
    heads = await conn.fetch(
        """
        SELECT r.tps_code, r.ballot FROM tps_result r
        WHERE r.audit_head IS DISTINCT FROM (
            SELECT e.hash FROM tps_result_event e
            WHERE e.tps_code = r.tps_code AND e.ballot = r.ballot ORDER BY e.id DESC LIMIT 1
        )
        ORDER BY 1, 2 LIMIT $1
        """,
        LIMIT,
    )
    broken += [
        BrokenLink(
            event_id=None,
            tps_code=r["tps_code"],
            ballot=r["ballot"],
            problem="its newest events are missing: the chain ends before the hash the TPS keeps",
        )
        for r in heads
    ]
    counts = await conn.fetchrow(
        "SELECT count(*) AS events, count(DISTINCT (tps_code, ballot)) AS chains FROM tps_result_event"
    )
    assert counts is not None
    return AuditReport(
        events=counts["events"],
        chains=counts["chains"],
        intact=not broken,
        first_broken=broken[0] if broken else None,
        broken=broken[:LIMIT],
    )
