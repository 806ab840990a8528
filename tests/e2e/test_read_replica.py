"""REKAP_DATABASE_READ_URL: the public documents and their versions come from the read replica,
everything else from the primary. A copy of the database taken before a publication stands in for
a replica that lags behind."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx

from service.recap.totals import apply_all
from service.regions.registry import import_registry
from tests.conftest import Server, scratch_database
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, record

FIRST, SECOND = "3404072001001", "3404072001002"


async def publish(url: str, tps: str, numbers: dict[str, int]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await record(conn, tps, numbers)
        await apply_all(conn, wait=True)
    finally:
        await conn.close()


async def test_public_documents_are_read_from_the_replica(
    template_db: str, tmp_path: Path, server_factory: type[Server]
) -> None:
    first, second = consistent(11), consistent(12)
    async with scratch_database(template=template_db) as primary:
        conn = await asyncpg.connect(primary)
        try:
            await import_registry(conn, kpu_registry(tmp_path))
        finally:
            await conn.close()
        await publish(primary, FIRST, first)
        name = primary.rsplit("/", 1)[1]
        async with scratch_database(template=name) as replica:
            await publish(primary, SECOND, second)  # not (yet) on the replica
            server = server_factory({"REKAP_DATABASE_URL": primary, "REKAP_DATABASE_READ_URL": replica})
            server.wait_until_listening()
            nation = httpx.get(server.url + "/api/v1/public/ppwp/regions/nasional", timeout=10).json()
            assert nation["suara_sah"] == first["suara_sah"], "the replica's totals, behind the primary's"
            assert nation["progress"]["tps_published"] == 1
            # The primary serves what is not a public document: the regions, logins, uploads.
            tps = httpx.get(server.url + f"/api/v1/public/ppwp/tps/{SECOND}", timeout=10).json()
            assert tps["numbers"] is None
            assert httpx.get(server.url + "/health", timeout=10).status_code == 200
            alone = server_factory({"REKAP_DATABASE_URL": primary})  # no replica: the primary's
            alone.wait_until_listening()
            both = httpx.get(alone.url + "/api/v1/public/ppwp/regions/nasional", timeout=10).json()
            assert both["suara_sah"] == first["suara_sah"] + second["suara_sah"]
