"""Photos, readings and decodings in PostgreSQL."""

from __future__ import annotations

import asyncpg
import msgspec

from ocr import Retake
from ocr.form import BALLOT
from ocr.imagefile import ImageInfo
from service.photos.model import Photo
from service.photos.states import PhotoState, require, sources

_PHOTO_COLUMNS = """
    p.id, p.tps_code, p.ballot, p.sha256, p.media_type, p.size_bytes, p.width, p.height,
    p.page_hint, p.state, p.uploaded_at, r.page, r.retake_reason
"""


def photo_url(sha256: str) -> str:
    return f"/api/v1/photos/{sha256}"


def _photo(row: asyncpg.Record) -> Photo:
    reason = row["retake_reason"]
    message = FAILED_MESSAGE if reason == "failed" else Retake(reason).pesan if reason else None
    return Photo(
        id=row["id"],
        tps=row["tps_code"],
        ballot=row["ballot"],
        sha256=row["sha256"],
        url=photo_url(row["sha256"]),
        media_type=row["media_type"],
        size_bytes=row["size_bytes"],
        width=row["width"],
        height=row["height"],
        page_hint=row["page_hint"],
        page=row["page"],
        state=PhotoState(row["state"]),
        retake_reason=reason,
        retake_message=message,
        uploaded_at=row["uploaded_at"],
    )


FAILED_MESSAGE = (
    "Foto ini tidak dapat dibaca sistem. Silakan foto ulang halaman ini; petugas sudah diberi tahu."
)


async def insert_photo(
    conn: asyncpg.Connection,
    *,
    tps: str,
    sha256: str,
    info: ImageInfo,
    size_bytes: int,
    page_hint: int | None,
    user_id: int,
) -> tuple[Photo, bool]:
    """The photo's row, and whether it is new (the same bytes for the same TPS are one row)."""
    inserted = await conn.fetchval(
        """
        INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height,
                           page_hint, uploaded_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (tps_code, ballot, sha256) DO NOTHING
        RETURNING id
        """,
        tps,
        BALLOT,
        sha256,
        info.media_type,
        size_bytes,
        info.width,
        info.height,
        page_hint,
        user_id,
    )
    row = await conn.fetchrow(
        f"SELECT {_PHOTO_COLUMNS} FROM photo p LEFT JOIN photo_reading r ON r.photo_id = p.id "  # noqa: S608 - constant columns
        "WHERE p.tps_code = $1 AND p.ballot = $2 AND p.sha256 = $3",
        tps,
        BALLOT,
        sha256,
    )
    assert row is not None, "the row was inserted or already there"
    return _photo(row), inserted is not None


async def photos_of(conn: asyncpg.Connection, tps: str) -> list[Photo]:
    rows = await conn.fetch(
        f"SELECT {_PHOTO_COLUMNS} FROM photo p LEFT JOIN photo_reading r ON r.photo_id = p.id "  # noqa: S608 - constant columns
        "WHERE p.tps_code = $1 AND p.ballot = $2 ORDER BY p.uploaded_at, p.id",
        tps,
        BALLOT,
    )
    return [_photo(r) for r in rows]


async def tps_with_photo(conn: asyncpg.Connection, sha256: str) -> list[tuple[str, str]]:
    """(TPS code, media type) of every upload of these bytes."""
    rows = await conn.fetch("SELECT tps_code, media_type FROM photo WHERE sha256 = $1", sha256)
    return [(r["tps_code"], r["media_type"]) for r in rows]


class JobPhoto(msgspec.Struct, frozen=True):
    id: int
    tps: str
    sha256: str
    state: PhotoState
    read: bool


async def photo_for_job(conn: asyncpg.Connection, photo_id: int) -> JobPhoto | None:
    row = await conn.fetchrow(
        "SELECT p.id, p.tps_code, p.sha256, p.state, r.photo_id IS NOT NULL AS read "
        "FROM photo p LEFT JOIN photo_reading r ON r.photo_id = p.id WHERE p.id = $1",
        photo_id,
    )
    if row is None:
        return None
    return JobPhoto(row["id"], row["tps_code"], row["sha256"], PhotoState(row["state"]), row["read"])


async def move(conn: asyncpg.Connection, photo_id: int, new: PhotoState) -> bool:
    """Move a photo to ``new`` if the transition table allows it from where it is."""
    moved = await conn.fetchval(
        "UPDATE photo SET state = $2, state_at = now() WHERE id = $1 AND state = ANY($3::text[]) "
        "RETURNING state",
        photo_id,
        new.value,
        sources(new),
    )
    return moved is not None


async def save_reading(
    conn: asyncpg.Connection,
    photo_id: int,
    *,
    outcome: str,
    page: int | None,
    retake_reason: str | None,
    reading: bytes,
    reader_version: str,
    ms: float,
) -> bool:
    """Store the raw reading once (a second run of the same job stores nothing) and move the
    photo on; True when this call stored it."""
    new = {"page": PhotoState.READ, "rejected": PhotoState.RETAKE}.get(outcome, PhotoState.FAILED)
    require(PhotoState.READING, new)
    async with conn.transaction():
        stored = await conn.fetchval(
            """
            INSERT INTO photo_reading (photo_id, outcome, page, retake_reason, reading,
                                       reader_version, ms)
            VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
            ON CONFLICT (photo_id) DO NOTHING
            RETURNING photo_id
            """,
            photo_id,
            outcome,
            page,
            retake_reason,
            reading.decode(),
            reader_version,
            ms,
        )
        if stored is not None:
            await move(conn, photo_id, new)
    return stored is not None


async def stale(conn: asyncpg.Connection, older_than_s: int, limit: int = 1000) -> list[int]:
    """Photos without a reading that have waited on the queue too long; marks them queued now."""
    rows = await conn.fetch(
        """
        UPDATE photo SET queued_at = now()
        WHERE id IN (
            SELECT id FROM photo
            WHERE state IN ('received', 'reading') AND queued_at < now() - make_interval(secs => $1)
            ORDER BY queued_at LIMIT $2 FOR UPDATE SKIP LOCKED
        )
        RETURNING id
        """,
        float(older_than_s),
        limit,
    )
    return [r["id"] for r in rows]


async def current_pages(conn: asyncpg.Connection, tps: str) -> dict[int, tuple[int, str]]:
    """Page → (photo id, reading JSON) of the newest photo the reader identified as that page."""
    rows = await conn.fetch(
        """
        SELECT page, photo_id, reading::text AS reading FROM current_page
        WHERE tps_code = $1 AND ballot = $2
        """,
        tps,
        BALLOT,
    )
    return {r["page"]: (r["photo_id"], r["reading"]) for r in rows}


async def save_decoding(
    conn: asyncpg.Connection,
    tps: str,
    photo_ids: list[int],
    decoding: bytes,
    *,
    consistent: bool,
    accepted: bool,
) -> int | None:
    """The new decoding's id; ``None`` when these photos were decoded before."""
    new_id: int | None = await conn.fetchval(
        """
        INSERT INTO tps_decoding (tps_code, ballot, photo_ids, decoding, consistent, all_accepted)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6)
        ON CONFLICT (tps_code, ballot, photo_ids) DO NOTHING
        RETURNING id
        """,
        tps,
        BALLOT,
        sorted(photo_ids),
        decoding.decode(),
        consistent,
        accepted,
    )
    return new_id


async def decoding_of(conn: asyncpg.Connection, tps: str, photo_ids: list[int]) -> str | None:
    """The decoding of exactly these photos, as JSON, if it was made."""
    value: str | None = await conn.fetchval(
        "SELECT decoding::text FROM tps_decoding WHERE tps_code = $1 AND ballot = $2 AND photo_ids = $3",
        tps,
        BALLOT,
        sorted(photo_ids),
    )
    return value
