"""Failed logins, counted in Redis per username *from one address* and per address; past either
limit a login is refused for the rest of the window (15 minutes), even with the right password.

What stops guessing is the secret, not these limits: every secret is generated (credentials.
``new_secret``: 16 characters of 31, about 2^79), and the API verifies at most about seven a
second per core (one argon2 verify is 0.13-0.15 s of a core): even a million addresses, each at
the per-username limit (480 guesses a day), would have odds of about 10^-15 a day against one
account. The limits bound what one address makes the API spend on argon2 and turn
a stuck script into a clear answer.

The figures, with ``REKAP_LOGIN_MAX_FAILURES`` = 5 in ``REKAP_LOGIN_WINDOW_MINUTES`` = 15:

- 5 per username from one address: a KPPS who mistypes the secret five times waits 15 minutes
  on that phone; the officer next to them, or the same KPPS from another network, does not.
- ``CLIENT_FACTOR`` = 1000 times that, 5,000 per address: mobile carriers put thousands of
  phones behind one IPv4 address (carrier-grade NAT). On election night 820,000 KPPS log in
  within a few hours, some 30,000-40,000 in the busiest 15 minutes nationwide; even if 2,000 of
  them shared one address and each mistyped twice, they stay under it. (The former 100 locked
  everyone behind such an address out after a hundred typos.) One address at the limit keeps
  about one core busy with argon2, which the hashing cap (credentials.py) keeps off the rest of
  the API.
- No limit per username alone: KPPS and officer usernames follow public region codes
  (``kpps.<TPS>``, ``ppk.<kecamatan>``), so such a limit would let anyone lock an officer out on
  election night, and it would add nothing against guessing a 79-bit secret. Should people ever
  choose their own passwords, one must be added.

IPv6 addresses count per /64: a subscriber has at least a /64 to pick addresses from.

An attempt is counted before the password is checked (INCR is atomic), so a burst of parallel
guesses cannot slip past the limit; a successful login takes its attempt back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network

import redis.asyncio as aioredis

from service.db.redis import count_in_window
from service.errors import TooManyAttempts
from service.settings import Settings
from service.times import wib

CLIENT_FACTOR = 1000
IPV6_PREFIX = 64


def counted_address(client: str) -> str:
    """The address as counted: an IPv6 address stands for its /64."""
    try:
        ip = ip_address(client)
    except ValueError:
        return client
    if not isinstance(ip, IPv6Address):
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip_network(f"{ip}/{IPV6_PREFIX}", strict=False))


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.prefix = f"{settings.redis_prefix}:login-attempts"
        self.limit = settings.login_max_failures
        self.window_s = settings.login_window_minutes * 60

    def _keys(self, username: str, client: str) -> tuple[str, str]:
        address = counted_address(client)
        return f"{self.prefix}:user:{address}:{username}", f"{self.prefix}:client:{address}"

    async def attempt(self, username: str, client: str) -> None:
        """Count an attempt; refuse it when this username from this address, or this address,
        has used up its attempts."""
        pair, address = self._keys(username, client)
        pair_count, address_count = await count_in_window(self.redis, [pair, address], self.window_s)
        if pair_count > self.limit or address_count > CLIENT_FACTOR * self.limit:
            wait = max(int(await self.redis.ttl(pair)), int(await self.redis.ttl(address)), 1)
            until = wib(datetime.now(UTC) + timedelta(seconds=wait))
            raise TooManyAttempts(
                f"Terlalu banyak percobaan masuk yang gagal. Tunggu {wait // 60 + 1} menit "
                f"(sampai {until}), lalu coba lagi dengan kata sandi yang benar.",
                retry_after=wait,
                detail=f"too many failed logins for this username or address; retry after {wait} s",
            )

    async def succeeded(self, username: str, client: str) -> None:
        pair, address = self._keys(username, client)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(pair)
            pipe.decr(address)
            await pipe.execute()
