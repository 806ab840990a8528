"""Every answer of the real server carries the browser's defences (service/http/headers.py): API
answers, pages, static files, errors the router raises before any handler, and the public
documents the fast path sends from memory ahead of Litestar."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from service.http.bodies import JSON_BODY_LIMIT
from service.http.headers import PAGE_POLICY, SCHEMA_POLICY, security_headers
from tests.security.conftest import PUBLISHED

EXPECTED = {
    "content-security-policy": PAGE_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(self), microphone=(), geolocation=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
}


def defended(response: httpx.Response, policy: str = PAGE_POLICY) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    for name, value in (EXPECTED | {"content-security-policy": policy}).items():
        assert response.headers.get_list(name) == [value], f"{where}: {name}"


def directives(policy: str) -> dict[str, list[str]]:
    parsed = (d.split() for d in policy.split(";") if d.strip())
    return {d[0]: d[1:] for d in parsed}


def test_the_pages_policy_is_strict() -> None:
    csp = directives(PAGE_POLICY)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "blob:"]  # the photos an officer sees, fetched with the token
    assert csp["require-trusted-types-for"] == ["'script'"]
    assert csp["trusted-types"] == ["rekap-sw"]  # kpps.js's one policy: the service worker's address
    assert not any("unsafe" in source for sources in csp.values() for source in sources)


def test_api_answers_pages_and_static_files(
    api: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    me = api.get("/api/v1/auth/me", headers=login("ppk.depok"))
    assert me.status_code == 200
    defended(me)
    for path in ("/hasil", f"/hasil/{PUBLISHED}", "/kpps", "/petugas", f"/petugas/tps/{PUBLISHED}"):
        page = api.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
        defended(page)
    for path in ("/static/app.js", "/static/rekap.css"):
        asset = api.get(path)
        assert asset.status_code == 200, path
        defended(asset)
    assert api.get("/").status_code == 302  # the redirect to /hasil too
    defended(api.get("/"))


def test_errors_from_handlers_and_from_the_router(
    api: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    unknown = api.get("/tidak-ada")  # no route: the router's own 404, before any handler
    assert unknown.status_code == 404
    defended(unknown)
    no_tps = api.get("/hasil/3404072001999")  # a page's 404, in HTML
    assert no_tps.status_code == 404 and no_tps.headers["content-type"].startswith("text/html")
    defended(no_tps)
    malformed = api.get("/hasil/34x")
    assert malformed.status_code == 400
    defended(malformed)
    anonymous = api.get("/api/v1/auth/me")
    assert anonymous.status_code == 401
    defended(anonymous)
    wrong_method = api.get("/api/v1/auth/logout")
    assert wrong_method.status_code == 405
    defended(wrong_method)
    huge = api.post(
        "/api/v1/auth/login",
        content=b"{" + b" " * (JSON_BODY_LIMIT + 1) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    defended(huge)
    forbidden = api.get("/api/v1/review/queue", headers=login(f"kpps.{PUBLISHED}"))
    assert forbidden.status_code == 403
    defended(forbidden)


def test_public_documents_from_the_router_and_from_the_fast_path(api: httpx.Client) -> None:
    for path in (f"/api/v1/public/ppwp/tps/{PUBLISHED}", "/api/v1/public/ppwp/regions/nasional"):
        answers = [api.get(path) for _ in range(3)]  # the first built by the router, then from memory
        for answer in answers:
            assert answer.status_code == 200, path
            defended(answer)
        # The fast path writes its content-type after the document's own headers: it answered.
        order = list(answers[-1].headers)
        assert order.index("content-type") > order.index("x-data-version") + 1, order
        unchanged = api.get(path, headers={"If-None-Match": answers[-1].headers["etag"]})
        assert unchanged.status_code == 304
        defended(unchanged)


def test_the_openapi_viewers_run_sandboxed(api: httpx.Client) -> None:
    """The schema viewer (Redoc, served by rekap itself) needs an inline script: its own policy,
    in an opaque origin."""
    for path in ("/schema", "/schema/redoc", "/schema/openapi.json"):
        answer = api.get(path)
        assert answer.status_code == 200, path
        defended(answer, SCHEMA_POLICY)
    assert directives(SCHEMA_POLICY)["sandbox"] == ["allow-scripts", "allow-popups"]
    assert "allow-same-origin" not in SCHEMA_POLICY


async def test_a_header_a_handler_set_is_kept() -> None:
    own = (b"content-security-policy", b"default-src 'none'")
    message: dict[str, Any] = {"type": "http.response.start", "status": 200, "headers": [own]}
    await security_headers(message, {"type": "http", "path": "/x"})
    names = [name for name, _ in message["headers"]]
    assert names.count(b"content-security-policy") == 1 and own in message["headers"]
    assert (b"x-frame-options", b"DENY") in message["headers"]


@pytest.mark.parametrize("kind", ["http.response.body", "lifespan.startup.complete"])
async def test_other_messages_pass_unchanged(kind: str) -> None:
    message: dict[str, Any] = {"type": kind, "body": b"x"}
    await security_headers(message, {"type": "http", "path": "/x"})
    assert message == {"type": kind, "body": b"x"}
