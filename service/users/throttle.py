"""Failed logins are counted in Redis per username and per client address; past the limit the
login is refused for the rest of the window, even with the right password (so guessing a KPPS
secret from a printed sheet's pattern does not pay). An address gets ``CLIENT_FACTOR`` times the
limit: mobile carriers put thousands of phones behind one address."""

from __future__ import annotations

import redis.asyncio as aioredis

from service.errors import TooManyAttempts
from service.settings import Settings

CLIENT_FACTOR = 20


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.redis_prefix}:login-failures"
        self.limit = settings.login_max_failures
        self.window_s = settings.login_window_minutes * 60

    def _keys(self, username: str, client: str) -> list[str]:
        return [f"{self.prefix}:user:{username}", f"{self.prefix}:client:{client}"]

    async def check(self, username: str, client: str) -> None:
        keys = self._keys(username, client)
        counts = await self.redis.mget(keys)
        user_count, client_count = (int(c or 0) for c in counts)
        if user_count >= self.limit or client_count >= CLIENT_FACTOR * self.limit:
            wait = max([int(await self.redis.ttl(k)) for k in keys])
            raise TooManyAttempts(
                f"too many failed logins; wait {max(wait, 1) // 60 + 1} minute(s) and try again",
                retry_after=max(wait, 1),
            )

    async def failed(self, username: str, client: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(username, client):
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
            await pipe.execute()

    async def succeeded(self, username: str) -> None:
        await self.redis.delete(self._keys(username, "")[0])
