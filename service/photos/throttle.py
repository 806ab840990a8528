"""Uploads are counted in Redis per login, in windows of one minute; past ``uploads_per_minute``
an upload is refused (429, with the seconds until the window ends) before its body is read.

A TPS needs three photos and a few retakes, far below the limit; the limit stops a runaway app
or a stolen login from filling the photo store and the OCR queue. Every upload the login may
make counts, also the same bytes sent again (answered 200): telling a retry apart would need
the whole body received and hashed first, and the phone's page retries with back-off, so an
honest retry never comes near the limit.

When Redis cannot be reached, uploads go unlimited (with a warning in the log): a photo from a
polling station is worth more than the limit, and intake otherwise works without Redis (the
worker's sweep queues what could not be queued).
"""

from __future__ import annotations

import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.db.redis import count_in_window
from service.errors import TooManyAttempts
from service.settings import Settings
from service.users.model import User

log = logging.getLogger(__name__)

WINDOW_S = 60


class UploadThrottle:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.redis_prefix}:upload-attempts"
        self.limit = settings.uploads_per_minute

    async def attempt(self, user: User) -> None:
        """Count an upload of this login; refuse it when the login used up this minute's uploads."""
        key = f"{self.prefix}:{user.id}"
        try:
            (count,) = await count_in_window(self.redis, [key], WINDOW_S)
            if count <= self.limit:
                return
            wait = max(int(await self.redis.ttl(key)), 1)
        except (RedisError, OSError) as error:
            log.warning("upload of %s not counted, Redis unavailable (%r)", user.username, error)
            return
        raise TooManyAttempts(
            f"Terlalu banyak unggahan dalam satu menit (paling banyak {self.limit}); "
            f"tunggu {wait} detik lalu kirim lagi.",
            retry_after=wait,
            detail=f"more than {self.limit} uploads of this login in a minute; retry after {wait} s",
        )
