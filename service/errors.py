"""Expected failures, each a named type whose message is written for the person who must act.

``message`` is in Bahasa Indonesia, for the KPPS or officer who reads it (form labels for fields,
times in WIB); ``detail``, when given, says the same in English for operators and the logs.
HTTP status codes are assigned in one place, ``service.http.errors``; nothing here knows HTTP.
"""

from __future__ import annotations


class RekapError(Exception):
    """Base of every expected failure."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InvalidInput(RekapError):
    """The request or file is malformed (a code of the wrong shape, a missing field)."""


class NotFound(RekapError):
    """The thing asked for does not exist (an unknown region or TPS code)."""


class AuthenticationFailed(RekapError):
    """No valid credential was given."""


class Forbidden(RekapError):
    """The credential is valid but does not allow this action or this region."""


class Conflict(RekapError):
    """The action does not fit the thing's current state (signing off a TPS already published)."""


class IllegalTransition(Conflict):
    """A move its state machine's table does not allow (``allowed``/``require`` of
    ``service.results.states`` and ``service.photos.states``): the thing is not in a state the
    action applies to, because it changed meanwhile or the action came twice."""


class DependencyUnavailable(RekapError):
    """PostgreSQL or Redis cannot be reached; the client should retry later."""


class DatabaseConnectionLost(DependencyUnavailable):
    """PostgreSQL closed a connection while a request or job was using it (it restarted or
    crashed): nothing uncommitted was kept, and the same request or job can be done again."""


class MigrationError(RekapError):
    """The database schema cannot be brought up to date safely (an applied file was edited, ...)."""


class PhotoRejected(RekapError):
    """An upload that is not a usable photo; ``reason`` says why (``ocr.Retake``)."""

    def __init__(self, reason: str, message: str, detail: str | None = None) -> None:
        super().__init__(message, detail)
        self.reason = reason


class StorageFull(RekapError):
    """The photo store has no room; nothing was recorded, the upload can be retried later."""


class TooManyAttempts(RekapError):
    """Too many failed logins (or requests) in a short time; try again after ``retry_after`` s."""

    def __init__(self, message: str, retry_after: int, detail: str | None = None) -> None:
        super().__init__(message, detail)
        self.retry_after = retry_after
