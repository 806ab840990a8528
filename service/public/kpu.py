"""The same published results in the shapes of KPU's public JSON (Sirekap, 2024), so that tools
written for it work unchanged: ``/pemilu/hhcw/ppwp/...`` and ``/wilayah/pemilu/ppwp/...``."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg

from ocr.form import PAIRS
from service.errors import NotFound
from service.public import results
from service.regions.codes import Level, level_of
from service.regions.store import require_region

ADMINISTRASI = (
    "suara_sah",
    "suara_tidak_sah",
    "suara_total",
    *(
        f"{stem}_{sex}"
        for stem in ("pemilih_dpt", "pengguna_dpt", "pengguna_dptb", "pengguna_non_dpt", "pengguna_total")
        for sex in ("j", "l", "p")
    ),
)


def path_code(parts: list[str]) -> str:
    """``["34", "3404", "340407"]`` → ``340407``, checking that each part extends the one before."""
    for parent, child in itertools.pairwise(parts):
        if not child.startswith(parent):
            raise NotFound(
                f"Wilayah {child} tidak berada di bawah wilayah {parent}. Periksa urutan kode di alamat.",
                detail=f"{child} does not lie under {parent}",
            )
    return parts[-1]


async def tps(conn: asyncpg.Connection, code: str, base: str = "") -> dict[str, Any]:
    """``/pemilu/hhcw/ppwp/{prov}/{kab}/{kec}/{kel}/{tps}.json``; photo addresses under ``base``
    (``Settings.public_base``), absolute as KPU's were."""
    result = await results.tps(conn, code)
    people = await results.candidates(conn)
    numbers = result.numbers or {}
    chart: dict[str, int | None] = {"null": None}
    for (_, kpu_id, _), pair in zip(people, PAIRS, strict=True):
        chart[str(kpu_id)] = numbers.get(pair) if result.published else None
    images: list[str | None] = [None, None, None]
    for photo in result.photos:
        images[photo.page - 1] = base + photo.url
    return {
        "mode": "hhcw",
        "chart": chart,
        "images": images,
        "administrasi": {k: numbers.get(k) for k in ADMINISTRASI} if result.published else None,
        "psu": None,
        "ts": _ts(result.history[-1].at if result.history else None),
        "status_suara": result.published,
        "status_adm": result.published,
    }


async def aggregate(conn: asyncpg.Connection, code: str | None) -> dict[str, Any]:
    """``/pemilu/hhcw/ppwp.json`` and ``/pemilu/hhcw/ppwp/{...}.json`` for a region."""
    region = await results.region(conn, code)
    ts = await conn.fetchval("SELECT max(at) FROM tps_result_event")
    chart: dict[str, Any] = {str(c.kpu_id): c.votes for c in region.candidates}
    chart["persen"] = round(100 * region.progress.share, 2)
    table: dict[str, Any] = {}
    for child in region.children:
        row: dict[str, Any] = {
            str(c.kpu_id): votes for c, votes in zip(region.candidates, child.votes, strict=True)
        }
        row |= {
            "psu": "Reguler",
            "persen": round(100 * child.progress.share, 2),
            "status_progress": child.progress.tps_published > 0,
        }
        table[child.code] = row
    return {
        "mode": "hhcw",
        "psu": "Reguler",
        "ts": _ts(ts),
        "chart": chart,
        "table": table,
        "progres": {"total": region.progress.tps_expected, "progres": region.progress.tps_published},
    }


async def wilayah(conn: asyncpg.Connection, code: str | None) -> list[dict[str, Any]]:
    """``/wilayah/pemilu/ppwp/0.json`` (provinces) and ``/wilayah/pemilu/ppwp/{...}.json``."""
    if code is None:
        rows = await conn.fetch("SELECT code, name, kpu_id, level FROM region WHERE level = 1 ORDER BY code")
    elif level_of(code) is Level.DESA:
        rows = await conn.fetch(
            "SELECT code, name, kpu_id, 5 AS level FROM tps WHERE desa_code = $1 ORDER BY code", code
        )
    else:
        rows = await conn.fetch(
            "SELECT code, name, kpu_id, level FROM region WHERE parent_code = $1 ORDER BY code", code
        )
    if not rows and code is not None:
        await require_region(conn, code)
    return [{"nama": r["name"], "id": r["kpu_id"], "kode": r["code"], "tingkat": r["level"]} for r in rows]


def _ts(at: Any) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%d %H:%M:%S")
