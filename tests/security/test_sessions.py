"""Sessions end: when the password is issued again, when the bearer logs out, when the account is
disabled and when the token expires; and failing logins (argon2) leave the rest of the API
answering."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from service.http.auth import LOG_IN_FIRST
from service.users.credentials import DUMMY_HASH, token_digest, verify_secret
from service.users.model import Role
from service.users.store import SESSION_EXPIRED, SESSION_INVALID, WRONG_CREDENTIALS, upsert_user
from tests.conftest import BASE, bearer, rekap
from tests.security.conftest import PASSWORD

ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"


async def new_officer(url: str, username: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await upsert_user(
            conn,
            username=username,
            display_name="PPK Depok",
            role=Role.OFFICER,
            secret=PASSWORD,
            scope_region="340407",
        )
    finally:
        await conn.close()


def refused(api: httpx.Client, headers: dict[str, str], message: str) -> None:
    response = api.get(ME, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["message"] == message


def log_in(api: httpx.Client, username: str, password: str) -> httpx.Response:
    return api.post("/api/v1/auth/login", json={"username": username, "password": password})


async def test_issuing_a_password_again_ends_every_old_session(api: httpx.Client, security_db: str) -> None:
    await new_officer(security_db, "ppk.terbit")
    phone, laptop = bearer(api, "ppk.terbit", PASSWORD), bearer(api, "ppk.terbit", PASSWORD)
    assert api.get(ME, headers=phone).status_code == 200
    done = rekap(
        "users",
        "issue-officer",
        "ppk.terbit",
        "--region",
        "340407",
        "--name",
        "PPK Depok",
        env={"REKAP_DATABASE_URL": security_db},
    )
    assert done.returncode == 0, done.stderr
    _, secret, _ = done.stdout.strip().split("\t")
    for headers in (phone, laptop):
        refused(api, headers, SESSION_INVALID)
    assert log_in(api, "ppk.terbit", PASSWORD).status_code == 401
    assert api.get(ME, headers=bearer(api, "ppk.terbit", secret)).status_code == 200


async def test_logging_out_ends_that_session_alone(api: httpx.Client, security_db: str) -> None:
    await new_officer(security_db, "ppk.keluar")
    phone, laptop = bearer(api, "ppk.keluar", PASSWORD), bearer(api, "ppk.keluar", PASSWORD)
    out = api.post(LOGOUT, headers=phone)
    assert out.status_code == 204 and out.content == b""
    refused(api, phone, SESSION_INVALID)
    assert api.get(ME, headers=laptop).status_code == 200
    assert api.post(LOGOUT, headers=phone).status_code == 204, "logging out twice is no error"
    anonymous = api.post(LOGOUT)
    assert anonymous.status_code == 401 and anonymous.json()["message"] == LOG_IN_FIRST


async def test_a_disabled_account_has_no_session_and_cannot_log_in(
    api: httpx.Client, security_db: str
) -> None:
    await new_officer(security_db, "ppk.nonaktif")
    headers = bearer(api, "ppk.nonaktif", PASSWORD)
    env = {"REKAP_DATABASE_URL": security_db}
    disabled = rekap("users", "disable", "ppk.nonaktif", env=env)
    assert disabled.returncode == 0, disabled.stderr
    assert disabled.stdout.strip() == "ppk.nonaktif\tdisabled\t1 session(s) ended"
    refused(api, headers, SESSION_INVALID)
    right = log_in(api, "ppk.nonaktif", PASSWORD)
    assert right.status_code == 401 and right.json()["message"] == WRONG_CREDENTIALS
    unknown = rekap("users", "disable", "nobody.here", env=env)
    assert unknown.returncode == 1 and "no user named" in unknown.stderr
    enabled = rekap("users", "enable", "ppk.nonaktif", env=env)
    assert enabled.returncode == 0 and enabled.stdout.strip() == "ppk.nonaktif\tenabled"
    assert log_in(api, "ppk.nonaktif", PASSWORD).status_code == 200


async def test_a_session_lasts_the_ttl_and_an_expired_one_is_refused_and_deleted(
    api: httpx.Client, security_db: str
) -> None:
    await new_officer(security_db, "ppk.habis")
    answer = log_in(api, "ppk.habis", PASSWORD)
    assert answer.status_code == 200, answer.text
    lifetime = datetime.fromisoformat(answer.json()["expires_at"]) - datetime.now(UTC)
    ttl = timedelta(hours=BASE.token_ttl_hours)
    assert ttl - timedelta(minutes=5) < lifetime <= ttl, lifetime
    token = answer.json()["token"]
    conn = await asyncpg.connect(security_db)
    try:
        await conn.execute(
            "UPDATE session_token SET expires_at = now() - interval '1 second' WHERE token_hash = $1",
            token_digest(token),
        )
        headers = {"Authorization": f"Bearer {token}"}
        refused(api, headers, SESSION_EXPIRED)
        assert not await conn.fetchval(
            "SELECT 1 FROM session_token WHERE token_hash = $1", token_digest(token)
        )
        refused(api, headers, SESSION_INVALID)
        # Expired sessions never presented again go at the user's next login.
        user = await conn.fetchval("SELECT id FROM app_user WHERE username = 'ppk.habis'")
        await conn.execute(
            "INSERT INTO session_token (token_hash, user_id, expires_at) "
            "VALUES ($1, $2, now() - interval '1 hour')",
            token_digest("left-on-a-lost-phone"),
            user,
        )
        bearer(api, "ppk.habis", PASSWORD)
        sessions = await conn.fetch(
            "SELECT expires_at > now() AS live FROM session_token WHERE user_id = $1", user
        )
        assert [s["live"] for s in sessions] == [True]
    finally:
        await conn.close()


async def test_failing_logins_do_not_hold_up_other_requests(api: httpx.Client, security_db: str) -> None:
    """Twenty wrong passwords at once cost the server twenty argon2 verifies (unknown usernames
    are checked against a dummy hash alike). Run on the event loop they held every other request
    for seconds; off it, a public document and an authenticated request keep answering, each in
    less than five verifies' time (a generous bound, for a loaded machine: they take milliseconds)."""
    verify_s = min(timed(lambda: verify_secret(DUMMY_HASH, "wrong")) for _ in range(3))
    await new_officer(security_db, "ppk.sibuk")
    officer = bearer(api, "ppk.sibuk", PASSWORD)
    reads = ("/api/v1/public/ppwp/regions/34", ME)
    async with httpx.AsyncClient(base_url=str(api.base_url), timeout=60) as client:
        for path in reads:  # warm: the first answer of a document may build it
            assert (await client.get(path, headers=officer)).status_code == 200
        logins = asyncio.gather(
            *(
                client.post("/api/v1/auth/login", json={"username": f"tamu.{n}", "password": "salah"})
                for n in range(20)
            )
        )
        latencies: list[float] = []
        while not logins.done():
            for path in reads:
                start = time.perf_counter()
                response = await client.get(path, headers=officer)
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
        answers = await logins
    assert [r.status_code for r in answers] == [401] * 20
    assert len(latencies) >= 4, "the logins ended before the reads could be measured"
    # Blocked, the loop ran the verifies of every login ready at once: one read waited ~20 of them.
    assert max(latencies) < 5 * verify_s, (verify_s, sorted(latencies)[-5:])


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start
