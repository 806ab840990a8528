"""Each API process keeps the public responses it built as encoded bytes with their ETag, and
drops exactly those that a published change touched.

Changes are announced by PostgreSQL itself: every application of recap deltas appends a row
with the next version and the TPS it changed (``public_change``, versions commit in order). A
background task reads the new rows twice a second, drops the entries of those TPS and of every
region above them, and tells the live feed's subscribers. The hot path touches neither Redis nor
PostgreSQL; without Redis nothing changes, since the public API never depended on it. A
response is built in one read-only snapshot, so its body and its version agree, and concurrent
misses for one key build it once (one lock per key).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
import msgspec

from service.db.pool import acquire
from service.errors import DatabaseConnectionLost
from service.public.results import data_version
from service.recap import totals

log = logging.getLogger(__name__)

POLL_S = 0.5
MAX_ENTRIES = 20_000
MAX_PATHS = 4 * MAX_ENTRIES
FEED_QUEUE = 256
"""Changes a live-feed subscriber may fall behind by before it is disconnected (it reconnects
with Last-Event-ID and catches up from the database)."""
NATION = "nasional"
CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"


class Cached(msgspec.Struct, frozen=True):
    body: bytes
    etag: str
    version: int


def headers(cached: Cached, cache_control: str = CACHE_CONTROL) -> dict[str, str]:
    """What every public document is sent with (by the router and by the fast path alike)."""
    return {"ETag": cached.etag, "Cache-Control": cache_control, "X-Data-Version": str(cached.version)}


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (RFC 9110 13.1.2: a list of tags, weak
    comparison, ``*`` for any). Anything unparseable names nothing: the full answer is sent."""
    if if_none_match is None:
        return False
    tags = [tag.strip(" \t") for tag in if_none_match.split(",")]  # RFC 9110's whitespace only
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """One published change: the version it made and what it touched."""

    version: int
    regions: list[str] | None
    """Codes of the regions whose results changed (``nasional`` for Indonesia); ``None`` when
    everything may have changed (the totals were rebuilt)."""
    tps: list[str] | None


def touched(tps_codes: Iterable[str]) -> tuple[set[str], set[str]]:
    """The TPS and, separately, every region above them (nation as ``nasional``)."""
    tps = set(tps_codes)
    regions = {NATION}
    for code in tps:
        regions.update((code[:2], code[:4], code[:6], code[:10]))
    return tps, regions


def change_of(version: int, tps_codes: list[str] | None) -> Change:
    if tps_codes is None:
        return Change(version=version, regions=None, tps=None)
    tps, regions = touched(tps_codes)
    return Change(version=version, regions=sorted(regions), tps=sorted(tps))


async def changes_since(conn: asyncpg.Connection, version: int, limit: int = 1000) -> list[Change]:
    rows = await conn.fetch(
        "SELECT version, tps FROM public_change WHERE version > $1 ORDER BY version LIMIT $2", version, limit
    )
    return [change_of(r["version"], r["tps"]) for r in rows]


class PublicCache:
    def __init__(self, *, apply: bool = True) -> None:
        self.pool: asyncpg.Pool | None = None
        self.reads: asyncpg.Pool | None = None
        self.apply = apply
        """Also apply pending recap deltas on each tick, so a publication shows within a tick
        even when no worker is running (appliers take turns: this never waits on another)."""
        self.entries: OrderedDict[str, Cached] = OrderedDict()
        self.codes: dict[str, set[str]] = {}
        """Region or TPS code → keys of the entries built from it."""
        self.paths: dict[str, str] = {}
        """Request path → key, for the fast path in front of the router."""
        self.locks: dict[str, asyncio.Lock] = {}
        self.subscribers: set[asyncio.Queue[Change | None]] = set()
        self.builds = 0
        self.version = 0
        self._refresh_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self, pool: asyncpg.Pool, reads: asyncpg.Pool | None = None) -> None:
        """``reads``: where documents and changes are read (a replica); ``pool`` applies the totals.
        Both come from one source, so a lagging replica serves older documents, never mixed ones."""
        self.pool = pool
        self.reads = reads or pool
        with contextlib.suppress(OSError, asyncpg.PostgresError, DatabaseConnectionLost):
            if self.apply:  # start from the current data: what is pending first
                async with acquire(pool) as conn:
                    await totals.apply_all(conn, wait=False)
            async with acquire(self.reads) as conn:
                self.version = await data_version(conn)
        self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in self.subscribers:
            queue.put_nowait(None)

    async def _poll(self) -> None:
        while True:
            try:
                await self.refresh()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DatabaseConnectionLost) as error:
                log.warning("public cache: cannot read changes (%r); serving what it holds", error)
            await asyncio.sleep(POLL_S)

    async def refresh(self) -> None:
        """Read the changes published since the last look; drop what they touched."""
        assert self.pool is not None and self.reads is not None
        async with self._refresh_lock:
            if self.apply:
                async with acquire(self.pool) as conn:
                    await totals.apply_deltas(conn, wait=False)
            async with acquire(self.reads) as conn:
                await self._read_changes(conn)

    async def _read_changes(self, conn: asyncpg.Connection) -> None:
        while changes := await changes_since(conn, self.version):
            for change in changes:
                self._drop(change)
                self.version = change.version
                for queue in list(self.subscribers):
                    try:
                        queue.put_nowait(change)
                    except asyncio.QueueFull:
                        self.subscribers.discard(queue)
                        queue.get_nowait()
                        queue.put_nowait(None)  # too slow: end its stream

    def _drop(self, change: Change) -> None:
        if change.regions is None or change.tps is None:
            self.entries.clear()
            self.codes.clear()
            return
        for code in (*change.regions, *change.tps):
            for key in self.codes.pop(code, ()):
                self.entries.pop(key, None)

    def subscribe(self) -> asyncio.Queue[Change | None]:
        queue: asyncio.Queue[Change | None] = asyncio.Queue(FEED_QUEUE)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change | None]) -> None:
        self.subscribers.discard(queue)

    def cached(self, path: str) -> Cached | None:
        """The current response for a request path, if this process holds one."""
        key = self.paths.get(path)
        return None if key is None else self.entries.get(key)

    def remember(self, path: str, key: str) -> None:
        if len(self.paths) >= MAX_PATHS:
            self.paths.clear()
        self.paths[path] = key

    async def get(self, key: str, code: str, build: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Cached:
        """The response for ``key``, built from the results of region or TPS ``code``."""
        entry = self.entries.get(key)
        if entry is not None:
            return entry
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self.entries.get(key)
            if entry is not None:
                return entry
            assert self.reads is not None
            async with acquire(self.reads) as conn:
                snapshot = conn.transaction(isolation="repeatable_read", readonly=True)
                async with snapshot:
                    version = await data_version(conn)
                    value = await build(conn)
            body = msgspec.json.encode(value)
            entry = Cached(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', version)
            self.builds += 1
            # Built before changes the poller has already dropped: serve it, but do not keep it.
            if version >= self.version:
                self.entries[key] = entry
                self.codes.setdefault(code, set()).add(key)
                if len(self.entries) > MAX_ENTRIES:
                    old, _ = self.entries.popitem(last=False)
                    self.locks.pop(old, None)
            return entry
