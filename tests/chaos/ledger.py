"""What "nothing accepted is lost" means, checked in PostgreSQL and on the disk.

An upload answered 200/201 is lost when its row, its file or its reading never materialises, or
when what is kept is not the bytes that were sent. Separately, a photo row whose file is absent
or different is a half-written record, whoever sent it.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import asyncpg
import msgspec

from service.photos.storage import PhotoStore
from tests.chaos.client import Accepted


class Lost(msgspec.Struct, frozen=True):
    photo_id: int
    tps: str
    why: str


def _file_sha256(store: PhotoStore, sha256: str) -> str | None:
    path = store.path(sha256)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


async def _check(conn: asyncpg.Connection, store: PhotoStore, accepted: list[Accepted]) -> list[Lost]:
    rows = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT p.id, p.sha256, p.tps_code, r.photo_id IS NOT NULL AS read "
            "FROM photo p LEFT JOIN photo_reading r ON r.photo_id = p.id WHERE p.id = ANY($1::bigint[])",
            [a.photo_id for a in accepted],
        )
    }
    lost = []
    for a in accepted:
        row = rows.get(a.photo_id)
        if a.answered_sha256 != a.sha256:
            why = f"answered for other bytes ({a.answered_sha256[:12]} ≠ {a.sha256[:12]})"
        elif row is None:
            why = "no photo row"
        elif row["sha256"] != a.sha256 or row["tps_code"] != a.tps:
            why = "the row is of another photo"
        elif await asyncio.to_thread(_file_sha256, store, a.sha256) != a.sha256:
            why = "the file is missing or differs from the bytes sent"
        elif not row["read"]:
            why = "never read"
        else:
            continue
        lost.append(Lost(a.photo_id, a.tps, why))
    return lost


async def lost_photos(
    database_url: str, storage: Path, accepted: list[Accepted], *, within: float
) -> list[Lost]:
    """The accepted photos still missing something after waiting up to ``within`` seconds for
    the worker to read them all."""
    store = PhotoStore(storage)
    deadline = time.monotonic() + within
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        while True:
            lost = await _check(conn, store, accepted)
            if not lost or time.monotonic() > deadline:
                return lost
            await asyncio.sleep(0.25)
    finally:
        await conn.close()


async def half_written(database_url: str, storage: Path) -> list[Lost]:
    """Photo rows (of anyone) without their file, or whose file has other bytes."""
    store = PhotoStore(storage)
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        rows = await conn.fetch("SELECT id, tps_code, sha256 FROM photo ORDER BY id")
    finally:
        await conn.close()
    return [
        Lost(r["id"], r["tps_code"], "a photo row without its file")
        for r in rows
        if await asyncio.to_thread(_file_sha256, store, r["sha256"]) != r["sha256"]
    ]


def partial_files(storage: Path) -> list[str]:
    """Temporary files a failed write left behind in the store."""
    return sorted(str(p.relative_to(storage)) for p in storage.rglob("*.tmp"))
