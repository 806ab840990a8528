"""The public documents a cache holds: each one's key, the code it is invalidated by, and how it is
built. The API and the results pages ask for them by these, so they share one cached copy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import asyncpg

from service.public import results
from service.public.cache import NATION


class Document(NamedTuple):
    key: str
    code: str
    """Changes of this region or TPS (or anything under it) drop the cached copy."""
    build: Callable[[asyncpg.Connection], Awaitable[Any]]


def region(code: str) -> Document:
    """``code`` is a region's code or ``nasional``; the caller has checked its shape."""
    region_code = None if code == NATION else code
    return Document(f"region:{code}", code, lambda conn: results.region(conn, region_code))


def tps(code: str) -> Document:
    return Document(f"tps:{code}", code, lambda conn: results.tps(conn, code))
