"""The newsrooms' CSV exports through a real server: one per province and per kab/kota, each TPS
with its place's codes and names, its state in Bahasa Indonesia and every field of the form, the
numbers of published TPS only."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from ocr.form import FIELDS
from service.regions.registry import import_registry
from service.results import workflow
from tests.conftest import scratch_database, serving
from tests.registry_files import KPU_ROWS, kpu_registry
from tests.tps_numbers import consistent, decoded, decoding, record

PUBLISHED = "3404072001001"
HELD = "3404072001002"
"""Read with a number that breaks the form's arithmetic: waiting for an officer."""
MISSING = "3404072001003"
"""No photo yet: no result row."""
KOTA = "3471011001001"
"""Published, in another kab/kota of the same province."""
MISREAD = consistent(2)["suara_paslon_1"] + 500
EVERY_FIELD = {name for names in FIELDS.values() for name in names}
PLACE = [
    "kode_provinsi",
    "nama_provinsi",
    "kode_kabkota",
    "nama_kabkota",
    "kode_kecamatan",
    "nama_kecamatan",
    "kode_desa",
    "nama_desa",
    "kode_tps",
    "nama_tps",
]
ROWS = [
    *KPU_ROWS,
    ["3471", "KOTA YOGYAKARTA", "13", "2", "34"],
    ["347101", "MANTRIJERON", "14", "3", "3471"],
    ["3471011001", "GEDONGKIWO", "15", "4", "347101"],
    [KOTA, "TPS 001", "16", "5", "3471011001"],
]


@pytest.fixture(scope="module")
async def export_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("export"), ROWS))
            await record(conn, PUBLISHED, consistent(1))
            await record(conn, KOTA, consistent(3))
            misread = consistent(2) | {"suara_paslon_1": MISREAD}
            await workflow.record_decoding(conn, HELD, decoding(misread), await decoded(conn, HELD))
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def api(export_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    env = {
        "REKAP_DATABASE_URL": export_db,
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("export-photos")),
        "REKAP_REDIS_PREFIX": f"test-export-{uuid.uuid4().hex[:8]}",
    }
    with serving(env) as client:
        yield client


def exported(api: httpx.Client, code: str) -> tuple[httpx.Response, list[dict[str, str]]]:
    response = api.get(f"/api/v1/public/ppwp/export/{code}.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return response, list(csv.DictReader(io.StringIO(response.text)))


def test_the_header_names_the_place_the_state_and_every_field_of_the_form(api: httpx.Client) -> None:
    response, _ = exported(api, "34")
    header = next(csv.reader(io.StringIO(response.text)))
    assert header[: len(PLACE) + 1] == [*PLACE, "status"]
    assert set(header[len(PLACE) + 1 :]) == EVERY_FIELD and len(header) == len(set(header))
    assert {"surat_suara_diterima", "surat_suara_rusak", "disabilitas_j"} <= set(header)
    assert header[len(PLACE) + 1 : len(PLACE) + 4] == ["suara_paslon_1", "suara_paslon_2", "suara_paslon_3"]
    assert response.headers["content-disposition"] == 'attachment; filename="ppwp-34.csv"'


def test_each_tps_carries_its_places_codes_and_names(api: httpx.Client) -> None:
    _, rows = exported(api, "34")
    by_tps = {r["kode_tps"]: r for r in rows}
    assert list(by_tps) == [PUBLISHED, HELD, MISSING, KOTA]  # every TPS, in code order
    assert {k: by_tps[PUBLISHED][k] for k in PLACE} == {
        "kode_provinsi": "34",
        "nama_provinsi": "DAERAH ISTIMEWA YOGYAKARTA",
        "kode_kabkota": "3404",
        "nama_kabkota": "SLEMAN",
        "kode_kecamatan": "340407",
        "nama_kecamatan": "DEPOK",
        "kode_desa": "3404072001",
        "nama_desa": "CATURTUNGGAL",
        "kode_tps": PUBLISHED,
        "nama_tps": "TPS 001",
    }
    assert (by_tps[KOTA]["nama_kabkota"], by_tps[KOTA]["nama_desa"]) == ("KOTA YOGYAKARTA", "GEDONGKIWO")


def test_the_state_is_in_indonesian(api: httpx.Client) -> None:
    _, rows = exported(api, "3404")
    states = {r["kode_tps"]: r["status"] for r in rows}
    assert states == {
        PUBLISHED: "Dipublikasikan",
        HELD: "Perlu ditinjau petugas",
        MISSING: "Belum ada foto",
    }


def test_only_published_numbers_are_exported(api: httpx.Client) -> None:
    response, rows = exported(api, "34")
    by_tps = {r["kode_tps"]: r for r in rows}
    for tps, seed in ((PUBLISHED, 1), (KOTA, 3)):
        assert {name: by_tps[tps][name] for name in EVERY_FIELD} == {
            name: str(value) for name, value in consistent(seed).items()
        }
    for tps in (HELD, MISSING):
        assert {by_tps[tps][name] for name in EVERY_FIELD} == {""}, tps
    # Nothing the held TPS's reading holds is anywhere in the file.
    numbers = {int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", response.text)}
    assert MISREAD not in numbers


def test_a_kabkota_export_holds_only_its_own_tps(api: httpx.Client) -> None:
    response, rows = exported(api, "3471")
    assert [r["kode_tps"] for r in rows] == [KOTA]
    assert rows[0]["suara_sah"] == str(consistent(3)["suara_sah"])
    assert response.headers["content-disposition"] == 'attachment; filename="ppwp-3471.csv"'
    _, sleman = exported(api, "3404")
    assert {r["kode_kabkota"] for r in sleman} == {"3404"} and len(sleman) == 3


def test_unknown_and_malformed_codes_are_refused_in_indonesian(api: httpx.Client) -> None:
    for path, status, words in (
        ("35.csv", 404, "tidak ada dalam daftar wilayah"),
        ("3499.csv", 404, "tidak ada dalam daftar wilayah"),
        ("340407.csv", 400, "bukan kode provinsi atau kabupaten/kota"),
        ("34.04.csv", 400, "tanpa titik"),
        ("34", 404, "diikuti .csv"),
    ):
        response = api.get(f"/api/v1/public/ppwp/export/{path}")
        assert response.status_code == status, (path, response.text)
        assert words in response.json()["message"], (path, response.json())


def test_a_province_without_results_lists_its_tps_without_numbers(api: httpx.Client) -> None:
    _, rows = exported(api, "31")
    assert [r["kode_tps"] for r in rows] == ["3171011001001"]
    assert rows[0]["status"] == "Belum ada foto" and rows[0]["suara_sah"] == ""
