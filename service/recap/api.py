"""HTTP: recap officers record their level's D.Hasil; everyone in scope reads a region's totals."""

from __future__ import annotations

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter

from service.recap import d_hasil, totals
from service.recap.d_hasil import RecapRecorded
from service.users.model import User


class DHasil(msgspec.Struct, frozen=True):
    children: dict[str, dict[str, int]]
    """Per child region (a desa for a kecamatan's recap, ...), per field, the number on the form."""


class RecapController(Controller):
    path = "/api/v1/recap"
    tags = ["recap"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @post(
        "/{level:str}/{region:str}/ppwp",
        summary="Record the D.Hasil of a kecamatan, kabupaten/kota, provinsi or the nation",
        description=(
            "level: kecamatan (PPK), kabkota, provinsi or nasional (region 'nasional'). Each number is "
            "compared with the sum of the published TPS numbers under its child region; the answer lists "
            "every difference with the TPS that explain it."
        ),
        status_code=201,
    )
    async def record(
        self,
        db: asyncpg.Connection,
        current_user: User,
        data: DHasil,
        level: str = Parameter(description="kecamatan, kabkota, provinsi or nasional"),
        region: str = Parameter(description="the region's code, or 'nasional'"),
    ) -> RecapRecorded:
        return await d_hasil.record(db, current_user, level, region, data.children)

    @get(
        "/totals/{region:str}",
        summary="A region's totals of published numbers and its progress ('nasional' for the nation)",
    )
    async def region_totals(
        self, db: asyncpg.Connection, current_user: User, region: str
    ) -> totals.RegionTotals:
        """Published numbers are public; the cached public API (and its formats) come separately."""
        return await totals.region_totals(db, None if region == d_hasil.NATION else region)
