"""Crops of each field's boxes for the review screen, through a real server and OCR worker: photos
sent by the KPPS, read by the worker, cut where the reader found the boxes."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import redis

from ocr.form import PAGE_OF
from service.regions.registry import import_registry
from service.results import workflow
from service.users.model import Role
from service.users.store import upsert_user
from tests.conftest import BASE, Synthetic, WorkerProcess, bearer, scratch_database, serving
from tests.ocr.test_crop import FRAMED, frame_contrast, image
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, decoded, decoding

PHOTOGRAPHED = "3404072001001"
UNPHOTOGRAPHED = "3404072001002"
"""Its numbers were recorded without photos."""
PASSWORD = "crops-pass-1"


@pytest.fixture(scope="module")
async def crops_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("crops")))
            for username, region in (("ppk.depok", "340407"), ("ppk.jagakarsa", "317101")):
                await upsert_user(
                    conn,
                    username=username,
                    display_name=username,
                    role=Role.OFFICER,
                    secret=PASSWORD,
                    scope_region=region,
                )
            await upsert_user(
                conn,
                username=f"kpps.{PHOTOGRAPHED}",
                display_name="KPPS",
                role=Role.KPPS,
                secret=PASSWORD,
                tps_code=PHOTOGRAPHED,
            )
            numbers = decoding(consistent(3))
            await workflow.record_decoding(conn, UNPHOTOGRAPHED, numbers, await decoded(conn, UNPHOTOGRAPHED))
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def env(crops_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    prefix = f"test-crops-{uuid.uuid4().hex[:8]}"
    yield {
        "REKAP_DATABASE_URL": crops_db,
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("crops-photos")),
        "REKAP_REDIS_PREFIX": prefix,
    }
    client = redis.Redis.from_url(BASE.redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="module")
def api(env: dict[str, str]) -> Iterator[httpx.Client]:
    with serving(env) as client:
        yield client


def login(api: httpx.Client, username: str) -> dict[str, str]:
    return bearer(api, username, PASSWORD)


@pytest.fixture(scope="module")
def officer(api: httpx.Client, env: dict[str, str], synthetic: Synthetic) -> dict[str, str]:
    """An officer of the area, once the three photos of the TPS are sent and read."""
    worker = WorkerProcess(env)  # starting while the photos are sent
    try:
        kpps = login(api, f"kpps.{PHOTOGRAPHED}")
        for path in synthetic.photos(sorted(synthetic.values)[0]):
            sent = api.post(
                f"/api/v1/tps/{PHOTOGRAPHED}/ppwp/photos",
                content=path.read_bytes(),
                headers={**kpps, "Content-Type": "image/jpeg"},
            )
            assert sent.status_code == 201, sent.text
        deadline = time.monotonic() + 90
        while True:
            pages = api.get(f"/api/v1/tps/{PHOTOGRAPHED}/ppwp", headers=kpps).json()["pages"]
            if len(pages) == 3 and all(p["state"] in ("published", "needs_review") for p in pages):
                break
            assert time.monotonic() < deadline, f"the worker did not read and decode the photos: {pages}"
            time.sleep(0.2)
    finally:
        worker.stop()
        worker.log.unlink(missing_ok=True)
    return login(api, "ppk.depok")


def test_the_review_detail_gives_a_crop_of_every_field_read_from_a_photo(
    api: httpx.Client, officer: dict[str, str]
) -> None:
    detail = api.get(f"/api/v1/review/{PHOTOGRAPHED}", headers=officer).json()
    assert list(detail["crops"]) == list(PAGE_OF), "every field, in the form's order"
    assert detail["crops"]["suara_sah"].startswith(f"/api/v1/review/{PHOTOGRAPHED}/crops/suara_sah?photo=")
    assert api.get(detail["crops"]["suara_sah"], headers=officer).headers["content-type"] == "image/jpeg"
    assert len(detail["photos"]) == 3
    # What each field's boxes read, best first, beside its crop.
    assert list(detail["alternatives"]) == list(detail["crops"])
    read = {f["name"]: f["read"] for f in detail["fields"]}
    for name, readings in detail["alternatives"].items():
        assert readings[0][0] == read[name], name
        assert all(0 <= p <= 1 for _, p in readings)
    without = api.get(f"/api/v1/review/{UNPHOTOGRAPHED}", headers=officer).json()
    assert without["crops"] == {} == without["alternatives"] and without["numbers"]


def test_a_crop_is_a_jpeg_of_the_field_s_boxes(api: httpx.Client, officer: dict[str, str]) -> None:
    for field in ("pemilih_dpt_l", "suara_paslon_2", "suara_sah"):
        response = api.get(f"/api/v1/review/{PHOTOGRAPHED}/crops/{field}", headers=officer)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "private, max-age=3600"
        assert image(response.content).shape[0] == 96
        assert frame_contrast(response.content) > FRAMED, field


def test_crops_only_for_officers_of_the_area(api: httpx.Client, officer: dict[str, str]) -> None:
    path = f"/api/v1/review/{PHOTOGRAPHED}/crops/suara_sah"
    outsider = api.get(path, headers=login(api, "ppk.jagakarsa"))
    assert outsider.status_code == 403 and PHOTOGRAPHED in outsider.json()["message"]
    assert api.get(path, headers=login(api, f"kpps.{PHOTOGRAPHED}")).status_code == 403
    assert api.get(path).status_code == 401
    assert api.get("/api/v1/review/340407200100/crops/suara_sah", headers=officer).status_code == 400


def test_a_crop_that_does_not_exist_is_named(api: httpx.Client, officer: dict[str, str]) -> None:
    unknown = api.get(f"/api/v1/review/{PHOTOGRAPHED}/crops/suara_paslon_4", headers=officer)
    assert unknown.status_code == 404
    assert "'suara_paslon_4'" in unknown.json()["message"] and "suara_paslon_3" in unknown.json()["detail"]
    missing = api.get(f"/api/v1/review/{UNPHOTOGRAPHED}/crops/suara_sah", headers=officer)
    assert missing.status_code == 404 and "no photo of page 3" in missing.json()["detail"]
    assert "foto halaman 3" in missing.json()["message"] and "Jumlah suara sah" in missing.json()["message"]
