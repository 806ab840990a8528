"""All configuration, read once from ``REKAP_*`` environment variables.

No other module reads the environment: everything else receives a ``Settings``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

PREFIX = "REKAP_"


class SettingsError(Exception):
    """A configuration value is malformed; names the variable so an operator can fix it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/rekap"
    # A read replica for the public documents and the live feed (empty: the database above).
    database_read_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    storage_dir: str = ".local/storage"
    # Where deploy/local/services.sh keeps a project-local PostgreSQL and Redis, if it starts them.
    local_dir: str = ".local"
    data_dir: str = "../shared/data"
    forms_dir: str = "../shared/forms/c-hasil-ppwp-2024"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 0
    db_pool_size: int = 10
    token_ttl_hours: int = 12
    log_level: str = "info"
    # Every Redis key rekap writes starts with this (tests and several instances share a server).
    redis_prefix: str = "rekap"
    max_photo_mb: int = 20
    # A photo on the OCR queue longer than this without a reading is given to another worker.
    queue_claim_seconds: int = 60
    ocr_processes: int = 0
    # 1: workers take a simulated page's numbers from the photo itself and skip the OCR
    # (rekap simulate election-night --skip-ocr measures the rest of the system so).
    simulated_ocr: int = 0
    login_max_failures: int = 5
    login_window_minutes: int = 15
    # Addresses (or CIDR networks, comma-separated) of proxies in front of the API, such as the
    # nginx cache: from them, the client is the address X-Forwarded-For names before them.
    trusted_proxies: str = ""
    # Photos one login may send in a minute: a TPS has three pages and a few retakes (photos/throttle.py).
    uploads_per_minute: int = 30
    # Seconds one photo's reading may take before its process is stopped and the photo refused as
    # unclear (photos/worker.py): real photos take well under a few seconds.
    ocr_read_limit_seconds: int = 60
    # Least privilege and the audit anchor (sql/012_least_privilege.sql, service/audit/anchor.py).
    # The tables' owner, for `rekap db migrate` only; the service connects with REKAP_DATABASE_URL
    # as a member of rekap_app, which cannot switch the audit trail's guards off. Empty: the same
    # URL as REKAP_DATABASE_URL (a development setup with one superuser).
    database_owner_url: str = ""
    # The Ed25519 key that signs audit checkpoints: a file outside the database, readable only by
    # the process that makes them (`rekap audit keygen` writes it and its .pub beside it).
    audit_key_file: str = ".local/audit/signing.key"
    # Every checkpoint is also appended here, one JSON document a line (empty: none).
    audit_log_file: str = ".local/audit/checkpoints.jsonl"
    # Grace for a request's body: cut off (408) after this long without a byte, or when it falls
    # behind 1 KB/s after it (http/bodies.py); raise it where phones send over very poor signal.
    body_timeout_seconds: int = 30
    # The live feed's keep-alive comment (an SSE comment line: browsers' EventSource ignore it),
    # sent when nothing changed for this long, so that proxies keep the connection open.
    feed_keepalive_seconds: int = 15
    # Where the public reaches rekap (e.g. https://rekap.example.id): the KPU-shaped documents give
    # their photos' addresses absolute under it, as KPU's did. Empty: http://HOST:PORT. Not taken
    # from a request's Host header: the documents are cached and shared by everyone.
    public_base_url: str = ""

    @property
    def public_base(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def owner_url(self) -> str:
        """Where migrations connect: the owner's URL, or the service's when none is set."""
        return self.database_owner_url or self.database_url

    @property
    def storage_path(self) -> Path:
        return Path(self.storage_dir)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def forms_path(self) -> Path:
        return Path(self.forms_dir)

    @property
    def worker_count(self) -> int:
        """``workers = 0`` means one per CPU core."""
        return self.workers or (os.cpu_count() or 1)

    @property
    def ocr_process_count(self) -> int:
        """``ocr_processes = 0`` means one per CPU core (OCR is CPU-bound)."""
        return self.ocr_processes or (os.cpu_count() or 1)

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        items = (n.strip() for n in self.trusted_proxies.split(","))
        return tuple(ip_network(n, strict=False) for n in items if n)

    @property
    def max_photo_bytes(self) -> int:
        return self.max_photo_mb * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        fields = {f.name: f.type for f in msgspec.structs.fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in env.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :].lower()
            if name not in fields:
                known = ", ".join(sorted(PREFIX + f.upper() for f in fields))
                raise SettingsError(key, f"unknown setting (known: {known})")
            values[name] = _convert(key, fields[name], raw)
        settings = cls(**values)
        for name, check in _CHECKS.items():
            problem = check(getattr(settings, name))
            if problem:
                raise SettingsError(PREFIX + name.upper(), f"{problem} (got {getattr(settings, name)!r})")
        return settings


def _convert(key: str, field_type: Any, raw: str) -> Any:
    if field_type is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(key, f"expected a whole number, got {raw!r}") from None
    return raw


def _url(schemes: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            return f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
        if not parts.hostname and "host=" not in parts.query:
            return "the URL names no host"
        try:
            parts.port  # noqa: B018 - parsing the port validates it
        except ValueError:
            return "the URL's port is not a number from 0 to 65535"
        return None

    return check


def _between(low: int, high: int) -> Callable[[int], str | None]:
    return lambda v: None if low <= v <= high else f"expected a number from {low} to {high}"


def _one_of(*choices: str) -> Callable[[str], str | None]:
    return lambda v: None if v in choices else f"expected one of {', '.join(choices)}"


def _not_empty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _optional(check: Callable[[str], str | None]) -> Callable[[str], str | None]:
    return lambda value: None if value == "" else check(value)


def _networks(value: str) -> str | None:
    for item in (n.strip() for n in value.split(",")):
        if item:
            try:
                ip_network(item, strict=False)
            except ValueError:
                return f"{item!r} is not an address or network (e.g. 10.0.0.0/8, 127.0.0.1)"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "database_url": _url(("postgresql", "postgres")),
    "database_read_url": _optional(_url(("postgresql", "postgres"))),
    "redis_url": _url(("redis", "rediss")),
    "storage_dir": _not_empty,
    "local_dir": _not_empty,
    "data_dir": _not_empty,
    "forms_dir": _not_empty,
    "host": _not_empty,
    "port": _between(0, 65535),
    "workers": _between(0, 256),
    "db_pool_size": _between(1, 1000),
    "token_ttl_hours": _between(1, 24 * 30),
    "log_level": _one_of("debug", "info", "warning", "error"),
    "redis_prefix": _not_empty,
    "max_photo_mb": _between(1, 200),
    "queue_claim_seconds": _between(1, 3600),
    "ocr_processes": _between(0, 256),
    "simulated_ocr": _between(0, 1),
    "login_max_failures": _between(1, 1000),
    "login_window_minutes": _between(1, 24 * 60),
    "trusted_proxies": _networks,
    "uploads_per_minute": _between(1, 10_000),
    "ocr_read_limit_seconds": _between(1, 3600),
    "database_owner_url": _optional(_url(("postgresql", "postgres"))),
    "audit_key_file": _not_empty,
    "body_timeout_seconds": _between(1, 3600),
    "feed_keepalive_seconds": _between(1, 300),
    "public_base_url": _optional(_url(("http", "https"))),
}
