"""A KPPS officer's phone as the chaos run drives it: sends photos, retries what the service
asks it to retry, and keeps every answer it got, so that a scenario can judge them all."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

REQUEST_TIMEOUT_S = 20.0
"""Longer than any answer may take: a request still open then is a hang, and counted as one."""
RETRY_WAIT_CAP_S = 1.0
"""The phone waits what Retry-After says, at most this long (to keep the run short)."""
RETRYABLE = (503, 507)


class Answer(msgspec.Struct, frozen=True):
    status: int
    """0: no HTTP answer at all (connection refused or reset, or timed out)."""
    seconds: float
    at: float
    """When the answer came, on ``time.monotonic()``'s clock."""
    retry_after: str | None = None
    error: str | None = None


class Accepted(msgspec.Struct, frozen=True):
    """An upload the service answered 201 or 200: it promised to keep this photo."""

    tps: str
    photo_id: int
    sha256: str
    """Of the bytes sent."""
    answered_sha256: str
    status: int


class Tally:
    """Every answer of a scenario, and the ones no client should ever get."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, Answer]] = []

    def add(self, what: str, answer: Answer) -> None:
        self.answers.append((what, answer))

    def unexpected(self, allowed: tuple[int, ...]) -> list[str]:
        """Answers outside ``allowed``, a 503/507 without Retry-After, and hangs."""
        wrong = []
        for what, a in self.answers:
            if a.status not in allowed:
                wrong.append(f"{what}: {a.status or a.error}")
            elif a.status in RETRYABLE and not (a.retry_after or "").isdigit():
                wrong.append(f"{what}: {a.status} without Retry-After")
        return wrong

    def statuses(self, what: str | None = None, between: tuple[float, float] | None = None) -> dict[str, int]:
        counts = Counter(
            str(a.status or "no answer")
            for w, a in self.answers
            if (what is None or w == what) and (between is None or between[0] <= a.at <= between[1])
        )
        return dict(sorted(counts.items()))

    def slowest(self) -> float:
        return round(max((a.seconds for _, a in self.answers), default=0.0), 2)


async def _in_two_halves(data: bytes, held_until: asyncio.Event) -> AsyncIterator[bytes]:
    yield data[: len(data) // 2]
    await held_until.wait()
    yield data[len(data) // 2 :]


class Officer:
    """The KPPS of one TPS, logged in."""

    def __init__(self, base_url: str, tps: str, token: str, tally: Tally, ledger: list[Accepted]) -> None:
        self.tps = tps
        self.tally = tally
        self.ledger = ledger
        """Every upload the service accepted, of every officer of the run (for its final audit)."""
        self.http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT_S,
            limits=httpx.Limits(max_connections=16),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, what: str) -> tuple[Answer, Any]:
        return await self._request("GET", path, what)

    async def send(
        self, data: bytes, page: int | None = None, *, held_until: asyncio.Event | None = None
    ) -> tuple[Answer, Accepted | None]:
        """One attempt: the answer, and what was accepted (None when nothing was).

        ``held_until``: send half the photo, then the rest only once the event is set, as a
        phone on a slow network does (the server holds the request, logged in, meanwhile).
        """
        params = {} if page is None else {"page": str(page)}
        headers = {"Content-Type": "image/jpeg", "Content-Length": str(len(data))}
        content: bytes | AsyncIterator[bytes] = data
        if held_until is not None:
            content = _in_two_halves(data, held_until)
        answer, body = await self._request(
            "POST",
            f"/api/v1/tps/{self.tps}/ppwp/photos",
            "upload" if held_until is None else "slow upload",
            content=content,
            params=params,
            headers=headers,
        )
        if answer.status not in (200, 201):
            return answer, None
        accepted = Accepted(
            tps=self.tps,
            photo_id=body["id"],
            sha256=hashlib.sha256(data).hexdigest(),
            answered_sha256=body["sha256"],
            status=answer.status,
        )
        self.ledger.append(accepted)
        return answer, accepted

    async def send_until_accepted(
        self, data: bytes, page: int | None = None, *, within: float = 90
    ) -> Accepted | None:
        """Send again after each 503/507 (or no answer), as the phone does; None if never accepted."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            answer, accepted = await self.send(data, page)
            if accepted is not None:
                return accepted
            if answer.status not in (*RETRYABLE, 0):
                return None
            asked = answer.retry_after or ""
            await asyncio.sleep(min(float(asked) if asked.isdigit() else RETRY_WAIT_CAP_S, RETRY_WAIT_CAP_S))
        return None

    async def _request(self, method: str, path: str, what: str, **kwargs: Any) -> tuple[Answer, Any]:
        start = time.monotonic()
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            answer = Answer(0, time.monotonic() - start, time.monotonic(), error=repr(error))
            self.tally.add(what, answer)
            return answer, None
        answer = Answer(
            response.status_code,
            time.monotonic() - start,
            time.monotonic(),
            retry_after=response.headers.get("retry-after"),
        )
        self.tally.add(what, answer)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        return answer, response.json() if is_json and response.content else None
