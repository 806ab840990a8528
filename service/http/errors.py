"""The one place where failures become HTTP responses: a status and a message for the person acting.

``message`` is Bahasa Indonesia, for the KPPS or officer who reads it; ``detail`` says it in
English for operators, and is logged. Litestar's own refusals (an unknown address, a wrong
method, a body that is not JSON) are worded here too, from their status."""

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
from service.web.labels import label
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
    """For the person acting, in Bahasa Indonesia."""
    detail: str | None = None
    """The same in English, for operators and the logs (omitted when there is nothing to add)."""
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


def _logged(request: Request[Any, Any, Any], status: int, body: ErrorBody) -> ErrorBody:
    log.info(
        "%s %s: %s %s: %s", request.method, request.url.path, status, body.error, body.detail or body.message
    )
    return body


OUTAGE = "rekap sedang tidak dapat menghubungi basis data atau cache-nya. Tunggu sebentar, lalu coba lagi."
"""What people are told of an outage whose own words are for operators (an English message)."""


def rekap_error(request: Request[Any, Any, Any], exc: RekapError) -> Response[Any]:
    message, detail = exc.message, exc.detail
    if isinstance(exc, (DependencyUnavailable, MigrationError)) and detail is None:
        message, detail = OUTAGE, exc.message  # raised by the database's adapters, for operators
    body = ErrorBody(
        error=type(exc).__name__,
        message=message,
        detail=detail,
        reason=exc.reason if isinstance(exc, PhotoRejected) else None,
    )
    _logged(request, _status(exc), body)
    retry_after = exc.retry_after if isinstance(exc, TooManyAttempts) else None
    return _respond(request, _status(exc), body, retry_after)


_TOO_LONG = re.compile(r"Expected `(str|object|array)` of length <= (\d+)")
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
_WRONG_TYPE = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")
_KINDS = {
    "int": "bilangan bulat",
    "float": "angka",
    "str": "teks",
    "bool": "true atau false",
    "object": "objek JSON {...}",
    "array": "daftar JSON [...]",
    "null": "null",
}
WHOLE_BODY = "data"
"""Litestar's key for the body as a whole (its own fields are named by their keys)."""
_KEYS = {
    "username": "nama pengguna",
    "password": "kata sandi",
    "reason": "alasan",
    "minutes": "lama (menit)",
    "page": "halaman",
    "limit": "jumlah",
    "numbers": "angka",
    "children": "angka per wilayah",
}
"""What the pages call the fields of rekap's requests that are no field of the form."""


def _field(key: str) -> str:
    """A request's field as the officer knows it, with the key the request names it by."""
    return f"{_KEYS[key]} ('{key}')" if key in _KEYS else label(key)


def _where(key: str) -> str:
    name = key.removesuffix("[...]")
    return "Isi permintaan" if name in ("", WHOLE_BODY) else f"Isian {_field(name)}"


def _invalid(details: list[dict[str, object]]) -> str:
    """What a request that does not fit its schema gets told, first what is too long (a text, a
    list), then a missing or mistyped field: msgspec's own words stay in ``details``."""
    for detail in details:
        if found := _TOO_LONG.match(str(detail.get("message", ""))):
            unit = "karakter" if found[1] == "str" else "isian"
            name = _field(str(detail.get("key", "")))
            return f"Isian {name} terlalu panjang: paling banyak {found[2]} {unit}."
    for detail in details:
        text, key = str(detail.get("message", "")), str(detail.get("key", ""))
        if found := _MISSING.match(text):
            return f"Isian {_field(found[1])} wajib dikirim, tetapi tidak ada. Lengkapi lalu kirim lagi."
        if text == f"'{WHOLE_BODY}'":
            return "Isi permintaan kosong: kirim datanya dalam bentuk JSON (lihat /schema)."
        if (found := _WRONG_TYPE.match(text)) and found[1] in _KINDS:
            got = _KINDS.get(found[2], found[2])
            return f"{_where(key)} harus berupa {_KINDS[found[1]]}, bukan {got}."
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
        detail = f"the photo is larger than {size_text(limit - MULTIPART_ROOM)}"
        return ErrorBody(error="PhotoRejected", message=message, detail=detail, reason="too_large")
    largest = f" (paling besar {size_text(limit)})" if limit else ""
    return ErrorBody(error="RequestTooLarge", message=f"Isi permintaan terlalu besar{largest}.")


_BY_STATUS = {
    400: "Permintaan tidak dapat dibaca: bentuknya tidak sesuai (lihat /schema).",
    401: "Silakan masuk dulu.",
    403: "Akun ini tidak diizinkan melakukan hal ini.",
    404: "Alamat ini tidak ada di rekap. Periksa alamat yang diketik, atau mulai dari halaman /hasil.",
    406: "rekap tidak dapat menjawab dalam bentuk yang diminta (header Accept).",
    415: "Jenis isi permintaan tidak diterima di alamat ini (lihat header Content-Type dan /schema).",
    429: "Terlalu banyak permintaan. Tunggu sebentar, lalu coba lagi.",
    500: "Terjadi kesalahan di rekap saat menjawab permintaan ini. Coba lagi nanti.",
    503: "rekap sedang tidak dapat menjawab. Tunggu sebentar, lalu coba lagi.",
}
"""What Litestar's own refusals say, by status (its words go to ``detail``)."""


def _http_message(request: Request[Any, Any, Any], exc: HTTPException) -> str:
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("allow", "")
        usable = ", ".join(m.strip() for m in allowed.split(",") if m.strip() not in ("", "OPTIONS"))
        also = f"; yang dapat dipakai: {usable}" if usable else ""
        return f"Alamat ini tidak menerima permintaan {request.method}{also}."
    if exc.status_code == 400 and str(exc.detail).startswith("JSON is malformed"):
        return "Isi permintaan bukan JSON yang benar (rusak atau terpotong). Periksa datanya lalu kirim lagi."
    return _BY_STATUS.get(exc.status_code, f"Permintaan tidak dapat dipenuhi (kode {exc.status_code}).")


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 413:
        return _respond(request, 413, _logged(request, 413, _too_large(request)))
    detail = str(exc.detail)
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        details: list[dict[str, object]] = [
            dict(e) if isinstance(e, dict) else {"message": str(e)} for e in exc.extra
        ]
        message = _invalid(details)
        body = ErrorBody(error=type(exc).__name__, message=message, detail=detail, details=details)
    else:
        body = ErrorBody(error=type(exc).__name__, message=_http_message(request, exc), detail=detail)
    return _respond(request, exc.status_code, _logged(request, exc.status_code, body))


def dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("dependency unavailable: %r", exc)
    return _respond(
        request,
        503,
        ErrorBody(
            error="DependencyUnavailable",
            message=OUTAGE,
            detail="rekap cannot reach its database or cache right now; try again shortly",
        ),
    )


def unstorable_text(
    request: Request[Any, Any, Any], exc: asyncpg.CharacterNotInRepertoireError
) -> Response[Any]:
    """PostgreSQL keeps no NUL character in text: the sender's input, whatever field held it."""
    body = ErrorBody(
        error="InvalidInput",
        message="Isi permintaan memuat karakter NUL (\\u0000), yang tidak boleh ada di teks mana pun. "
        "Hapus karakter itu lalu kirim lagi.",
        detail="the request holds a NUL character (\\u0000), which no text in rekap may contain; remove it",
    )
    return _respond(request, 400, _logged(request, 400, body))


CONNECTION_LOST = "rekap.database_connection_lost"
"""Set in the request's state when PostgreSQL closed the request's connection while it was used."""


def note_connection_lost(request: Request[Any, Any, Any]) -> None:
    request.state[CONNECTION_LOST] = True


def database_interface_error(request: Request[Any, Any, Any], exc: asyncpg.InterfaceError) -> Response[Any]:
    """asyncpg's generic client-side error: an outage when it is the request's connection that
    the server closed (``provide_db`` notes it), a fault of rekap's otherwise."""
    if request.state.get(CONNECTION_LOST):
        lost = DatabaseConnectionLost(
            "Basis data rekap dimulai ulang saat permintaan ini dijawab; tidak ada yang tersimpan. "
            "Kirim permintaan ini lagi.",
            detail="the database restarted while rekap answered this request; send it again",
        )
        return rekap_error(request, lost)
    return unexpected(request, exc)


def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A fault of rekap: logged with its traceback (Litestar logs none outside debug mode), and
    answered without internals."""
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    message = (
        "Terjadi kesalahan di rekap saat menjawab permintaan ini; kesalahan itu sudah dicatat untuk "
        "operator. Coba lagi nanti."
    )
    detail = "rekap failed to answer this request; the error is logged for its operators"
    return _respond(request, 500, ErrorBody(error="InternalError", message=message, detail=detail))


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
