"""What a scenario reports, and the waiting and uploading that every scenario does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msgspec

from tests.chaos.client import Accepted, Officer
from tests.chaos.ledger import Lost, lost_photos
from tests.chaos.photos import PAGES
from tests.chaos.stack import Stack


class Outcome(msgspec.Struct, kw_only=True):
    name: str
    passed: bool
    lost: int
    seconds: float = 0.0
    detail: str
    figures: dict[str, Any] = msgspec.field(default_factory=dict)
    skipped: bool = False
    lost_photos: list[Lost] = msgspec.field(default_factory=list)


def judged(name: str, problems: list[str], lost: list[Lost], figures: dict[str, Any], ok: str) -> Outcome:
    """Passed when nothing was lost and no problem was seen; the detail names each problem."""
    problems = problems + [f"photo {x.photo_id} lost: {x.why}" for x in lost]
    return Outcome(
        name=name,
        passed=not problems,
        lost=len(lost),
        detail="; ".join(problems) if problems else ok,
        figures=figures,
        lost_photos=lost,
    )


async def wait_for(check: Callable[[], bool], *, within: float, what: str) -> float:
    """Seconds it took until ``check()`` held; TimeoutError after ``within``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > within:
            raise TimeoutError(f"waited {within} s for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def nothing_lost(stack: Stack, accepted: list[Accepted], within: float = 60) -> list[Lost]:
    return await lost_photos(stack.postgres.url, stack.storage.path, accepted, within=within)


async def must_accept(officer: Officer, data: bytes, page: int) -> Accepted:
    """An upload with no fault injected: refusing it is a failure of the scenario itself."""
    accepted = await officer.send_until_accepted(data, page, within=30)
    if accepted is None:
        raise AssertionError(f"an upload of page {page} was refused with no fault injected")
    return accepted


class Uploads:
    """A phone sending one new photo after another (each until accepted), until told to stop."""

    def __init__(self, stack: Stack, officer: Officer) -> None:
        self.stack = stack
        self.officer = officer
        self.accepted: list[Accepted] = []
        self.never_accepted = 0
        self.fault_over = asyncio.Event()

    async def run(self, *, after_fault: int = 3, pause: float = 0.2) -> None:
        """Until ``fault_over`` is set and ``after_fault`` more photos were sent."""
        sent_after = 0
        n = 0
        while sent_after < after_fault:
            if self.fault_over.is_set():
                sent_after += 1
            page = PAGES[n % len(PAGES)]
            n += 1
            accepted = await self.officer.send_until_accepted(self.stack.photos.photo(page), page, within=60)
            if accepted is None:
                self.never_accepted += 1
            else:
                self.accepted.append(accepted)
            await asyncio.sleep(pause)

    async def until_accepted(self, count: int) -> None:
        await wait_for(lambda: len(self.accepted) >= count, within=60, what=f"{count} accepted uploads")
