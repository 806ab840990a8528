"""The browser's defences, sent with every answer: a strict Content-Security-Policy, no framing,
no MIME sniffing, no Referer, and only the camera among the powerful features.

Where: a ``before_send`` hook of the application (``security_headers``), because Litestar runs
it for every message it sends — a route's answer, a static file, a page, an error raised by the
router itself (404 of an unknown path, 405) — whereas app-level middleware runs only inside a
matched route. The public documents' fast path (service/public/fastpath.py) answers before
Litestar and adds ``SECURITY_HEADERS`` itself.

Strict-Transport-Security is not here: it belongs to whatever terminates TLS in front of nginx
(a browser ignores it over plain HTTP, which is how rekap itself is reached).

The pages' policy has no ``'unsafe-inline'`` for scripts or styles: every script is a file of
/static, every style a rule of rekap.css (scripts may still set ``element.style``, which CSP does
not govern). ``require-trusted-types-for 'script'`` makes Chromium refuse string-to-HTML sinks
(``innerHTML``, ``document.write``): the pages build the DOM with ``textContent`` and elements, so
a name or a reason typed by a user can never become markup. Its one policy, ``rekap-sw``, lets
kpps.js register the service worker /sw.js and no other script address. Images: ``blob:`` for the photos and
crops an officer sees, fetched with the token (app.js ``image``); nothing uses ``data:``.

The login token stays a bearer token held in ``sessionStorage``, not an HttpOnly cookie:

- A cookie is sent by the browser on its own, so every state-changing route would need a CSRF
  defence (a custom header, checked everywhere, SameSite as a second line); a bearer token is
  sent only by rekap's own scripts, so no other site can make a browser act as its user at all.
- HttpOnly would hide the token from an injected script but not the session: the script would
  call the API from the page, the cookie attached. What stops an injected script is not running
  it — which is what this policy does: no inline script, no ``eval``, no other origin's script,
  no ``<base>``, no plugins, no framing, Trusted Types for the HTML sinks.
- ``sessionStorage`` is per tab and gone when the tab closes (a shared phone or a PPK office PC
  keeps no session), the token expires on the server (``REKAP_TOKEN_TTL_HOURS``), and "Keluar"
  ends it there (``POST /api/v1/auth/logout``); scripts and the tests use the same bearer API.

The OpenAPI viewer under /schema (Redoc) is Litestar's page: an inline script and styles, and
Redoc's bundle, which rekap serves itself (service/http/app.py), so the page needs no other host.
It gets its own policy, with ``sandbox``: it runs in an opaque origin, so even that large
third-party bundle can neither read rekap's storage nor call its API as the user. The spec is
embedded in the page.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.types import Message, Scope

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types rekap-sw",
    )
)
SCHEMA_POLICY = "; ".join(
    (
        "sandbox allow-scripts allow-popups",
        "default-src 'none'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "img-src data:",
        "worker-src blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""For the OpenAPI viewer: Redoc's bundle from rekap itself (``'self'``), the page's inline
script and the styles Redoc writes; its search runs in a ``blob:`` worker."""


def _encoded(policy: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=(), usb=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]


PUBLIC_API = "/api/v1/public/"
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"ETag, Retry-After"),
]
"""The public API is read by newsrooms' pages on other origins: any origin may read it (it holds
only published numbers, needs no credential and changes nothing)."""
PREFLIGHT_HEADERS = [
    *CORS_HEADERS,
    (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
    (b"access-control-allow-headers", b"If-None-Match, Last-Event-ID, Cache-Control"),
    (b"access-control-max-age", b"86400"),
]
SECURITY_HEADERS = _encoded(PAGE_POLICY)
"""Raw ASGI headers, encoded once: what the fast path appends to its answers."""
SCHEMA_HEADERS = _encoded(SCHEMA_POLICY)
NAMES = frozenset(name for name, _ in SECURITY_HEADERS)


async def security_headers(message: Message, scope: Scope) -> None:
    """Adds the headers to the start of an HTTP answer, leaving any a handler set itself."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", ()))
    present = {bytes(name).lower() for name, _ in headers} & NAMES
    ours = SCHEMA_HEADERS if _is_schema(scope) else SECURITY_HEADERS
    headers.extend(header for header in ours if header[0] not in present)
    if scope["path"].startswith(PUBLIC_API) and scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        headers.extend(PREFLIGHT_HEADERS if scope.get("method") == "OPTIONS" else CORS_HEADERS)
    message["headers"] = headers


def _is_schema(scope: Scope) -> bool:
    app = scope.get("litestar_app")
    config = app.openapi_config if isinstance(app, Litestar) else None
    if config is None or not config.path:
        return False
    path = scope["path"]
    return path == config.path or path.startswith(config.path.rstrip("/") + "/")
