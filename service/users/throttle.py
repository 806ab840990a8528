"""Login attempts are counted in Redis per username *from one address* and per address; past the
limit the login is refused for the rest of the window, even with the right password (guessing a
secret does not pay). Not per username alone: KPPS usernames follow public TPS codes, and anyone
could otherwise lock an officer out on election night. An address gets ``CLIENT_FACTOR`` times
the limit: mobile carriers put thousands of phones behind one address.

An attempt is counted before the password is checked (INCR is atomic), so a burst of parallel
guesses cannot slip past the limit; a successful login takes its attempt back.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from service.db.redis import count_in_window
from service.errors import TooManyAttempts
from service.settings import Settings

CLIENT_FACTOR = 20


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.redis_prefix}:login-attempts"
        self.limit = settings.login_max_failures
        self.window_s = settings.login_window_minutes * 60

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        return f"{self.prefix}:user:{client}:{username}", f"{self.prefix}:client:{client}"

    async def attempt(self, username: str, client: str) -> None:
        """Count an attempt; refuse it when this username from this address, or this address,
        has used up its attempts."""
        pair, address = self._keys(username, client)
        pair_count, address_count = await count_in_window(self.redis, [pair, address], self.window_s)
        if pair_count > self.limit or address_count > CLIENT_FACTOR * self.limit:
            wait = max(int(await self.redis.ttl(pair)), int(await self.redis.ttl(address)), 1)
            raise TooManyAttempts(
                f"too many failed logins; wait {wait // 60 + 1} minute(s) and try again", retry_after=wait
            )

    async def succeeded(self, username: str, client: str) -> None:
        pair, address = self._keys(username, client)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(pair)
            pipe.decr(address)
            await pipe.execute()
