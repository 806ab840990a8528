"""Schemathesis calls every operation of the server's own OpenAPI document with generated valid
and invalid input, anonymously and logged in: no answer may be a 5xx.

A server of its own (the calls of a logged-in administrator change things): the small registry,
a TPS held for review and one published, and an administrator. The live feed
(``/api/v1/public/ppwp/changes``) never ends, so it is left out. The calls are the same every run
(a gate, not a lottery); raise ``EXAMPLES`` for a deeper search.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from service.regions.registry import import_registry
from service.results import workflow
from service.users.credentials import hash_secret, new_token
from tests.conftest import Server, scratch_database
from tests.registry_files import kpu_registry
from tests.security.conftest import built_app
from tests.tps_numbers import consistent, decoded, decoding, record

PUBLISHED, HELD = "3404072001001", "3404072001002"
EXAMPLES = 15
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
    derandomize=True,
)


@pytest.fixture(scope="module")
async def fuzz_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("fuzz")))
            await conn.execute(
                "INSERT INTO app_user (username, display_name, role, secret_hash) "
                "VALUES ('admin.fuzz', 'A', 'admin', $1)",
                hash_secret(uuid.uuid4().hex),
            )
            await record(conn, PUBLISHED, consistent(1))
            held = consistent(2) | {"suara_paslon_1": 999}
            await workflow.record_decoding(conn, HELD, decoding(held), await decoded(conn, HELD))
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def fuzz_server(fuzz_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        {
            "REKAP_DATABASE_URL": fuzz_db,
            "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("fuzz-photos")),
            "REKAP_REDIS_PREFIX": f"test-fuzz-{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        server.wait_until_listening()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
async def admin(fuzz_db: str) -> dict[str, str]:
    conn = await asyncpg.connect(fuzz_db)
    try:
        token, digest = new_token()
        await conn.execute(
            "INSERT INTO session_token (token_hash, user_id, expires_at) "
            "SELECT $1, id, now() + interval '1 day' FROM app_user WHERE username = 'admin.fuzz'",
            digest,
        )
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {token}"}


DOCUMENT: dict[str, Any] = built_app().openapi_schema.to_schema()
"""Built in this process to collect one test per operation; ``test_the_server_serves_this_document``
holds it to the one the server serves."""
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path="/api/v1/public/ppwp/changes")
needing_a_login = schema.exclude(
    path_regex=r"^/(health|api/v1/public/|api/v1/regions|api/v1/auth/login|pemilu/|wilayah/)"
)
"""The operations a token changes anything for (the public ones answer everyone alike)."""


def test_the_server_serves_this_document(fuzz_server: Server) -> None:
    assert httpx.get(f"{fuzz_server.url}/schema/openapi.json").json() == DOCUMENT


@schema.parametrize()
@FUZZ
def test_no_anonymous_call_fails_the_server(case: Any, fuzz_server: Server) -> None:
    case.call_and_validate(base_url=fuzz_server.url, checks=[not_a_server_error])


@needing_a_login.parametrize()
@FUZZ
def test_no_call_of_an_administrator_fails_the_server(
    case: Any, fuzz_server: Server, admin: dict[str, str]
) -> None:
    """An administrator passes every role and area check, so the calls reach the deepest code."""
    case.call_and_validate(base_url=fuzz_server.url, headers=admin, checks=[not_a_server_error])


def test_what_fuzzing_found_is_a_400_with_a_message(fuzz_server: Server, admin: dict[str, str]) -> None:
    """PostgreSQL stores no NUL character: such text was a 500 wherever it reached a query."""
    held = f"/api/v1/review/{HELD}"
    with httpx.Client(base_url=fuzz_server.url, timeout=30) as api:
        assert api.post(f"{held}/claim", json={}, headers=admin).status_code == 200
        try:
            answers = [
                api.post("/api/v1/auth/login", json={"username": "admin\x00", "password": "x"}),
                api.get("/api/v1/public/photos/%00"),
                api.get("/api/v1/photos/%00", headers=admin),
                api.post(f"{held}/retake", json={"page": 1, "reason": "buram\x00"}, headers=admin),
                api.post(f"{held}/confirm", json={"reason": "\x00"}, headers=admin),
            ]
        finally:
            api.delete(f"{held}/claim", headers=admin)
    for answer in answers:
        assert answer.status_code == 400, (answer.request.url, answer.text)
        assert answer.json()["error"] == "InvalidInput" and answer.json()["message"], answer.request.url
