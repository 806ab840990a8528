"""Every write endpoint refuses a caller without a token (401), with a token of the wrong role
(403) and with the right role outside its TPS or region (403), and a refused call changes
nothing in the database or the photo store.

The write endpoints are taken from the running server's own OpenAPI document: a new one fails
``test_every_write_endpoint_is_in_the_table`` until its refusals are listed here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
from litestar.routes import HTTPRoute

from service.db.pool import quote_ident
from tests.security.conftest import HELD, PHOTOS, PUBLISHED, built_app, page_photo

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNGUARDED = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/logout")}
"""Logging in is how a token is got; logging out ends only the presented token's session
(tests/security/test_sessions.py)."""


class Call(msgspec.Struct, frozen=True, kw_only=True):
    """One call of an endpoint that would succeed for the right login in scope."""

    path: str
    json: Any = None
    photo: bytes | None = None
    wrong_role: tuple[str, ...]
    """Logins whose role may never make this call, though their area covers it."""
    out_of_scope: tuple[str, ...]
    """Logins of the right role for another TPS or region."""


REVIEW = {
    "wrong_role": (f"kpps.{HELD}",),
    "out_of_scope": ("ppk.jagakarsa",),
}
WRITES: dict[tuple[str, str], Call] = {
    ("POST", "/api/v1/tps/{code}/ppwp/photos"): Call(
        path=f"/api/v1/tps/{HELD}/ppwp/photos",
        photo=page_photo(),
        wrong_role=("ppk.depok", "kpu.sleman"),
        out_of_scope=(f"kpps.{PUBLISHED}",),
    ),
    ("POST", "/api/v1/recap/{level}/{region}/ppwp"): Call(
        path="/api/v1/recap/kecamatan/340407/ppwp",
        json={"children": {"3404072001": {"suara_sah": 1}}},
        wrong_role=(f"kpps.{HELD}",),
        # Another kecamatan's PPK, and the kabupaten's officer (whose area holds it, at another level).
        out_of_scope=("ppk.jagakarsa", "kpu.sleman"),
    ),
    ("POST", "/api/v1/review/{code}/claim"): Call(path=f"/api/v1/review/{HELD}/claim", json={}, **REVIEW),
    ("DELETE", "/api/v1/review/{code}/claim"): Call(path=f"/api/v1/review/{HELD}/claim", **REVIEW),
    ("POST", "/api/v1/review/{code}/confirm"): Call(
        path=f"/api/v1/review/{HELD}/confirm", json={"reason": "sesuai foto"}, **REVIEW
    ),
    ("POST", "/api/v1/review/{code}/correct"): Call(
        path=f"/api/v1/review/{HELD}/correct",
        json={"numbers": {"suara_paslon_1": 1}, "reason": "foto: 1"},
        **REVIEW,
    ),
    ("POST", "/api/v1/review/{code}/approve"): Call(
        path=f"/api/v1/review/{HELD}/approve", json={"reason": "sesuai foto"}, **REVIEW
    ),
    ("POST", "/api/v1/review/{code}/reject"): Call(
        path=f"/api/v1/review/{HELD}/reject", json={"reason": "tidak sesuai"}, **REVIEW
    ),
    ("POST", "/api/v1/review/{code}/new-reading"): Call(
        path=f"/api/v1/review/{HELD}/new-reading", json={"adopt": True, "reason": "foto baru"}, **REVIEW
    ),
    ("POST", "/api/v1/review/{code}/flags/answer"): Call(
        path=f"/api/v1/review/{HELD}/flags/answer", json={"reason": "angka sesuai foto"}, **REVIEW
    ),
    ("POST", "/api/v1/tps/{code}/ppwp/flags"): Call(
        path=f"/api/v1/tps/{HELD}/ppwp/flags",
        json={"field": "suara_paslon_1", "note": ""},
        wrong_role=("ppk.depok", "kpu.sleman"),
        out_of_scope=(f"kpps.{PUBLISHED}",),
    ),
    ("POST", "/api/v1/review/{code}/retake"): Call(
        path=f"/api/v1/review/{HELD}/retake", json={"page": 1, "reason": "buram"}, **REVIEW
    ),
}


def write_routes_in_schema(api: httpx.Client) -> set[tuple[str, str]]:
    spec = api.get("/schema/openapi.json").json()
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method.upper() in WRITE_METHODS
    }


def test_every_write_endpoint_is_in_the_table(api: httpx.Client) -> None:
    documented = write_routes_in_schema(api)
    assert documented - UNGUARDED - set(WRITES) == set(), "write endpoints whose refusals are not tested"
    assert set(WRITES) - documented == set(), "tested endpoints the server no longer has"
    # An endpoint left out of the document (include_in_schema=False) would escape the table.
    app = built_app()
    routed = {
        (method, re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.methods
        if method in WRITE_METHODS
    }
    assert routed == documented


def send(api: httpx.Client, method: str, call: Call, headers: dict[str, str]) -> httpx.Response:
    if call.photo is not None:
        return api.request(
            method, call.path, content=call.photo, headers={**headers, "Content-Type": "image/jpeg"}
        )
    return api.request(method, call.path, json=call.json, headers=headers)


DIGEST = "count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"


async def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Per table (named by pg_tables): its row count and a digest of all its rows."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        digests = {}
        for (table,) in tables:
            row = await conn.fetchrow(f"SELECT {DIGEST} FROM {quote_ident(table)} t")  # noqa: S608
            assert row is not None
            digests[table] = (row[0], row[1])
        return digests
    finally:
        await conn.close()


def stored_files(storage: Path) -> set[str]:
    return {p.name for p in storage.rglob("*") if p.is_file()}


@pytest.fixture
async def unchanged(
    security_db: str, storage: Path, login: Callable[[str], dict[str, str]]
) -> AsyncIterator[None]:
    """Fails the test when the database or the photo store changed during it."""
    tables, files = await snapshot(security_db), stored_files(storage)
    yield
    after = await snapshot(security_db)
    assert {t: v for t, v in after.items() if tables.get(t) != v} == {}
    assert stored_files(storage) == files


@pytest.mark.parametrize("endpoint", sorted(WRITES), ids=" ".join)
def test_a_write_is_refused_without_a_token_for_the_wrong_role_and_out_of_scope(
    api: httpx.Client,
    login: Callable[[str], dict[str, str]],
    endpoint: tuple[str, str],
    unchanged: None,
) -> None:
    method, _ = endpoint
    call = WRITES[endpoint]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWRtaW46eA=="}):
        response = send(api, method, call, headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["message"]
    for username in call.wrong_role + call.out_of_scope:
        response = send(api, method, call, login(username))
        assert response.status_code == 403, (username, response.text)
        assert response.json()["error"] == "Forbidden" and response.json()["message"], username


def test_reading_a_tps_or_its_photo_is_refused_out_of_scope(
    api: httpx.Client, login: Callable[[str], dict[str, str]], unchanged: None
) -> None:
    """The KPPS's own view of a TPS and its photos: its KPPS and the officers over it only."""
    photo = f"/api/v1/photos/{hashlib.sha256(PHOTOS[HELD]).hexdigest()}"
    for path in (f"/api/v1/tps/{HELD}/ppwp", photo):
        assert api.get(path).status_code == 401, path
        for username in (f"kpps.{PUBLISHED}", "ppk.jagakarsa"):
            response = api.get(path, headers=login(username))
            assert response.status_code == 403, (path, username, response.text)
        for username in (f"kpps.{HELD}", "ppk.depok", "kpu.sleman", "admin.rekap"):
            assert api.get(path, headers=login(username)).status_code == 200, (path, username)
