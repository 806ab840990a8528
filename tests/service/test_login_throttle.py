"""The login limits' figures on the real Redis: strict per username from one address, loose per
address (carrier-grade NAT), IPv6 counted per /64 (service/users/throttle.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from service.db.redis import redis_client
from service.errors import TooManyAttempts
from service.users.throttle import CLIENT_FACTOR, LoginThrottle
from tests.conftest import BASE

SETTINGS = msgspec.structs.replace(BASE, redis_prefix=f"test-throttle-{uuid.uuid4().hex[:8]}")
LIMIT = SETTINGS.login_max_failures


@pytest.fixture
async def throttle() -> AsyncIterator[LoginThrottle]:
    redis = redis_client(SETTINGS)
    yield LoginThrottle(redis, SETTINGS)
    keys = [key async for key in redis.scan_iter(f"{SETTINGS.redis_prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_a_username_from_one_address_gets_the_strict_limit(throttle: LoginThrottle) -> None:
    for _ in range(LIMIT):
        await throttle.attempt("ppk.340407", "203.0.113.9")
    with pytest.raises(TooManyAttempts, match="Terlalu banyak percobaan masuk") as refused:
        await throttle.attempt("ppk.340407", "203.0.113.9")
    assert 1 <= refused.value.retry_after <= SETTINGS.login_window_minutes * 60
    await throttle.attempt("ppk.340407", "198.51.100.7")  # the same officer on another network


async def test_thousands_behind_one_address_are_not_locked_out_by_their_typos(
    throttle: LoginThrottle,
) -> None:
    """2,000 KPPS behind one carrier-grade NAT address, each mistyping twice: still answered."""
    assert CLIENT_FACTOR * LIMIT >= 4000
    for n in range(2000):
        for _ in range(2):
            await throttle.attempt(f"kpps.{n:013d}", "203.0.113.10")
    await throttle.attempt("kpps.3404072001001", "203.0.113.10")


async def test_an_address_past_its_limit_is_refused_for_every_username(throttle: LoginThrottle) -> None:
    address = f"{SETTINGS.redis_prefix}:login-attempts:client:203.0.113.11"
    await throttle.redis.set(address, CLIENT_FACTOR * LIMIT, ex=60)
    with pytest.raises(TooManyAttempts):
        await throttle.attempt("kpps.3404072001001", "203.0.113.11")


async def test_ipv6_addresses_count_per_64(throttle: LoginThrottle) -> None:
    """Rotating through the addresses of one /64 gets no more tries."""
    for n in range(LIMIT):
        await throttle.attempt("ppk.340407", f"2001:db8:5:7::{n + 1:x}")
    with pytest.raises(TooManyAttempts):
        await throttle.attempt("ppk.340407", "2001:db8:5:7:ffff::1")
    await throttle.attempt("ppk.340407", "2001:db8:5:8::1")  # another subscriber's /64
