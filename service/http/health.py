"""``/health``: whether this API process can do its work (database, Redis, schema up to date), for
a load balancer's readiness; ``/health/live``: whether the process itself answers, for a restart
policy (a database outage is not cured by restarting the API)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from redis.exceptions import RedisError

from service.db.migrations import status
from service.db.pool import CONNECTION_ERRORS


class Check(msgspec.Struct, frozen=True):
    ok: bool
    detail: str


class Health(msgspec.Struct, frozen=True):
    status: str
    database: Check
    redis: Check
    migrations: Check


@get("/health", summary="Database and Redis reachable, migrations current", tags=["operations"])
async def health(state: State) -> Response[Health]:
    database, migrations = await _database(state)
    redis = await _redis(state)
    ok = database.ok and redis.ok and migrations.ok
    return Response(
        Health(
            status="ok" if ok else "unavailable",
            database=database,
            redis=redis,
            migrations=migrations,
        ),
        status_code=200 if ok else 503,
        headers={"Cache-Control": "no-store"},
    )


@get("/health/live", summary="The process answers (whatever its database and Redis)", tags=["operations"])
async def live() -> Response[dict[str, str]]:
    return Response({"status": "alive"}, headers={"Cache-Control": "no-store"})


async def _database(state: State) -> tuple[Check, Check]:
    try:
        async with state.pool.acquire(timeout=3) as conn:
            await conn.fetchval("SELECT 1")
            current = await status(conn, state.migrations)
    except CONNECTION_ERRORS as error:
        unknown = Check(ok=False, detail="unknown: the database is unreachable")
        return Check(ok=False, detail=f"unreachable: {error!r}"), unknown
    database = Check(ok=True, detail="reachable")
    if current.current:
        return database, Check(ok=True, detail=f"{len(current.applied)} applied, none pending")
    if not current.pending and not current.edited:
        # Migrations are additive: the code of the previous release keeps working during an upgrade.
        return database, Check(
            ok=True, detail=f"the database has newer migrations {current.missing}: an upgrade is under way"
        )
    return database, Check(
        ok=False,
        detail=f"pending {current.pending}, edited {current.edited}, unknown {current.missing}: "
        "run 'rekap db migrate'",
    )


async def _redis(state: State) -> Check:
    try:
        await state.redis.ping()
    except (RedisError, OSError) as error:
        return Check(ok=False, detail=f"unreachable: {error!r}")
    return Check(ok=True, detail="reachable")
