"""The OCR queue: a Redis stream read by a consumer group.

Delivery is at least once: a worker acknowledges an entry only after the reading is stored,
an entry left unacknowledged longer than ``queue_claim_seconds`` (its worker died) is claimed
by another worker, and the delivery count lets a photo that crashes the reader be set aside.
Nothing is lost when Redis loses the stream: every photo without a reading is in PostgreSQL,
and the worker's sweep puts it back on the queue (``service.photos.worker``).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

GROUP = "ocr"

log = logging.getLogger(__name__)


class Job(msgspec.Struct, frozen=True):
    photo_id: int


class Entry(msgspec.Struct, frozen=True):
    id: str
    job: Job | None
    """``None`` when the entry is not a job this version understands."""


class OcrQueue:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.stream = f"{prefix}:ocr"

    async def enqueue(self, photo_id: int) -> None:
        await self.redis.xadd(self.stream, {"job": msgspec.json.encode(Job(photo_id))})

    async def ensure_group(self) -> None:
        """Create the stream and its group if missing (first start, or after Redis lost them)."""
        try:
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def read(self, consumer: str, count: int, block_ms: int) -> list[Entry]:
        try:
            reply: Any = await self.redis.xreadgroup(GROUP, consumer, {self.stream: ">"}, count, block_ms)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            await self.ensure_group()
            return []
        return [_entry(i, fields) for _, entries in reply or [] for i, fields in entries]

    async def claim(self, consumer: str, idle_ms: int, count: int) -> list[Entry]:
        """Entries another consumer took but did not acknowledge for ``idle_ms``."""
        try:
            reply = await self.redis.xautoclaim(self.stream, GROUP, consumer, idle_ms, "0-0", count)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            await self.ensure_group()
            return []
        return [_entry(i, fields) for i, fields in reply[1] if fields]

    async def deliveries(self, entry_id: str) -> int:
        pending = await self.redis.xpending_range(self.stream, GROUP, entry_id, entry_id, 1)
        return int(pending[0]["times_delivered"]) if pending else 0

    async def ack(self, entry_id: str) -> None:
        await self.redis.xack(self.stream, GROUP, entry_id)
        await self.redis.xdel(self.stream, entry_id)

    async def depth(self) -> int:
        """Entries waiting or being worked on."""
        try:
            return int(await self.redis.xlen(self.stream))
        except ResponseError:
            return 0


def _entry(entry_id: Any, fields: dict[Any, Any]) -> Entry:
    raw = fields.get(b"job") or fields.get("job")
    ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    try:
        if raw:
            return Entry(ident, msgspec.json.decode(raw, type=Job))
    except msgspec.DecodeError:
        pass
    # The worker acknowledges such an entry without reading anything: it is logged with what it
    # held, so that a job written by another version (or by hand) is not dropped unseen.
    log.warning("queue entry %s is not a job this version reads; acknowledged unread: %r", ident, fields)
    return Entry(ident, None)
