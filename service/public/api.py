"""HTTP, no login: published results per region and TPS, in rekap's shape and in KPU's, with
ETag / If-None-Match, short shared caching, a version document and immutable versioned copies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.response import Stream

from service.errors import InvalidInput, NotFound
from service.public import export, kpu, results
from service.public.cache import Cached
from service.regions.codes import Level, level_of

NATION = "nasional"
CACHE_CONTROL = "public, max-age=5, stale-while-revalidate=30"
IMMUTABLE = "public, max-age=31536000, immutable"


def _answer(
    request: Request[Any, Any, Any], cached: Cached, cache_control: str = CACHE_CONTROL
) -> Response[bytes]:
    headers = {"ETag": cached.etag, "Cache-Control": cache_control, "X-Data-Version": str(cached.version)}
    if request.headers.get("if-none-match") == cached.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(cached.body, media_type="application/json", headers=headers)


def _region_code(code: str) -> str | None:
    if code == NATION:
        return None
    level_of(code)  # a malformed code is a 400 with what is wrong with it
    return code


class PublicController(Controller):
    tags = ["public results"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/api/v1/public/ppwp/version", summary="The data version: poll this, fetch what changed")
    async def version(self, request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        version = await state.public.version()
        cached = Cached(f'{{"version":{version}}}'.encode(), f'"v{version}"', version)
        return _answer(request, cached, "public, max-age=1")

    @get(
        "/api/v1/public/ppwp/regions/{code:str}",
        summary="A region ('nasional' for Indonesia): pairs' votes and shares, valid and invalid votes, "
        "progress, and its children's summaries; published numbers only",
    )
    async def region(self, request: Request[Any, Any, Any], state: State, code: str) -> Response[bytes]:
        region = _region_code(code)
        return _answer(request, await state.public.get(f"region:{code}", lambda c: results.region(c, region)))

    @get(
        "/api/v1/public/ppwp/v/{version:int}/regions/{code:str}",
        summary="The same, as an immutable document of one data version (410 once superseded)",
    )
    async def versioned_region(
        self, request: Request[Any, Any, Any], state: State, version: int, code: str
    ) -> Response[bytes]:
        region = _region_code(code)
        cached = await state.public.get(f"region:{code}", lambda c: results.region(c, region))
        if cached.version != version:
            return Response(
                f'{{"error":"Superseded","message":"version {version} is not current; the current one is '
                f'{cached.version} (see /api/v1/public/ppwp/version)"}}'.encode(),
                status_code=410,
                media_type="application/json",
            )
        return _answer(request, cached, IMMUTABLE)

    @get(
        "/api/v1/public/ppwp/tps/{code:str}",
        summary="A TPS: its published numbers, state, photos (public URL and SHA-256) and history",
    )
    async def tps(self, request: Request[Any, Any, Any], state: State, code: str) -> Response[bytes]:
        if level_of(code) is not Level.TPS:
            raise InvalidInput(f"{code} is not a TPS code: a TPS has 13 digits")
        return _answer(request, await state.public.get(f"tps:{code}", lambda c: results.tps(c, code)))

    @get(
        "/api/v1/public/photos/{sha256:str}",
        summary="A photo of a published TPS's form",
        media_type="image/jpeg",
    )
    async def photo(self, db: asyncpg.Connection, state: State, sha256: str) -> Response[bytes]:
        row = await db.fetchrow(
            "SELECT p.media_type FROM photo p "
            "JOIN tps_result r ON r.tps_code = p.tps_code AND r.ballot = p.ballot "
            "WHERE p.sha256 = $1 AND r.state = 'published' LIMIT 1",
            sha256,
        )
        if row is None:
            raise NotFound("no published photo has this address")
        data = await asyncio.to_thread(state.photos.get, sha256)
        return Response(
            data, media_type=row["media_type"], headers={"Cache-Control": IMMUTABLE, "ETag": f'"{sha256}"'}
        )

    @get("/pemilu/hhcw/ppwp.json", summary="KPU-shaped national aggregate", include_in_schema=True)
    async def kpu_nation(self, request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        return _answer(request, await state.public.get("kpu:nation", lambda c: kpu.aggregate(c, None)))

    @get("/pemilu/hhcw/ppwp/{path:path}", summary="KPU-shaped region aggregate or TPS (…/{tps}.json)")
    async def kpu_node(self, request: Request[Any, Any, Any], state: State, path: str) -> Response[bytes]:
        code = kpu.path_code(_json_path(path))
        if level_of(code) is Level.TPS:
            return _answer(request, await state.public.get(f"kpu:tps:{code}", lambda c: kpu.tps(c, code)))
        return _answer(request, await state.public.get(f"kpu:{code}", lambda c: kpu.aggregate(c, code)))

    @get(
        "/wilayah/pemilu/ppwp/{path:path}",
        summary="KPU-shaped list of a region's children (0.json: provinces)",
    )
    async def kpu_wilayah(self, request: Request[Any, Any, Any], state: State, path: str) -> Response[bytes]:
        parts = _json_path(path)
        code = None if parts == ["0"] else kpu.path_code(parts)
        return _answer(request, await state.public.get(f"wilayah:{code}", lambda c: kpu.wilayah(c, code)))

    @get(
        "/api/v1/public/ppwp/export/{filename:str}",
        summary="One row per TPS of a province: its published numbers (streamed)",
        media_type="text/csv",
    )
    async def export_csv(self, state: State, filename: str) -> Stream:
        """``{province}.csv``, e.g. ``34.csv``."""
        province = filename.removesuffix(".csv")
        if province == filename:
            raise NotFound("exports are named {province code}.csv, e.g. 34.csv")
        if level_of(province) is not Level.PROVINSI:
            raise InvalidInput(f"{province} is not a province code (2 digits)")
        async with state.pool.acquire() as conn:
            if not await conn.fetchval("SELECT 1 FROM region WHERE code = $1", province):
                raise NotFound(f"province {province} is not in the registry")
        rows: AsyncIterator[bytes] = export.province_csv(state.pool, province)
        return Stream(
            rows,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="ppwp-{province}.csv"'},
        )


def _json_path(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or not parts[-1].endswith(".json"):
        raise NotFound("KPU's addresses end in .json")
    parts[-1] = parts[-1].removesuffix(".json")
    for part in parts:
        if part != "0":
            level_of(part)  # a malformed code is a 400 saying what is wrong
    return parts
