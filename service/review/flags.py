"""A KPPS's report that a number read from their photo is wrong ("angka ini salah").

The report names the field; it brings the TPS to the officers' queue (even when it is published)
and stays open until an officer acts on the TPS (any decision, or answering the report).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from ocr.form import BALLOT, PAGE_OF
from service.errors import Forbidden, InvalidInput
from service.users.model import Role, User


class Flag(msgspec.Struct, frozen=True, kw_only=True):
    field: str
    note: str
    flagged_by: str
    flagged_at: datetime


async def raise_flag(conn: asyncpg.Connection, user: User, tps: str, field: str, note: str) -> Flag:
    """The KPPS of the TPS reports a field; reporting it again while open keeps one report."""
    if not (user.role is Role.KPPS and user.tps_code == tps):
        raise Forbidden(
            f"Hanya KPPS TPS {tps} yang melaporkan angka salah pada foto TPS itu",
            detail="only the TPS's KPPS flags its numbers",
        )
    if field not in PAGE_OF:
        raise InvalidInput(
            "Isian ini tidak ada pada formulir C.Hasil-PPWP; pilih angka dari daftar yang terbaca",
            detail=f"no field {field!r} on the form",
        )
    row = await conn.fetchrow(
        """
        INSERT INTO kpps_flag (tps_code, ballot, field, note, flagged_by) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (tps_code, ballot, field) WHERE closed_at IS NULL
        DO UPDATE SET note = EXCLUDED.note, flagged_at = now()
        RETURNING flagged_at
        """,
        tps,
        BALLOT,
        field,
        note.strip(),
        user.id,
    )
    assert row is not None
    return Flag(field=field, note=note.strip(), flagged_by=user.username, flagged_at=row["flagged_at"])


async def open_flags(conn: asyncpg.Connection, tps: str) -> list[Flag]:
    rows = await conn.fetch(
        "SELECT f.field, f.note, u.username, f.flagged_at FROM kpps_flag f "
        "JOIN app_user u ON u.id = f.flagged_by "
        "WHERE f.tps_code = $1 AND f.ballot = $2 AND f.closed_at IS NULL ORDER BY f.id",
        tps,
        BALLOT,
    )
    return [
        Flag(field=r["field"], note=r["note"], flagged_by=r["username"], flagged_at=r["flagged_at"])
        for r in rows
    ]


async def close_all(conn: asyncpg.Connection, tps: str, officer_id: int, reason: str = "") -> None:
    """An officer acted on the TPS (or answered the reports, saying why): they are answered."""
    await conn.execute(
        "UPDATE kpps_flag SET closed_by = $3, closed_at = now(), close_reason = nullif($4, '') "
        "WHERE tps_code = $1 AND ballot = $2 AND closed_at IS NULL",
        tps,
        BALLOT,
        officer_id,
        reason,
    )
