"""The one place where failures become HTTP responses: a status and a message for the person acting."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.db.pool import CONNECTION_ERRORS
from service.errors import (
    AuthenticationFailed,
    DependencyUnavailable,
    Forbidden,
    InvalidInput,
    MigrationError,
    NotFound,
    RekapError,
)

log = logging.getLogger(__name__)

STATUS: dict[type[RekapError], int] = {
    InvalidInput: 400,
    AuthenticationFailed: 401,
    Forbidden: 403,
    NotFound: 404,
    DependencyUnavailable: 503,
    MigrationError: 503,
}
RETRY_AFTER_S = 5


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    error: str
    message: str
    details: list[dict[str, object]] | None = None


def _status(exc: RekapError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _respond(status: int, body: ErrorBody) -> Response[ErrorBody]:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else {}
    return Response(body, status_code=status, headers=headers)


def rekap_error(_: Request[Any, Any, Any], exc: RekapError) -> Response[ErrorBody]:
    return _respond(_status(exc), ErrorBody(error=type(exc).__name__, message=exc.message))


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    details: list[dict[str, object]] | None = None
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        details = [dict(e) if isinstance(e, dict) else {"message": str(e)} for e in exc.extra]
    return _respond(
        exc.status_code,
        ErrorBody(error=type(exc).__name__, message=str(exc.detail), details=details),
    )


def dependency_down(_: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    log.warning("dependency unavailable: %r", exc)
    return _respond(
        503,
        ErrorBody(
            error="DependencyUnavailable",
            message="rekap cannot reach its database or cache right now; try again shortly",
        ),
    )


HANDLERS: dict[type[Exception], object] = {
    RekapError: rekap_error,
    HTTPException: http_error,
    RedisConnectionError: dependency_down,
    RedisTimeoutError: dependency_down,
    **{cls: dependency_down for cls in CONNECTION_ERRORS},
}
