"""Limits through a real server: photo uploads per login and minute, and failed logins under a
burst of parallel guesses (the plain login limit is tested in tests/e2e/test_intake.py)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx

from service.photos.throttle import WINDOW_S
from service.users.model import Role
from service.users.store import login as log_in
from service.users.store import upsert_user
from tests.conftest import Server, free_port
from tests.security.conftest import HELD, JAGAKARSA, PASSWORD, UPLOADS_PER_MINUTE, page_photo

LOGIN_LIMIT = 5
"""REKAP_LOGIN_MAX_FAILURES' default, which the security server keeps."""


def upload(api: httpx.Client, headers: dict[str, str], data: bytes, tps: str = JAGAKARSA) -> httpx.Response:
    return api.post(
        f"/api/v1/tps/{tps}/ppwp/photos", content=data, headers={**headers, "Content-Type": "image/jpeg"}
    )


async def photo_count(url: str, tps: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM photo WHERE tps_code = $1", tps)
        return count
    finally:
        await conn.close()


async def test_uploads_past_the_limit_are_refused_until_the_minute_ends(
    api: httpx.Client, login: Callable[[str], dict[str, str]], security_db: str, storage: Path
) -> None:
    """The same bytes sent again count too (answered 200, a retry): the limit is checked before
    the body is read, so a flood costs the server nothing (see service/photos/throttle.py)."""
    kpps = login(f"kpps.{JAGAKARSA}")
    before = await photo_count(security_db, JAGAKARSA)
    first, second = page_photo(1), page_photo(2)
    statuses = [upload(api, kpps, data).status_code for data in (first, first, second)]
    assert statuses == [201, 200, 201][:UPLOADS_PER_MINUTE]
    third = page_photo(3)
    refused = upload(api, kpps, third)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW_S
    assert refused.json()["error"] == "TooManyAttempts" and "unggahan" in refused.json()["message"]
    assert refused.headers["connection"] == "close"  # refused before its body was read
    assert upload(api, kpps, first).status_code == 429, "a retry counts too"
    assert await photo_count(security_db, JAGAKARSA) == before + 2
    assert not list(storage.rglob(hashlib.sha256(third).hexdigest()))
    # Refusals come first: another TPS is still forbidden, not told to wait.
    assert upload(api, kpps, third, tps=HELD).status_code == 403
    # The limit is of the login, not of the TPS or the address.
    assert upload(api, login("admin.rekap"), third).status_code == 201


async def test_uploads_are_not_limited_while_redis_is_down(
    server_factory: type[Server], server_env: dict[str, str], security_db: str
) -> None:
    """A photo from a polling station is worth more than the limit; intake needs no Redis."""
    conn = await asyncpg.connect(security_db)
    try:  # logging in needs Redis (its own limit); an existing session does not
        token, _, _ = await log_in(conn, "admin.rekap", PASSWORD, timedelta(hours=1))
    finally:
        await conn.close()
    server = server_factory(
        server_env
        | {"REKAP_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "REKAP_UPLOADS_PER_MINUTE": "1"}
    )
    server.wait_until_listening()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, timeout=30) as api:
        for seed in (11, 12):
            response = upload(api, headers, page_photo(seed))
            assert response.status_code == 201, response.text
    assert "not counted, Redis unavailable" in server.output()


async def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(
    api: httpx.Client, security_db: str
) -> None:
    """Attempts are counted before the password is checked: twenty guesses sent at once get
    five answers, and then even the right password waits."""
    conn = await asyncpg.connect(security_db)
    try:
        await upsert_user(
            conn,
            username="ppk.burst",
            display_name="PPK",
            role=Role.OFFICER,
            secret=PASSWORD,
            scope_region="340407",
        )
    finally:
        await conn.close()

    async def guess(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(
            "/api/v1/auth/login", json={"username": "ppk.burst", "password": f"guess-{n}"}
        )

    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=30) as client:
        answers = await asyncio.gather(*(guess(client, n) for n in range(20)))
    assert Counter(r.status_code for r in answers) == {401: LOGIN_LIMIT, 429: 20 - LOGIN_LIMIT}
    right = api.post("/api/v1/auth/login", json={"username": "ppk.burst", "password": PASSWORD})
    assert right.status_code == 429
    assert 1 <= int(right.headers["retry-after"]) <= 15 * 60
    # An unknown username is answered and counted alike: the answers tell no one which exist.
    unknown = [
        api.post("/api/v1/auth/login", json={"username": "nobody.here", "password": "x"})
        for _ in range(LOGIN_LIMIT + 1)
    ]
    assert [r.status_code for r in unknown] == [401] * LOGIN_LIMIT + [429]
    wrong = next(r for r in answers if r.status_code == 401)
    assert unknown[0].json() == wrong.json()
