"""HTTP: recap officers record their level's D.Hasil; a region's totals, its work in progress for
the officers of that region only."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from service.recap import d_hasil, totals
from service.recap.d_hasil import RecapRecorded
from service.users.model import User

RegionCode = Annotated[str, msgspec.Meta(max_length=13)]
FieldName = Annotated[str, msgspec.Meta(max_length=64)]
ChildNumbers = Annotated[dict[FieldName, int], msgspec.Meta(max_length=64)]


class DHasil(msgspec.Struct, frozen=True):
    children: Annotated[dict[RegionCode, ChildNumbers], msgspec.Meta(max_length=1000)]
    """Per child region (a desa for a kecamatan's recap, ...), per field, the number on the form."""


class RecapTotals(msgspec.Struct, frozen=True, kw_only=True):
    """A region's totals as a login may see them. The published numbers and the counts of TPS
    expected and published are public (the public documents carry them); how many TPS are
    received, verified, held for review or reviewed is work in progress, shown to the officers
    whose area covers the region and to administrators, and null for anyone else."""

    code: str
    ballot: str
    numbers: dict[str, int]
    tps_expected: int
    tps_published: int
    tps_received: int | None
    tps_verified: int | None
    tps_needs_review: int | None
    tps_reviewed: int | None


def as_seen_by(user: User, region: totals.RegionTotals) -> RecapTotals:
    covered = user.covers(region.code)  # the nation's code is "": an admin's or KPU RI's

    def in_progress(count: int) -> int | None:
        return count if covered else None

    return RecapTotals(
        code=region.code,
        ballot=region.ballot,
        numbers=region.numbers,
        tps_expected=region.tps_expected,
        tps_published=region.tps_published,
        tps_received=in_progress(region.tps_received),
        tps_verified=in_progress(region.tps_verified),
        tps_needs_review=in_progress(region.tps_needs_review),
        tps_reviewed=in_progress(region.tps_reviewed),
    )


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
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        data: JSONBody[DHasil],
        level: str = Parameter(description="kecamatan, kabkota, provinsi or nasional"),
        region: str = Parameter(description="the region's code, or 'nasional'"),
    ) -> RecapRecorded:
        return await d_hasil.record(db, current_user, level, region, data.children)

    @get(
        "/totals/{region:str}",
        summary="A region's totals of published numbers and its progress ('nasional' for the nation)",
        description=(
            "tps_received, tps_verified, tps_needs_review and tps_reviewed are null unless the login "
            "is an administrator's or a recap officer's whose area covers the region."
        ),
    )
    async def region_totals(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        region: FromPath[str],
    ) -> RecapTotals:
        found = await totals.region_totals(db, None if region == d_hasil.NATION else region)
        return as_seen_by(current_user, found)
