"""HTTP, no login: published results per region and TPS, in rekap's shape and in KPU's, with
ETag / If-None-Match, short shared caching, a version document, immutable versioned copies and a
live feed of what changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, ServerSentEvent, Stream
from litestar.response.sse import ServerSentEventMessage

from service.db.pool import acquire
from service.errors import InvalidInput, NotFound
from service.photos.storage import photo_address
from service.public import documents, examples, export, kpu, nist, photos
from service.public.cache import (
    CACHE_CONTROL,
    NATION,
    Cached,
    Change,
    PublicCache,
    changes_since,
    etag_matches,
    headers,
)
from service.public.documents import Document
from service.public.photos import PagePhoto, public_photo
from service.regions.codes import Level, level_of, tps_code
from service.regions.store import require_region
from service.settings import Settings

IMMUTABLE = "public, max-age=31536000, immutable"
REPLAY_MAX = 1000
"""Changes a reconnecting live-feed client is sent one by one; further behind, it is told to
reload everything."""
VERSION_MAX = 2**63 - 1
"""The largest data version (``public_change.version`` is a bigint)."""


def _answer(
    request: Request[Any, Any, Any], cached: Cached, cache_control: str = CACHE_CONTROL
) -> Response[bytes]:
    sent = headers(cached, cache_control)
    if etag_matches(request.headers.get("if-none-match"), cached.etag):
        return Response(b"", status_code=304, headers=sent)
    return Response(cached.body, media_type="application/json", headers=sent)


async def _current(request: Request[Any, Any, Any], document: Document) -> Response[bytes]:
    """The current document, remembered for the fast path under the request's path."""
    cache: PublicCache = request.app.state.public
    cached = await cache.get(*document)
    if not request.url.query:
        cache.remember(request.url.path, document.key)
    return _answer(request, cached)


def _region_code(code: str) -> str | None:
    if code == NATION:
        return None
    level_of(code)  # a malformed code is a 400 with what is wrong with it
    return code


async def _published_photo(db: asyncpg.Connection, sha256: str) -> PagePhoto:
    """The public photo with this address (``service.public.photos``), or ``NotFound``."""
    photo = await public_photo(db, photo_address(sha256))
    if photo is None:
        raise NotFound(
            "Tidak ada foto terbitan dengan alamat ini: foto hanya tampil setelah angka TPS-nya "
            "dipublikasikan.",
            detail="no published photo has this address",
        )
    return photo


class PublicController(Controller):
    tags = ["public results"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/api/v1/public/ppwp/version",
        summary="The data version: poll this, fetch what changed",
        responses=examples.VERSION_RESPONSES,
    )
    async def version(self, request: Request[Any, Any, Any], state: State) -> Response[bytes]:
        version = state.public.version
        cached = Cached(f'{{"version":{version}}}'.encode(), f'"v{version}"', version)
        return _answer(request, cached, "public, max-age=1")

    @get(
        "/api/v1/public/ppwp/regions/{code:str}",
        summary="A region ('nasional' for Indonesia): pairs' votes and shares, valid and invalid votes, "
        "progress, and its children's summaries; published numbers only",
        responses=examples.REGION_RESPONSES,
    )
    async def region(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Response[bytes]:
        _region_code(code)
        return await _current(request, documents.region(code))

    @get(
        "/api/v1/public/ppwp/v/{version:int}/regions/{code:str}",
        summary="The same as an immutable document of one data version; an older version than the "
        "region's current document redirects to that document's own address",
        status_code=200,
        responses=examples.REGION_RESPONSES,
    )
    async def versioned_region(
        self, request: Request[Any, Any, Any], state: State, version: FromPath[int], code: FromPath[str]
    ) -> Response[bytes] | Redirect:
        _region_code(code)
        cache: PublicCache = state.public
        if version > cache.version:
            await cache.refresh()  # another API process may have seen it first
            if version > cache.version:
                raise NotFound(
                    f"Versi data {version} belum ada; versi terbaru adalah {cache.version}.",
                    detail=f"version {version} does not exist yet; the current one is {cache.version}",
                )
        cached = await cache.get(*documents.region(code))
        if cached.version > version:
            # The region may have changed after that version; its current document has an address too.
            return Redirect(f"/api/v1/public/ppwp/v/{cached.version}/regions/{code}", status_code=307)
        return _answer(request, cached, IMMUTABLE)

    @get(
        "/api/v1/public/ppwp/changes",
        summary="Live feed (Server-Sent Events): each published change as its version and the regions "
        "and TPS it touched; ?region=CODE keeps only those under it. Reconnecting with Last-Event-ID "
        "(or ?since=VERSION) first replays what was missed.",
        media_type="text/event-stream",
        responses=examples.FEED_RESPONSES,
    )
    async def changes(
        self,
        request: Request[Any, Any, Any],
        state: State,
        settings: NamedDependency[Settings],
        region: FromQuery[str | None] = None,
        since: FromQuery[int | None] = None,
    ) -> ServerSentEvent:
        prefix = "" if region in (None, NATION) else region
        if prefix:
            level_of(prefix)
        last = request.headers.get("last-event-id")
        if last is not None:
            since = _version_seen(last, "Last-Event-ID")
        elif since is not None:
            since = _version_seen(str(since), "since")
        return ServerSentEvent(_feed(state.public, prefix, since, settings.feed_keepalive_seconds))

    @get(
        "/api/v1/public/ppwp/tps/{code:str}",
        summary="A TPS: its published numbers, state, photos (public URL and SHA-256) and history",
        responses=examples.TPS_RESPONSES,
    )
    async def tps(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Response[bytes]:
        return await _current(request, documents.tps(tps_code(code)))

    @get(
        "/api/v1/public/photos/{sha256:str}",
        summary="A photo of a published TPS's form",
        media_type="image/jpeg",
        responses=examples.PHOTO_RESPONSES,
    )
    async def photo(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[asyncpg.Connection],
        state: State,
        sha256: FromPath[str],
    ) -> Response[bytes]:
        """Only a page a published TPS's numbers were published with (``service.public.photos``)."""
        photo = await _published_photo(db, sha256)
        sent = {"Cache-Control": IMMUTABLE, "ETag": f'"{sha256}"'}
        if etag_matches(request.headers.get("if-none-match"), sent["ETag"]):
            return Response(b"", status_code=304, headers=sent)
        data = await asyncio.to_thread(state.photos.get, sha256)
        return Response(data, media_type=photo.media_type, headers=sent)

    @get(
        "/api/v1/public/photos/{sha256:str}/kecil",
        summary="The same photo shown small: at most 440 pixels on its longer side, a JPEG of about "
        "13 KB, for lists and phones",
        media_type="image/jpeg",
        responses=examples.PHOTO_RESPONSES,
    )
    async def thumbnail(
        self,
        request: Request[Any, Any, Any],
        db: NamedDependency[asyncpg.Connection],
        state: State,
        sha256: FromPath[str],
    ) -> Response[bytes] | Redirect:
        """Made the first time it is asked for and kept (``service.public.photos.thumbnail``); a
        photo that cannot be decoded has nothing smaller than itself, so it is sent instead."""
        await _published_photo(db, sha256)
        sent = {"Cache-Control": IMMUTABLE, "ETag": f'"{sha256}-kecil"'}
        if etag_matches(request.headers.get("if-none-match"), sent["ETag"]):
            return Response(b"", status_code=304, headers=sent)
        data = await photos.thumbnail(state.photos, sha256)
        if data is None:
            return Redirect(f"/api/v1/public/photos/{sha256}", status_code=307, media_type="text/plain")
        return Response(data, media_type="image/jpeg", headers=sent)

    @get(
        "/pemilu/hhcw/ppwp.json",
        summary="KPU-shaped national aggregate",
        include_in_schema=True,
        responses=examples.KPU_AGGREGATE_RESPONSES,
    )
    async def kpu_nation(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _current(request, Document("kpu:nation", NATION, lambda c: kpu.aggregate(c, None)))

    @get(
        "/pemilu/hhcw/ppwp/{path:path}",
        summary="KPU-shaped region aggregate or TPS (…/{tps}.json)",
        responses=examples.KPU_NODE_RESPONSES,
    )
    async def kpu_node(
        self, request: Request[Any, Any, Any], settings: NamedDependency[Settings], path: FromPath[str]
    ) -> Response[bytes]:
        code = kpu.path_code(_json_path(path))
        if level_of(code) is Level.TPS:
            base = settings.public_base
            return await _current(
                request, Document(f"kpu:tps:{code}", code, lambda c: kpu.tps(c, code, base))
            )
        return await _current(request, Document(f"kpu:{code}", code, lambda c: kpu.aggregate(c, code)))

    @get(
        "/wilayah/pemilu/ppwp/{path:path}",
        summary="KPU-shaped list of a region's children (0.json: provinces)",
        responses=examples.WILAYAH_RESPONSES,
    )
    async def kpu_wilayah(self, request: Request[Any, Any, Any], path: FromPath[str]) -> Response[bytes]:
        parts = _json_path(path)
        code = None if parts == ["0"] else kpu.path_code(parts)
        return await _current(
            request, Document(f"wilayah:{code}", code or NATION, lambda c: kpu.wilayah(c, code))
        )

    @get(
        "/api/v1/public/ppwp/export/{filename:str}",
        summary="One row per TPS of a province or kab/kota: its place (codes and names), its state and "
        "every published number of its form (streamed CSV)",
        media_type="text/csv",
        responses=examples.CSV_RESPONSES,
    )
    async def export_csv(
        self, db: NamedDependency[asyncpg.Connection], state: State, filename: FromPath[str]
    ) -> Stream:
        """``{province}.csv`` or ``{kab/kota}.csv``, e.g. ``34.csv``, ``3404.csv``."""
        code = _export_code(filename)
        await require_region(db, code)
        rows: AsyncIterator[bytes] = export.region_csv(state.pool, code)
        return Stream(
            rows,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="ppwp-{code}.csv"'},
        )

    @get(
        "/api/v1/public/ppwp/export/nist/{filename:str}",
        summary="NIST SP 1500-100 Election Results Reporting (JSON, version 2): an ElectionReport with "
        "the GpUnit tree down to each TPS and the published VoteCounts of every unit (streamed); "
        "nasional.json for Indonesia, {region code}.json for one region",
        media_type="application/json",
        responses=examples.NIST_RESPONSES,
    )
    async def export_nist(
        self, db: NamedDependency[asyncpg.Connection], state: State, filename: FromPath[str]
    ) -> Stream:
        code = filename.removesuffix(".json")
        if code == filename:
            raise NotFound(
                "Nama berkas ekspor NIST adalah kode wilayah diikuti .json, atau nasional.json, "
                "misalnya 34.json.",
                detail="NIST exports are named {region code}.json or nasional.json, e.g. 34.json",
            )
        region = _region_code(code)
        level = Level.NASIONAL if region is None else level_of(region)
        if level is Level.TPS:
            raise InvalidInput(
                f"Kode {code} adalah kode TPS: ekspor wilayahnya (desa {code[:10]}), atau buka /tps/{code}.",
                detail=f"{code} is a TPS; export its region (desa {code[:10]}) or ask /tps/{code}",
            )
        if region is not None:
            await require_region(db, region)
        return Stream(
            nist.election_report(state.pool, region, level),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="ppwp-{code}.nist.json"'},
        )


def _export_code(filename: str) -> str:
    """The province or kab/kota a CSV export is named after (``3404.csv`` → ``3404``)."""
    code = filename.removesuffix(".csv")
    if code == filename:
        raise NotFound(
            "Nama berkas ekspor adalah kode provinsi atau kabupaten/kota diikuti .csv, "
            "misalnya 34.csv atau 3404.csv.",
            detail="exports are named {province or kab/kota code}.csv, e.g. 34.csv or 3404.csv",
        )
    if level_of(code) not in (Level.PROVINSI, Level.KABKOTA):
        raise InvalidInput(
            f"Kode {code} bukan kode provinsi atau kabupaten/kota: ekspor CSV dibuat per provinsi "
            "(kode 2 angka) atau per kabupaten/kota (kode 4 angka).",
            detail=f"{code} is not a province (2 digits) or kab/kota (4 digits) code",
        )
    return code


def _version_seen(text: str, name: str) -> int:
    """The data version a reconnecting feed client says it has seen, in ASCII digits within a
    version's range: ``²`` is a digit to ``str.isdigit`` but not to ``int`` (a 500 before), ``int``
    reads ``٣`` as 3, and it refuses more than 4,300 digits, so the length is checked first."""
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(VERSION_MAX))
    if not digits or int(text) > VERSION_MAX:
        raise InvalidInput(
            f"{name} harus nomor versi data terakhir yang diterima: bilangan bulat 0 sampai {VERSION_MAX}, "
            f"tertulis dengan angka 0-9 saja",
            detail=f"{name} must be a data version: an integer from 0 to {VERSION_MAX} in ASCII digits",
        )
    return int(text)


def _json_path(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or not parts[-1].endswith(".json"):
        raise NotFound(
            "Alamat data bentuk KPU diakhiri .json, misalnya /pemilu/hhcw/ppwp/34.json.",
            detail="KPU's addresses end in .json",
        )
    parts[-1] = parts[-1].removesuffix(".json")
    for part in parts:
        if part != "0":
            level_of(part)  # a malformed code is a 400 saying what is wrong
    return parts


async def _feed(
    cache: PublicCache, prefix: str, since: int | None, keepalive_s: float
) -> AsyncIterator[ServerSentEventMessage]:
    """The changes after ``since`` from the database, then each new one as it is announced."""
    queue = cache.subscribe()
    try:
        version = cache.version
        yield _message(Change(version=version, regions=[], tps=[]), prefix, "version")
        if since is not None and version - REPLAY_MAX <= since < version:
            assert cache.pool is not None
            async with acquire(cache.pool) as conn:
                missed = await changes_since(conn, since, limit=version - since)
            for change in missed:
                if change.version <= version and (change.regions is None or _under(change.regions, prefix)):
                    yield _message(change, prefix)
        elif since is not None and since < version:
            # Too far behind to replay: tell the client to fetch everything again.
            yield _message(Change(version=version, regions=None, tps=None), prefix)
        while True:
            try:
                news = await asyncio.wait_for(queue.get(), keepalive_s)
            except TimeoutError:
                # data=None: Litestar's default data="" adds an empty "data:" line, which makes
                # every browser's EventSource fire an empty message event.
                yield ServerSentEventMessage(comment="keep-alive", data=None)
                continue
            if news is None:
                return
            if news.version > version and (news.regions is None or _under(news.regions, prefix)):
                version = news.version
                yield _message(news, prefix)
    finally:
        cache.unsubscribe(queue)


def _under(codes: list[str], prefix: str) -> bool:
    return not prefix or any(c.startswith(prefix) for c in codes)


def _message(change: Change, prefix: str, event: str = "change") -> ServerSentEventMessage:
    if prefix and change.regions is not None and change.tps is not None:
        change = Change(
            version=change.version,
            regions=[c for c in change.regions if c.startswith(prefix)],
            tps=[c for c in change.tps if c.startswith(prefix)],
        )
    return ServerSentEventMessage(data=msgspec.json.encode(change).decode(), event=event, id=change.version)
