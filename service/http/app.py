"""The Litestar application: routes, dependencies, lifespan and the error mapping, wired once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from service.db.migrations import discover
from service.db.pool import create_pool
from service.http.auth import provide_current_user
from service.http.errors import HANDLERS
from service.http.health import health
from service.regions.api import RegionController
from service.settings import Settings
from service.users.api import AuthController


async def provide_db(state: State) -> AsyncIterator[asyncpg.Connection]:
    async with state.pool.acquire(timeout=10) as conn:
        yield conn


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def connections(app: Litestar) -> AsyncIterator[None]:
        app.state.migrations = discover()  # the files this code expects, read once
        app.state.pool = await create_pool(settings)
        app.state.redis = aioredis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            yield
        finally:
            await app.state.redis.aclose()
            await app.state.pool.close()

    return Litestar(
        route_handlers=[health, RegionController, AuthController],
        dependencies={
            "db": Provide(provide_db),
            "settings": Provide(lambda: settings, sync_to_thread=False, use_cache=True),
            "current_user": Provide(provide_current_user),
        },
        lifespan=[connections],
        exception_handlers=HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="rekap",
            version="1",
            description="Indonesian vote recapitulation: regions, photos of C.Hasil forms, checked results.",
            path="/schema",
        ),
    )
