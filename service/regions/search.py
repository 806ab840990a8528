"""Finding a place by what a reader types: a TPS or region code, or a part of a desa's,
kecamatan's, kab/kota's or province's name (trigram index, sql/015_region_search.sql)."""

from __future__ import annotations

import re

import asyncpg
import msgspec

from service.errors import InvalidInput
from service.regions.codes import Level

LIMIT = 20
MIN_LETTERS, MAX_LETTERS = 3, 60


class Found(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    level: Level
    within: str
    """The places above it, nearest first ("DEPOK, SLEMAN, DAERAH ISTIMEWA YOGYAKARTA")."""


def as_code(text: str) -> str | None:
    """What a reader typed as a code, with the dots and spaces of Kemendagri's writing removed."""
    digits = re.sub(r"[\s.]", "", text)
    return digits if re.fullmatch(r"[0-9]{2,13}", digits) else None


def words(text: str) -> str:
    """What a reader typed as a name, checked: a clear message for too little or too much."""
    name = " ".join(text.split()).lower()
    if len(name) < MIN_LETTERS:
        raise InvalidInput(
            f"Ketik paling sedikit {MIN_LETTERS} huruf nama desa atau kecamatan, atau kode TPS/wilayah.",
            detail="search text too short",
        )
    if len(name) > MAX_LETTERS:
        raise InvalidInput(
            f"Teks pencarian terlalu panjang: paling banyak {MAX_LETTERS} huruf.",
            detail="search text too long",
        )
    return name


_ABOVE = """
    LEFT JOIN region d ON d.code = left(r.code, 10) AND r.level > 4
    LEFT JOIN region k ON k.code = left(r.code, 6) AND r.level > 3
    LEFT JOIN region b ON b.code = left(r.code, 4) AND r.level > 2
    LEFT JOIN region p ON p.code = left(r.code, 2) AND r.level > 1
"""
_WITHIN = "concat_ws(', ', d.name, k.name, b.name, p.name) AS within"
_BY_CODE = f"""
    SELECT r.code, r.name, r.level, {_WITHIN}
    FROM (SELECT code, name, level FROM region UNION ALL SELECT code, name, 5 FROM tps) r {_ABOVE}
    WHERE r.code = $1
"""  # noqa: S608 (constant text only; the code is bound)
_BY_NAME = f"""
    SELECT r.code, r.name, r.level, {_WITHIN}
    FROM region r {_ABOVE}
    WHERE lower(r.name) LIKE '%' || $1 || '%'
    ORDER BY lower(r.name) = $2 DESC, lower(r.name) LIKE $1 || '%' DESC, r.level DESC, r.name, r.code
    LIMIT $3
"""  # noqa: S608 (constant text only; the name is bound)


async def search(conn: asyncpg.Connection, text: str) -> list[Found]:
    """A code finds that place (TPS included); a name, up to ``LIMIT`` regions whose name holds
    it, whole-name and starting matches first, desa before kecamatan before larger regions."""
    code = as_code(text)
    if code is not None:
        rows = await conn.fetch(_BY_CODE, code)
    else:
        name = words(text)
        pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = await conn.fetch(_BY_NAME, pattern, name, LIMIT)
    return [
        Found(
            code=r["code"],
            name=r["name"],
            level=Level(r["level"]),
            within=r["within"],
        )
        for r in rows
    ]
