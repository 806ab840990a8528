"""What a request body may be: how large (per route), how deeply its JSON nests, how slowly it
arrives. Each limit refuses a body while it streams in, before rekap holds anything for it.

Sizes: a JSON body is at most ``JSON_BODY_LIMIT`` (the largest real one, a D.Hasil of 128 child
regions indented by four, is 45 KB); a photo route takes ``REKAP_MAX_PHOTO_MB`` plus
``MULTIPART_ROOM``. Litestar enforces them (``request_max_body_size`` per layer): a declared
``Content-Length`` above the limit is refused before a byte is read, a body streamed without one
when it passes the limit.

Nesting: rekap's deepest request is three levels (D.Hasil: children, child, field). Deeper JSON
is refused at its ``MAX_JSON_DEPTH + 1``-th level as it arrives, so the decoder never meets
a body nested deeply enough to exhaust the interpreter's recursion limit (msgspec raises
``RecursionError`` near a thousand levels: a 500 for a client's fault).

Time: headers are granian's (``service/cli/serve.py``); the body is ``BodyDeadline``'s, modelled
on Apache's mod_reqtimeout: ``REKAP_BODY_TIMEOUT_SECONDS`` of grace from the first read, extended
by a second for every ``MIN_BODY_BYTES_PER_SECOND`` bytes received, and never longer than the
grace without a byte. A phone on GPRS (5 KB/s) keeps well ahead; a client trickling a byte
every two seconds is cut off with 408 when the grace runs out.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, MutableMapping
from contextlib import aclosing
from typing import Any

from litestar import Request

from service.errors import InvalidInput, RekapError
from service.settings import Settings

JSON_BODY_LIMIT = 64 * 1024
MULTIPART_ROOM = 1024 * 1024
"""Above the photo limit on its route: the form's boundaries and page field (the handler itself
names the photo limit when the photo alone is larger)."""
PHOTO_ROUTE = "rekap_photo_route"
"""Set in the ``opt`` of the routes that take a photo: their 413 speaks of the photo."""
MAX_JSON_DEPTH = 32
MIN_BODY_BYTES_PER_SECOND = 1000

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


def upload_body_limit(settings: Settings) -> int:
    """The largest body the photo route reads (nginx's client_max_body_size must let it through)."""
    return settings.max_photo_bytes + MULTIPART_ROOM


def size_text(limit: int) -> str:
    return f"{limit // 1024} KB" if limit < 1024 * 1024 else f"{limit / (1024 * 1024):.0f} MB"


class JsonTooDeep(InvalidInput):
    """A JSON body nested deeper than any request of rekap."""

    def __init__(self) -> None:
        super().__init__(
            f"Isi permintaan (JSON) bersarang terlalu dalam: paling dalam {MAX_JSON_DEPTH} tingkat. "
            "Kirim data dengan bentuk yang dijelaskan di /schema.",
            detail=f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
        )


class BodyTooSlow(RekapError):
    """The body stopped arriving, or arrives slower than any real connection sends it."""

    def __init__(self) -> None:
        super().__init__(
            "Data permintaan datang terlalu lambat atau terhenti, jadi koneksi diputus. "
            "Periksa sinyal internet lalu kirim ulang.",
            detail="the request body stopped arriving or arrived too slowly; the connection was closed",
        )


_OUTSIDE = re.compile(rb'[\[\]{}"]')
_INSIDE = re.compile(rb'["\\]')


class JsonDepth:
    """Follows the nesting of a JSON text fed in pieces; raises ``JsonTooDeep`` past the limit.

    Only brackets and string boundaries are looked at (a regular expression finds them, so the
    cost is per bracket or quote, not per byte); whether the text is valid JSON is the decoder's
    to say afterwards."""

    def __init__(self, limit: int = MAX_JSON_DEPTH) -> None:
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.escaped = False
        """The piece ended on a backslash in a string: the next piece's first byte is escaped."""

    def feed(self, chunk: bytes) -> None:
        pos = 0
        if self.escaped and chunk:
            self.escaped, pos = False, 1
        while True:
            found = (_INSIDE if self.in_string else _OUTSIDE).search(chunk, pos)
            if found is None:
                return
            byte, pos = chunk[found.start()], found.end()
            if byte == 0x22:  # "
                self.in_string = not self.in_string
            elif byte == 0x5C:  # \ in a string: skip what it escapes
                if pos == len(chunk):
                    self.escaped = True
                    return
                pos += 1
            elif byte in b"[{":
                self.depth += 1
                if self.depth > self.limit:
                    raise JsonTooDeep
            else:
                self.depth -= 1


class JsonBodyRequest(Request[Any, Any, Any]):
    """The request of a route that decodes its body as JSON: the nesting is checked as it streams
    (Litestar's size limit is applied underneath, by ``Request.stream``)."""

    async def stream(self) -> AsyncGenerator[bytes, None]:
        depth = JsonDepth()
        async with aclosing(super().stream()) as chunks:
            async for chunk in chunks:
                depth.feed(chunk)
                yield chunk


class BodyDeadline:
    """Wraps the ASGI application so that each request's body arrives in time (module docstring).

    The limit is on ``receive``: whatever reads the body — Litestar's data, a form, the photo
    handler — gets ``BodyTooSlow`` from it, answered as 408 like any refusal. Once the body is
    complete, ``receive`` only reports a disconnect and waits as long as the response needs."""

    def __init__(self, app: ASGIApp, *, grace_s: float, min_rate: float = MIN_BODY_BYTES_PER_SECOND) -> None:
        self.app = app
        self.grace_s = grace_s
        self.min_rate = min_rate

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, _TimedReceive(receive, self.grace_s, self.min_rate), send)


class _TimedReceive:
    def __init__(self, receive: Receive, grace_s: float, min_rate: float) -> None:
        self.receive = receive
        self.grace_s = grace_s
        self.min_rate = min_rate
        self.started: float | None = None
        self.received = 0
        self.complete = False

    async def __call__(self) -> Message:
        if self.complete:
            return await self.receive()
        now = time.monotonic()
        if self.started is None:
            self.started = now
        allowed = self.started + self.grace_s + self.received / self.min_rate - now
        allowed = min(allowed, self.grace_s)
        if allowed <= 0:
            raise BodyTooSlow
        try:
            async with asyncio.timeout(allowed):
                message = await self.receive()
        except TimeoutError:
            raise BodyTooSlow from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        else:
            self.complete = True
        return message
