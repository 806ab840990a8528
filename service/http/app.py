"""The Litestar application: routes, dependencies, lifespan and the error mapping, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
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
            path="/schema",
        ),
    )
