"""The one place where failures become HTTP responses: a status and a message for the person acting."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.response import Template
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.db.pool import CONNECTION_ERRORS
from service.errors import (
    AuthenticationFailed,
    Conflict,
    DatabaseConnectionLost,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    MigrationError,
    NotFound,
    PhotoRejected,
    RekapError,
    StorageFull,
    TooManyAttempts,
)
from service.http.bodies import MULTIPART_ROOM, PHOTO_ROUTE, BodyTooSlow, size_text
from service.web.pages import wants_page

log = logging.getLogger(__name__)

STATUS: dict[type[RekapError], int] = {
    InvalidInput: 400,
    AuthenticationFailed: 401,
    BodyTooSlow: 408,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyAttempts: 429,
    DependencyUnavailable: 503,
    MigrationError: 503,
    StorageFull: 507,
}
PHOTO_STATUS = {"not_an_image": 415, "too_large": 413}
"""A rejected upload is 422 (damaged, too small to read) unless it is the wrong kind or size."""
RETRY_AFTER_S = 5


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    error: str
    message: str
    reason: str | None = None
    """For a rejected photo: the machine-readable reason (``not_an_image``, ``damaged``, ...)."""
    details: list[dict[str, object]] | None = None


def _status(exc: RekapError) -> int:
    if isinstance(exc, PhotoRejected):
        return PHOTO_STATUS.get(exc.reason, 422)
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


PAGE_TITLES = {
    400: "Alamat tidak valid",
    401: "Silakan masuk",
    403: "Tidak diizinkan",
    404: "Tidak ditemukan",
    429: "Terlalu banyak permintaan",
    503: "Server sedang sibuk",
}
"""What a web page (rather than the API) says first when it fails; the message follows."""


def _respond(
    request: Request[Any, Any, Any], status: int, body: ErrorBody, retry_after: int | None = None
) -> Response[Any]:
    if retry_after is None and status in (503, 507):
        retry_after = RETRY_AFTER_S
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    if request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers:
        # A refusal may come before the body was read (a photo sent without a valid login): the
        # connection cannot be reused then, so say so rather than let the client's next request fail.
        headers["Connection"] = "close"
    if wants_page(request):
        title = PAGE_TITLES.get(status, "Permintaan tidak dapat dipenuhi")
        context = {"status": status, "title": title, "message": body.message}
        return Template("galat.html", context=context, status_code=status, headers=headers)
    return Response(body, status_code=status, headers=headers)


def rekap_error(request: Request[Any, Any, Any], exc: RekapError) -> Response[Any]:
    body = ErrorBody(
        error=type(exc).__name__,
        message=exc.message,
        reason=exc.reason if isinstance(exc, PhotoRejected) else None,
    )
    retry_after = exc.retry_after if isinstance(exc, TooManyAttempts) else None
    return _respond(request, _status(exc), body, retry_after)


_TOO_LONG = re.compile(r"Expected `(str|object|array)` of length <= (\d+)")


def _invalid(details: list[dict[str, object]]) -> str:
    """What a request that does not fit its schema gets told, first what is too long (a text, a
    list): msgspec's own words stay in ``details``."""
    for detail in details:
        if found := _TOO_LONG.match(str(detail.get("message", ""))):
            unit = "karakter" if found[1] == "str" else "isian"
            return f"Isian '{detail.get('key', '')}' terlalu panjang: paling banyak {found[2]} {unit}."
    return "Isi permintaan tidak sesuai bentuk yang diharapkan (lihat 'details' dan /schema)."


def _too_large(request: Request[Any, Any, Any]) -> ErrorBody:
    """The route's body limit (bodies.py), refused before the body is read whole."""
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler):
        return ErrorBody(error="RequestTooLarge", message="Isi permintaan terlalu besar.")
    limit = handler.resolve_request_max_body_size()
    if handler.opt.get(PHOTO_ROUTE) and limit:
        message = (
            f"Foto terlalu besar (paling besar {size_text(limit - MULTIPART_ROOM)}). "
            "Gunakan pengaturan kamera biasa lalu foto ulang."
        )
        return ErrorBody(error="PhotoRejected", message=message, reason="too_large")
    largest = f" (paling besar {size_text(limit)})" if limit else ""
    return ErrorBody(error="RequestTooLarge", message=f"Isi permintaan terlalu besar{largest}.")


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 413:
        return _respond(request, 413, _too_large(request))
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        details: list[dict[str, object]] = [
            dict(e) if isinstance(e, dict) else {"message": str(e)} for e in exc.extra
        ]
        body = ErrorBody(error=type(exc).__name__, message=_invalid(details), details=details)
        return _respond(request, exc.status_code, body)
    return _respond(request, exc.status_code, ErrorBody(error=type(exc).__name__, message=str(exc.detail)))


def dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("dependency unavailable: %r", exc)
    return _respond(
        request,
        503,
        ErrorBody(
            error="DependencyUnavailable",
            message="rekap cannot reach its database or cache right now; try again shortly",
        ),
    )


def unstorable_text(
    request: Request[Any, Any, Any], exc: asyncpg.CharacterNotInRepertoireError
) -> Response[Any]:
    """PostgreSQL keeps no NUL character in text: the sender's input, whatever field held it."""
    message = "the request holds a NUL character (\\u0000), which no text in rekap may contain; remove it"
    return _respond(request, 400, ErrorBody(error="InvalidInput", message=message))


CONNECTION_LOST = "rekap.database_connection_lost"
"""Set in the request's state when PostgreSQL closed the request's connection while it was used."""


def note_connection_lost(request: Request[Any, Any, Any]) -> None:
    request.state[CONNECTION_LOST] = True


def database_interface_error(request: Request[Any, Any, Any], exc: asyncpg.InterfaceError) -> Response[Any]:
    """asyncpg's generic client-side error: an outage when it is the request's connection that
    the server closed (``provide_db`` notes it), a fault of rekap's otherwise."""
    if request.state.get(CONNECTION_LOST):
        lost = "the database restarted while rekap answered this request; send it again"
        return rekap_error(request, DatabaseConnectionLost(lost))
    return unexpected(request, exc)


def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A fault of rekap: logged with its traceback (Litestar logs none outside debug mode), and
    answered without internals."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "rekap failed to answer this request; the error is logged for its operators"
    return _respond(request, 500, ErrorBody(error="InternalError", message=message))


HANDLERS: dict[type[Exception], object] = {
    Exception: unexpected,
    RekapError: rekap_error,
    HTTPException: http_error,
    RedisConnectionError: dependency_down,
    RedisTimeoutError: dependency_down,
    asyncpg.CharacterNotInRepertoireError: unstorable_text,
    **{cls: dependency_down for cls in CONNECTION_ERRORS},
    asyncpg.InterfaceError: database_interface_error,
}
