"""The Redis client, made one way for the API and the worker."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from service.settings import Settings


async def count_in_window(redis: aioredis.Redis, keys: list[str], window_s: int) -> list[int]:
    """Count one more for each key, in a window that starts with its first count (atomically: a
    burst of parallel attempts cannot slip past a limit); the counts so far."""
    async with redis.pipeline(transaction=True) as pipe:
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, window_s, nx=True)
        replies = await pipe.execute()
    return [int(n) for n in replies[::2]]


def redis_client(settings: Settings, *, timeout: float = 2) -> aioredis.Redis:
    """A client that retries a command twice on a dropped connection, so that a restarted Redis
    costs the first request after it nothing (a Redis that stays down still fails fast)."""
    return aioredis.from_url(
        settings.redis_url,
        socket_timeout=timeout,
        socket_connect_timeout=2,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        retry_on_error=[RedisConnectionError],
    )
