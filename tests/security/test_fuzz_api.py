"""Schemathesis calls every operation of the server's own OpenAPI document with generated valid
and invalid input, anonymously and logged in: no answer may be a 5xx.

A server of its own (the calls of a logged-in administrator change things): the small registry,
a TPS held for review and one published, and an administrator. The live feed
(``/api/v1/public/ppwp/changes``) never ends, so it is left out. The calls are the same every run
(a gate, not a lottery); raise ``EXAMPLES`` for a deeper search.

Marked serial: inside a pytest-xdist process schemathesis calls only a handful of operations and
still passes, so there it is skipped, saying so (``make test`` runs it in a pytest of its own).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from service.regions.registry import import_registry
from service.results import workflow
from service.users.credentials import hash_secret, new_token
from tests.conftest import Server, scratch_database
from tests.registry_files import kpu_registry
from tests.security.conftest import built_app
from tests.tps_numbers import consistent, decoded, decoding, record

pytestmark = [
    pytest.mark.serial,
    pytest.mark.skipif(
        "PYTEST_XDIST_WORKER" in os.environ,
        reason="schemathesis fuzzes only a few operations inside pytest-xdist; run with -m serial",
    ),
]

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
    path_regex=r"^/(health|api/v1/public/|api/v1/regions|api/v1/auth/(login|logout)|pemilu/|wilayah/)"
)
"""The operations a token changes anything for (the public ones answer everyone alike). Logging
out would end the administrator's token for every call after it (``tests/security/test_sessions.py``
holds logout to what it must do; anonymously it is fuzzed above)."""


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


FEED = "/api/v1/public/ppwp/changes"
VERSION_MAX = 2**63 - 1
HEADERS = settings(max_examples=60, deadline=None, database=None, derandomize=True)
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=30
)
"""What a header may carry: visible Latin-1 (HTTP/1.1 sends bytes; servers read them as Latin-1)."""


def feed_status(url: str, value: bytes) -> tuple[int, bytes]:
    """The live feed's status for a Last-Event-ID, and the body if it ended (a 200 never does)."""
    with (
        httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=5)) as api,
        api.stream("GET", FEED, headers={"Last-Event-ID": value}) as answer,
    ):
        return answer.status_code, b"" if answer.status_code == 200 else answer.read()


NOT_VERSIONS = [
    *(c.encode("latin-1") for c in "²³¹"),  # digits to str.isdigit, as a server reads Latin-1
    *(c.encode() for c in "²٣１"),  # the same and other digits in UTF-8
    *(b"-1", b"+1", b"1.0", b"0x10", b"1e3", b"1 2"),
    *(str(VERSION_MAX + 1).encode(), b"9" * 40, b"9" * 5000),
]


@pytest.mark.parametrize("value", NOT_VERSIONS)
def test_a_last_event_id_that_is_no_version_is_a_400_in_indonesian(fuzz_server: Server, value: bytes) -> None:
    """``²`` was a 500: ``str.isdigit`` takes it, ``int`` does not."""
    status, body = feed_status(fuzz_server.url, value)
    assert status == 400, (value[:20], body[:200])
    assert msgspec.json.decode(body)["message"].startswith("Last-Event-ID harus nomor versi data")


def test_a_version_as_last_event_id_opens_the_feed(fuzz_server: Server) -> None:
    for value in (b"0", b"1", str(VERSION_MAX).encode()):
        assert feed_status(fuzz_server.url, value)[0] == 200, value


@given(value=HEADER_TEXT | st.integers(-(2**70), 2**70).map(str))
@HEADERS
def test_any_last_event_id_is_a_version_or_a_400(fuzz_server: Server, value: str) -> None:
    seen = value.strip(" \t")  # not part of a header's value (and refused by the client)
    is_version = seen.isascii() and seen.isdigit() and int(seen) <= VERSION_MAX
    status, _ = feed_status(fuzz_server.url, seen.encode("latin-1"))
    assert status == (200 if is_version else 400), value


PUBLIC_DOCUMENTS = (
    "/api/v1/public/ppwp/version",
    "/api/v1/public/ppwp/regions/nasional",
    f"/api/v1/public/ppwp/tps/{PUBLISHED}",
    f"/api/v1/public/ppwp/tps/{HELD}",
    "/pemilu/hhcw/ppwp.json",
    "/api/v1/public/ppwp/v/1/regions/34",
)
TAGS = st.sampled_from(["*", '"ETAG"', 'W/"ETAG"', "ETAG", '"x"', "W/", '""', ",", '\t"ETAG" ', '"ETAG"\xa0'])
"""Pieces of a list of entity tags; ``ETAG`` stands for the answer's own, unquoted."""


@given(
    path=st.sampled_from(PUBLIC_DOCUMENTS),
    value=HEADER_TEXT | st.lists(TAGS | HEADER_TEXT, min_size=1, max_size=4).map(", ".join),
)
@HEADERS
def test_any_if_none_match_is_the_document_or_a_304(fuzz_server: Server, path: str, value: str) -> None:
    """A 304 exactly when the header names the answer's own ETag (weakly) or ``*`` (RFC 9110
    13.1.2); each path is asked twice, so that the router and the fast path in front of it answer."""
    with httpx.Client(base_url=fuzz_server.url, timeout=30, follow_redirects=True) as api:
        etag = api.get(path).headers["etag"]
        sent = value.replace("ETAG", etag.strip('"')).strip(" \t")  # as a header's value is read
        for _ in range(2):
            answer = api.get(path, headers={"If-None-Match": sent.encode("latin-1")})
            tags = [t.strip(" \t") for t in sent.split(",")]
            named = "*" in tags or answer.headers["etag"] in (t.removeprefix("W/") for t in tags)
            assert answer.status_code == (304 if named else 200), (path, sent)
            assert answer.headers["etag"] == etag and (answer.content == b"") == named
