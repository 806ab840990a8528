"""HTTP: the region tree, from the nation down to each TPS."""

from __future__ import annotations

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from service.regions import store
from service.regions.store import RegionNode, TpsNode


class RegionController(Controller):
    path = "/api/v1/regions"
    tags = ["regions"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/", summary="Indonesia with its provinces")
    async def nation(self, db: NamedDependency[asyncpg.Connection]) -> RegionNode:
        return await store.nation(db)

    @get(
        "/{code:str}",
        summary="A region with its children (the TPS, for a desa/kelurahan), or one TPS",
    )
    async def region(
        self,
        db: NamedDependency[asyncpg.Connection],
        code: str = Parameter(
            description="KPU code without dots: provinsi 2 digits, kabupaten/kota 4, kecamatan 6, "
            "desa/kelurahan 10, TPS 13",
        ),
    ) -> RegionNode | TpsNode:
        return await store.node(db, code)
