"""Each API process keeps the public responses it built as encoded bytes with their ETag, valid
while the data version (the newest result event) is unchanged.

The hot path touches neither Redis nor, mostly, PostgreSQL: the version is read from PostgreSQL
at most once a second per process, and a response is rebuilt only when the version moved on.
Concurrent misses for one key build it once (one lock per key). Without Redis nothing changes:
the public API never depended on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec

from service.db.pool import acquire
from service.public.results import data_version

VERSION_TTL_S = 1.0
MAX_ENTRIES = 20_000


class Cached(msgspec.Struct, frozen=True):
    body: bytes
    etag: str
    version: int


class PublicCache:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.entries: OrderedDict[str, Cached] = OrderedDict()
        self.locks: dict[str, asyncio.Lock] = {}
        self.builds = 0
        self._version = 0
        self._checked = 0.0
        self._version_lock = asyncio.Lock()

    async def version(self) -> int:
        if time.monotonic() - self._checked > VERSION_TTL_S:
            async with self._version_lock:
                if time.monotonic() - self._checked > VERSION_TTL_S:
                    async with acquire(self.pool) as conn:
                        self._version = await data_version(conn)
                    self._checked = time.monotonic()
        return self._version

    async def get(self, key: str, build: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Cached:
        version = await self.version()
        entry = self.entries.get(key)
        if entry is not None and entry.version == version:
            self.entries.move_to_end(key)
            return entry
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self.entries.get(key)
            if entry is not None and entry.version == version:
                return entry
            async with acquire(self.pool) as conn:
                value = await build(conn)
            body = msgspec.json.encode(value)
            entry = Cached(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', version)
            self.builds += 1
            self.entries[key] = entry
            if len(self.entries) > MAX_ENTRIES:
                old, _ = self.entries.popitem(last=False)
                self.locks.pop(old, None)
            return entry
