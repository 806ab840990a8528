"""The web pages: public results (rendered on the server, no script), and the KPPS's and the recap
officers' pages, whose small scripts call the same JSON API as everyone else with the user's token.

Pages are mobile-first and small: one stylesheet, one script per page, no framework, no build step.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, Response, Router, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

from service.errors import InvalidInput
from service.public import documents
from service.public.cache import CACHE_CONTROL, NATION, PublicCache
from service.public.results import RegionResult, TpsResult
from service.regions import search
from service.regions.codes import Level, level_of, tps_code
from service.regions.store import RegionRef, path_of
from service.times import wib
from service.web import labels, province_map

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
PAGES = ("/hasil", "/kpps", "/petugas")
"""Paths answered with HTML, errors included."""

STATIC_CACHE = CacheControlHeader(public=True, max_age=3600)
SERVICE_WORKER = (STATIC / "sw.js").read_bytes()
"""Served at /sw.js, not under /static: a service worker controls only the paths under its own."""
LABELS_JSON = msgspec.json.encode({"field": labels.FIELD, "state": labels.STATE}).decode()


def _angka(n: int) -> str:
    """12.345.678: Indonesian digit grouping."""
    return f"{n:,}".replace(",", ".")


def _persen(share: float) -> str:
    return f"{share * 100:.2f}".replace(".", ",") + "%"


def _judul(text: str) -> str:
    """A heading's first letter in capitals, the rest as written ("TPS" stays "TPS")."""
    return text[:1].upper() + text[1:]


def _waktu(at: datetime) -> str:
    return wib(at, date=True)


def configure(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update(angka=_angka, persen=_persen, judul=_judul, waktu=_waktu)


def _level(label: str) -> Level:
    return Level[label.upper()]


class WebPages(Controller):
    include_in_schema = False

    @get("/")
    async def home(self) -> Redirect:
        return Redirect("/hasil")

    @get("/hasil")
    async def nation(self, state: State, db: NamedDependency[asyncpg.Connection]) -> Template:
        return await self._results(state.public, db, NATION)

    @get("/hasil/cari")
    async def search(
        self, db: NamedDependency[asyncpg.Connection], q: FromQuery[str] = ""
    ) -> Template | Redirect:
        """A place by code or name; a code that names one place opens its page."""
        context: dict[str, Any] = {"q": q, "found": [], "problem": None, "limit": search.LIMIT}
        if not q.strip():
            return Template("cari.html", context=context)
        try:
            found = await search.search(db, q)
        except InvalidInput as problem:
            context["problem"] = problem.message
            return Template("cari.html", context=context, status_code=400)
        if search.as_code(q) and len(found) == 1:
            return Redirect(f"/hasil/{found[0].code}")
        context["found"] = found
        return Template("cari.html", context=context, status_code=200 if found else 404)

    @get("/hasil/{code:str}")
    async def results(
        self, state: State, db: NamedDependency[asyncpg.Connection], code: FromPath[str]
    ) -> Template:
        level_of(code)  # a malformed code is a 400 saying what is wrong with it
        return await self._results(state.public, db, code)

    async def _results(self, cache: PublicCache, db: asyncpg.Connection, code: str) -> Template:
        path = [] if code == NATION else await path_of(db, code)
        headers = {"Cache-Control": CACHE_CONTROL}
        if code != NATION and level_of(code) is Level.TPS:
            tps = msgspec.json.decode((await cache.get(*documents.tps(code))).body, type=TpsResult)
            context = {"tps": tps, "path": path, "labels": labels}
            return Template("tps.html", context=context, headers=headers)
        region = msgspec.json.decode((await cache.get(*documents.region(code))).body, type=RegionResult)
        level = _level(region.level)
        context = {
            "region": region,
            "path": path,
            "level": level.title,
            "child_level": Level(level + 1).title,
            "self_ref": RegionRef(code=code, name=region.name, level=region.level),
        }
        if code == NATION:
            context["map"] = province_map.shades(region.children)
            context["pair_colour"] = province_map.PAIR_COLOUR
            context["map_width"], context["map_height"] = province_map.WIDTH, province_map.HEIGHT
        return Template("hasil.html", context=context, headers=headers)

    @get("/kpps")
    async def kpps(self) -> Template:
        return Template("kpps.html", context={"labels_json": LABELS_JSON})

    @get("/sw.js", include_in_schema=False, cache_control=CacheControlHeader(no_cache=True))
    async def service_worker(self) -> Response[bytes]:
        """The KPPS page's offline copy (static/sw.js); revalidated on every visit, so that a new
        version reaches the phones at once."""
        return Response(SERVICE_WORKER, media_type="text/javascript")

    @get("/petugas")
    async def queue(self) -> Template:
        return Template("antrian.html", context={"labels_json": LABELS_JSON})

    @get("/petugas/tps/{code:str}")
    async def review(self, code: FromPath[str]) -> Template:
        return Template("tinjau.html", context={"labels_json": LABELS_JSON, "code": tps_code(code)})


def static_files() -> Router:
    """The pages' stylesheet and scripts, cached by browsers and the nginx in front for an hour."""
    return create_static_files_router(
        "/static", directories=[STATIC], cache_control=STATIC_CACHE, include_in_schema=False
    )


def wants_page(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path == "/" or any(path == p or path.startswith(p + "/") for p in PAGES)
