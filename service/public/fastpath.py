"""Answers GET requests for public documents this process already holds, before the router.

Measured here (FACTS.md, issue 6): Litestar returning pre-encoded bytes reached 0.22–0.33× of
nginx serving the same file; the time goes to routing, dependency injection and building the
response object, not to the bytes. A held document needs none of that: this sends it straight
through ASGI with its precomputed headers. Anything else — a query string, a miss, a changed
document, another method — goes to the application unchanged.
"""

from __future__ import annotations

from typing import Any

from service.public.cache import CACHE_CONTROL, PublicCache

Scope = dict[str, Any]
ASGIApp = Any


class FastPath:
    def __init__(self, app: ASGIApp, cache: PublicCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            cached = self.cache.cached(scope["path"])
            if cached is not None:
                etag = cached.etag.encode()
                headers = [
                    (b"etag", etag),
                    (b"cache-control", CACHE_CONTROL.encode()),
                    (b"x-data-version", str(cached.version).encode()),
                ]
                if _header(scope, b"if-none-match") == etag:
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
                headers.append((b"content-type", b"application/json"))
                headers.append((b"content-length", str(len(cached.body)).encode()))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": cached.body})
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
