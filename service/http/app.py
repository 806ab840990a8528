"""The Litestar application: routes, dependencies, lifespan and the error mapping, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Request, Router, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, YamlRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import File
from litestar.template.config import TemplateConfig

from service.audit.api import AuditController
from service.db.migrations import discover
from service.db.pool import create_pool
from service.db.redis import redis_client
from service.http.auth import provide_current_user
from service.http.bodies import JSON_BODY_LIMIT, PHOTO_ROUTE, BodyDeadline, JsonBodyRequest, upload_body_limit
from service.http.connections import provide_db
from service.http.errors import HANDLERS
from service.http.headers import security_headers
from service.http.health import health, live
from service.photos.api import PhotoController
from service.photos.queue import OcrQueue
from service.photos.storage import PhotoStore
from service.public.api import PublicController
from service.public.cache import PublicCache
from service.public.fastpath import FastPath
from service.recap.api import RecapController
from service.regions.api import RegionController
from service.review.api import ReviewController
from service.settings import Settings
from service.users.api import AuthController
from service.web import pages

SCHEMA = "/schema"
REDOC_VERSION = "2.5.4"
REDOC = Path(pages.__file__).parent / "vendor" / "redoc" / "redoc.standalone.js"
"""Redoc's bundle, vendored with its licences (service/web/vendor/redoc/SOURCE.md)."""


@get(
    f"/redoc-{REDOC_VERSION}.js",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(public=True, max_age=31536000, immutable=True),
)
def redoc_bundle() -> File:
    # The viewer runs sandboxed (an opaque origin, headers.py) and loads its script with
    # ``crossorigin``: a CORS request, which only a public file's ``*`` lets through.
    return File(
        REDOC,
        media_type="text/javascript; charset=utf-8",
        content_disposition_type="inline",
        headers={"Access-Control-Allow-Origin": "*"},
    )


class OfflineRedoc(RedocRenderPlugin):
    """Litestar's Redoc page with its script served by rekap, not by a CDN: /schema reads without
    internet (an office behind a firewall, a laptop at a recap plenary), and no other host's
    script runs there. Fonts are the browser's own."""

    def __init__(self) -> None:
        super().__init__(
            path=["/", "/redoc"],
            js_url=f"{SCHEMA}/redoc-{REDOC_VERSION}.js",
            google_fonts=False,
            favicon="",
        )

    def receive_router(self, router: Router) -> None:
        router.register(redoc_bundle)


def create_server(settings: Settings | None = None) -> BodyDeadline:
    """What the HTTP server runs: the application behind the public documents' fast path, each
    request's body held to its deadline (bodies.py)."""
    settings = settings or Settings.from_env()
    app = create_app(settings)
    return BodyDeadline(FastPath(app, app.state.public), grace_s=settings.body_timeout_seconds)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    public = PublicCache()

    @asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        app.state.migrations = discover()  # the files this code expects, read once
        app.state.pool = await create_pool(settings)
        app.state.redis = redis_client(settings)
        app.state.photos = PhotoStore(settings.storage_path)
        app.state.queue = OcrQueue(app.state.redis, settings.redis_prefix)
        replica = settings.database_read_url
        reads = await create_pool(settings, replica) if replica else None
        await public.start(app.state.pool, reads)
        try:
            yield
        finally:
            await public.stop()
            if reads is not None:
                await reads.close()
            await app.state.redis.aclose()
            await app.state.pool.close()

    return Litestar(
        route_handlers=[
            health,
            live,
            RegionController,
            AuthController,
            Router(
                "/",
                route_handlers=[PhotoController],
                request_class=Request,  # a photo is not JSON
                request_max_body_size=upload_body_limit(settings),
                opt={PHOTO_ROUTE: True},
            ),
            RecapController,
            ReviewController,
            PublicController,
            AuditController,
            pages.WebPages,
            pages.static_files(),
        ],
        template_config=TemplateConfig(
            directory=pages.TEMPLATES, engine=JinjaTemplateEngine, engine_callback=pages.configure
        ),
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
            "current_user": Provide(provide_current_user),
        },
        lifespan=[connections],
        before_send=[security_headers],  # every answer, errors of the router included (headers.py)
        state=State({"public": public}),
        # Every body but a photo's is JSON: small, and shallow (bodies.py).
        request_max_body_size=JSON_BODY_LIMIT,
        request_class=JsonBodyRequest,
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="rekap",
            version="1",
            description="Indonesian vote recapitulation: regions, photos of C.Hasil forms, checked results.",
            path=SCHEMA,
            # Only viewers whose files rekap serves: Litestar's others load theirs from CDNs.
            render_plugins=[OfflineRedoc(), JsonRenderPlugin(), YamlRenderPlugin()],
        ),
    )
