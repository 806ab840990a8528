"""Scenario 5: what a phone on a bad network does — the same photo sent several times at once,
pages sent last to first, and a late retry of a page's older photo after its newer one."""

from __future__ import annotations

import asyncio
from collections import Counter

import asyncpg

from tests.chaos.client import Accepted, Officer, Tally
from tests.chaos.outcome import Outcome, judged, must_accept, nothing_lost
from tests.chaos.stack import TPS, Stack

COPIES = 6


async def _rows(stack: Stack, tps: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.postgres.url, timeout=10)
    try:
        return await conn.fetch("SELECT id, sha256 FROM photo WHERE tps_code = $1 ORDER BY id", tps)
    finally:
        await conn.close()


async def _copies_at_once(stack: Stack, officer: Officer, problems: list[str]) -> list[Accepted]:
    """Each photo sent COPIES times concurrently: one 201, the rest 200 with the same record."""
    accepted = []
    for page in (1, 2, 3):
        data = stack.photos.photo(page)
        answers = await asyncio.gather(*(officer.send(data, page) for _ in range(COPIES)))
        statuses = Counter(a.status for a, _ in answers)
        if statuses != Counter({201: 1, 200: COPIES - 1}):
            problems.append(
                f"{COPIES} copies sent at once got {dict(statuses)}, not one 201 and the rest 200"
            )
        records = {x.photo_id for _, x in answers if x is not None}
        if len(records) > 1:
            problems.append(f"{COPIES} copies sent at once made records {sorted(records)}")
        accepted += [x for _, x in answers if x is not None]
    rows = await _rows(stack, officer.tps)
    if len(rows) != 3:
        problems.append(f"3 distinct photos sent {COPIES} times each made {len(rows)} rows")
    return accepted


async def _out_of_order(
    stack: Stack, officer: Officer, problems: list[str]
) -> tuple[list[Accepted], dict[int, int]]:
    """Pages 3, 2, 1; a newer photo of page 2; then a late retry of the older page 2.

    The current photo of each page expected afterwards: page → photo id.
    """
    photos = {page: stack.photos.photo(page) for page in (3, 2, 1)}
    sent = {page: await must_accept(officer, data, page) for page, data in photos.items()}
    newer = await must_accept(officer, stack.photos.photo(2), 2)
    late_answer, late = await officer.send(photos[2], 2)
    accepted = [*sent.values(), newer, *([late] if late else [])]
    if late is None or late_answer.status != 200 or late.photo_id != sent[2].photo_id:
        problems.append(
            f"a late retry of an older photo got {late_answer.status}, not 200 with its own record"
        )
    rows = await _rows(stack, officer.tps)
    if len(rows) != 4 or len({r["sha256"] for r in rows}) != 4:
        problems.append(f"4 distinct photos made {len(rows)} rows")
    return accepted, {1: sent[1].photo_id, 2: newer.photo_id, 3: sent[3].photo_id}


async def duplicate_and_out_of_order_retries(stack: Stack) -> Outcome:
    stack.worker_alive()
    tally = Tally()
    problems: list[str] = []
    figures: dict[str, object] = {}
    burst, ordered = await stack.officer(TPS[4], tally), await stack.officer(TPS[5], tally)
    try:
        accepted = await _copies_at_once(stack, burst, problems)
        in_order, expected = await _out_of_order(stack, ordered, problems)
        accepted += in_order
        lost = await nothing_lost(stack, accepted)
        if not stack.photos.readable:
            figures["current_pages"] = "not checked: the photos are not forms the reader recognises"
        else:
            _, pages = await ordered.get(f"/api/v1/tps/{ordered.tps}/ppwp", "officer read")
            current = {p["page"]: p["photo"]["id"] if p["photo"] else None for p in pages["pages"]}
            figures["current_pages"] = current
            if current != expected:
                problems.append(f"current photo per page {current}, expected the newest {expected}")
    finally:
        await burst.aclose()
        await ordered.aclose()
    problems += tally.unexpected(allowed=(200, 201))
    figures.update(accepted=len({a.photo_id for a in accepted}), answers=tally.statuses())
    return judged(
        "duplicate_and_out_of_order_retries",
        problems,
        lost,
        figures,
        "one record per distinct photo; the newest photo of each page stays current",
    )
