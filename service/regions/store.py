"""Reading regions and TPS for the API."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from service.errors import NotFound
from service.regions.codes import CODE_LENGTHS, Level, level_of


async def require_region(conn: asyncpg.Connection, code: str) -> None:
    """Refuse (404) a region code that is well formed but not in the registry."""
    if not await conn.fetchval("SELECT 1 FROM region WHERE code = $1", code):
        raise NotFound(
            f"Wilayah dengan kode {code} tidak ada dalam daftar wilayah. Periksa kodenya.",
            detail=f"region {code} is not in the registry",
        )


class RegionRef(msgspec.Struct, frozen=True):
    code: str
    name: str
    level: str


class TpsRef(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    number: int
    name: str
    dpt_l: int | None
    dpt_p: int | None
    dpt_j: int | None
    dpt_synthetic: bool


class RegionNode(msgspec.Struct, frozen=True, kw_only=True):
    """A region with its ancestors (``path``, nation first) and its children: regions, or TPS for a desa."""

    code: str
    name: str
    level: str
    path: list[RegionRef]
    children: list[RegionRef] = []
    tps: list[TpsRef] = []


class TpsNode(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    level: str
    path: list[RegionRef]
    number: int
    dpt_l: int | None
    dpt_p: int | None
    dpt_j: int | None
    dpt_synthetic: bool


NATION = RegionRef(code="", name="Indonesia", level=Level.NASIONAL.label)


def _ref(row: asyncpg.Record) -> RegionRef:
    return RegionRef(code=row["code"], name=row["name"], level=Level(row["level"]).label)


def _tps(row: asyncpg.Record) -> TpsRef:
    return TpsRef(
        code=row["code"],
        number=row["number"],
        name=row["name"],
        dpt_l=row["dpt_l"],
        dpt_p=row["dpt_p"],
        dpt_j=row["dpt_j"],
        dpt_synthetic=row["dpt_synthetic"],
    )


async def path_of(conn: asyncpg.Connection, code: str) -> list[RegionRef]:
    prefixes = [code[:n] for level, n in CODE_LENGTHS.items() if 0 < n < len(code)]
    rows = await conn.fetch(
        "SELECT code, name, level FROM region WHERE code = ANY($1::text[]) ORDER BY level", prefixes
    )
    return [NATION, *(_ref(r) for r in rows)]


async def nation(conn: asyncpg.Connection) -> RegionNode:
    rows = await conn.fetch("SELECT code, name, level FROM region WHERE level = 1 ORDER BY code")
    return RegionNode(
        code=NATION.code,
        name=NATION.name,
        level=NATION.level,
        path=[],
        children=[_ref(r) for r in rows],
    )


async def node(conn: asyncpg.Connection, code: str) -> RegionNode | TpsNode:
    level = level_of(code)
    if level is Level.TPS:
        return await _tps_node(conn, code)
    row = await conn.fetchrow("SELECT code, name, level FROM region WHERE code = $1", code)
    if row is None:
        raise NotFound(
            f"Tidak ada {level.title} dengan kode {code}. Periksa kodenya.",
            detail=f"there is no {level.title} with code {code}",
        )
    path = await path_of(conn, code)
    if level is Level.DESA:
        tps = await conn.fetch(
            "SELECT code, number, name, dpt_l, dpt_p, dpt_j, dpt_synthetic FROM tps "
            "WHERE desa_code = $1 ORDER BY code",
            code,
        )
        return RegionNode(**_fields(row), path=path, tps=[_tps(t) for t in tps])
    children = await conn.fetch(
        "SELECT code, name, level FROM region WHERE parent_code = $1 ORDER BY code", code
    )
    return RegionNode(**_fields(row), path=path, children=[_ref(c) for c in children])


async def _tps_node(conn: asyncpg.Connection, code: str) -> TpsNode:
    row = await conn.fetchrow(
        "SELECT code, number, name, dpt_l, dpt_p, dpt_j, dpt_synthetic FROM tps WHERE code = $1",
        code,
    )
    if row is None:
        raise NotFound(
            f"Tidak ada TPS dengan kode {code}. Periksa kodenya.", detail=f"there is no TPS with code {code}"
        )
    tps = _tps(row)
    return TpsNode(**msgspec.structs.asdict(tps), level=Level.TPS.label, path=await path_of(conn, code))


def _fields(row: asyncpg.Record) -> dict[str, Any]:
    return {"code": row["code"], "name": row["name"], "level": Level(row["level"]).label}
