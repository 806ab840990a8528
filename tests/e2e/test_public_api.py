"""The public results API through a real server: published numbers only, KPU's shapes, caching."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jsonschema
import pytest

from service.photos.storage import PhotoStore
from service.regions.registry import import_registry
from service.results import workflow
from tests.conftest import Server, free_port, rekap, scratch_database, shared
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, decoded, decoding, record

PUBLISHED = "3404072001001"
HELD = "3404072001002"
NEW = "3404072001003"
PHOTO = b"\xff\xd8 a photo of page 1 \xff\xd9"


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("public-storage")


@pytest.fixture(scope="module")
async def public_db(
    template_db: str, tmp_path_factory: pytest.TempPathFactory, storage: Path
) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("public")))
            user = await conn.fetchval(
                "INSERT INTO app_user (username, display_name, role, secret_hash) VALUES ('admin', 'A', 'admin', 'x') RETURNING id"
            )
            for tps, data in ((PUBLISHED, PHOTO), (HELD, PHOTO + b"2")):
                sha = PhotoStore(storage).put(data)
                photo = await conn.fetchval(
                    "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, state) "
                    "VALUES ($1, 'ppwp', $2, 'image/jpeg', $3, 1000, 1500, $4, 'read') RETURNING id",
                    tps,
                    sha,
                    len(data),
                    user,
                )
                await conn.execute(
                    "INSERT INTO photo_reading (photo_id, outcome, page, reading, reader_version, ms) VALUES ($1, 'page', 1, '{}', 't', 1)",
                    photo,
                )
            await record(conn, PUBLISHED, consistent(1))
            misread = consistent(2) | {"suara_paslon_1": consistent(2)["suara_paslon_1"] + 500}
            await workflow.record_decoding(conn, HELD, decoding(misread), await decoded(conn, HELD))
        finally:
            await conn.close()
        yield url


PUBLIC_BASE = "https://rekap.example.id"


def start(env: dict[str, str]) -> tuple[Server, httpx.Client]:
    server = Server(env)
    server.wait_until_listening()
    return server, httpx.Client(base_url=server.url, timeout=30)


@pytest.fixture(scope="module")
def api(public_db: str, storage: Path) -> Iterator[httpx.Client]:
    # Redis is unreachable on purpose: the public API must not need it.
    server, client = start(
        {
            "REKAP_DATABASE_URL": public_db,
            "REKAP_STORAGE_DIR": str(storage),
            "REKAP_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "REKAP_PUBLIC_BASE_URL": PUBLIC_BASE,
        }
    )
    with client:
        yield client
    server.stop()


def test_a_region_counts_only_published_numbers(api: httpx.Client) -> None:
    truth = consistent(1)
    nation = api.get("/api/v1/public/ppwp/regions/nasional")
    assert nation.status_code == 200, nation.text
    body = nation.json()
    assert [c["votes"] for c in body["candidates"]] == [
        truth["suara_paslon_1"],
        truth["suara_paslon_2"],
        truth["suara_paslon_3"],
    ]
    assert body["suara_sah"] == truth["suara_sah"]
    assert body["progress"] == {"tps_expected": 4, "tps_published": 1, "share": 0.25}
    assert abs(sum(c["share"] for c in body["candidates"]) - 1) < 0.001
    desa = api.get("/api/v1/public/ppwp/regions/3404072001").json()
    children = {c["code"]: c for c in desa["children"]}
    assert children[HELD]["votes"] == [0, 0, 0] and children[HELD]["progress"]["tps_published"] == 0
    assert children[PUBLISHED]["suara_sah"] == truth["suara_sah"]


def test_a_tps_shows_numbers_and_photos_only_once_published(api: httpx.Client) -> None:
    held = api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()
    assert held["published"] is False and held["numbers"] is None and held["photos"] == []
    assert held["state"] == "needs_review"
    assert all(e["numbers_after"] == {} and e["numbers_before"] is None for e in held["history"])
    assert consistent(2)["suara_paslon_1"] + 500 not in numbers_in(held)
    shown = api.get(f"/api/v1/public/ppwp/tps/{PUBLISHED}").json()
    assert shown["numbers"] == consistent(1)
    (photo,) = shown["photos"]
    assert api.get(photo["url"]).content == PHOTO
    assert [e["to_state"] for e in shown["history"]] == ["received", "read", "verified", "published"]
    unpublished_photo = api.get(
        f"/api/v1/public/photos/{__import__('hashlib').sha256(PHOTO + b'2').hexdigest()}"
    )
    assert unpublished_photo.status_code == 404


def test_kpu_shapes_match_the_real_samples(api: httpx.Client) -> None:
    with gzip.open(shared("sirekap_raw_sample/hhcw_ppwp_tps_sample.jsonl.gz"), "rt") as handle:
        sample = json.loads(handle.readline())
    ours = api.get(f"/pemilu/hhcw/ppwp/34/3404/340407/3404072001/{PUBLISHED}.json").json()
    assert set(ours) == set(sample) - {"kode_tps"}
    assert set(ours["chart"]) == set(sample["chart"])
    assert set(ours["administrasi"]) == set(sample["administrasi"])
    assert ours["chart"]["100025"] == consistent(1)["suara_paslon_1"]
    # Absolute, under the configured public address, as KPU's were; and the photo is there.
    assert ours["images"][0].startswith(f"{PUBLIC_BASE}/api/v1/public/photos/")
    assert api.get(ours["images"][0].removeprefix(PUBLIC_BASE)).status_code == 200
    held = api.get(f"/pemilu/hhcw/ppwp/34/3404/340407/3404072001/{HELD}.json").json()
    assert held["administrasi"] is None and held["chart"]["100025"] is None and held["status_suara"] is False
    national = json.loads(shared("kpu_wilayah_sirekap/sirekap_ppwp_nationwide_20240403.json").read_text())[
        "raw_data"
    ]
    aggregate = api.get("/pemilu/hhcw/ppwp.json").json()
    assert set(aggregate) == set(national)
    assert set(aggregate["chart"]) == set(national["chart"]) and set(aggregate["progres"]) == set(
        national["progres"]
    )
    assert set(aggregate["table"]["34"]) == set(national["table"]["11"])
    province = api.get("/pemilu/hhcw/ppwp/34.json").json()
    assert set(province["table"]) == {"3404"}
    wilayah = api.get("/wilayah/pemilu/ppwp/34/3404/340407/3404072001.json").json()
    assert {w["kode"] for w in wilayah} == {"3404072001001", "3404072001002", "3404072001003"}
    assert set(wilayah[0]) == {"nama", "id", "kode", "tingkat"}
    assert [w["kode"] for w in api.get("/wilayah/pemilu/ppwp/0.json").json()] == ["31", "34"]


def test_etag_and_304(api: httpx.Client) -> None:
    first = api.get("/api/v1/public/ppwp/regions/34")
    etag = first.headers["etag"]
    assert (
        "max-age" in first.headers["cache-control"]
        and "stale-while-revalidate" in first.headers["cache-control"]
    )
    again = api.get("/api/v1/public/ppwp/regions/34", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # Answered from memory ahead of the router: the same document with the same headers.
    held = api.get("/api/v1/public/ppwp/regions/34")
    assert held.content == first.content
    for header in ("etag", "cache-control", "content-type", "x-data-version", "content-length"):
        assert held.headers[header] == first.headers[header], header
    version = api.get("/api/v1/public/ppwp/version").json()["version"]
    pinned = api.get(f"/api/v1/public/ppwp/v/{version}/regions/34")
    assert pinned.status_code == 200 and "immutable" in pinned.headers["cache-control"]
    assert json.loads(pinned.content)["version"] <= version
    older = api.get(f"/api/v1/public/ppwp/v/{version - 1}/regions/34")
    assert older.status_code == 307
    assert older.headers["location"] == f"/api/v1/public/ppwp/v/{version}/regions/34"
    future = api.get(f"/api/v1/public/ppwp/v/{version + 1}/regions/34")
    assert future.status_code == 404 and f"Versi data {version + 1} belum ada" in future.json()["message"]


async def test_a_publication_reaches_the_answers_and_the_live_feed(api: httpx.Client, public_db: str) -> None:
    """No worker runs here: the API process applies the totals itself and announces the change."""
    before = api.get("/api/v1/public/ppwp/regions/3404")
    first_version = api.get("/api/v1/public/ppwp/version").json()["version"]
    async with (
        httpx.AsyncClient(base_url=str(api.base_url), timeout=30) as client,
        client.stream("GET", "/api/v1/public/ppwp/changes", params={"region": "3404"}) as feed,
    ):
        events = sse_events(feed)
        hello = await anext(events)
        assert hello["event"] == "version" and hello["data"]["version"] == first_version
        conn = await asyncpg.connect(public_db)
        try:
            await record(conn, NEW, consistent(3))
        finally:
            await conn.close()
        expected = consistent(1)["suara_sah"] + consistent(3)["suara_sah"]
        seen = []
        while True:  # the TPS's arrival and its publication may be announced apart
            change = await asyncio.wait_for(anext(events), 10)
            assert (
                change["event"] == "change" and int(change["id"]) == change["data"]["version"] > first_version
            )
            assert change["data"]["tps"] == [NEW]
            assert change["data"]["regions"] == ["3404", "340407", "3404072001"]  # only those under ?region
            seen.append(change["data"]["version"])
            after = api.get("/api/v1/public/ppwp/regions/3404")  # dropped before the event was sent
            if after.json()["suara_sah"] == expected:
                break
    assert seen == sorted(seen) and len(seen) <= 2
    assert api.get("/api/v1/public/ppwp/version").json()["version"] == seen[-1]
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["version"] == seen[-1]
    assert (
        api.get(
            "/api/v1/public/ppwp/regions/3404", headers={"If-None-Match": before.headers["etag"]}
        ).status_code
        == 200
    )
    # A client that was away replays what it missed, from Last-Event-ID.
    async with (
        httpx.AsyncClient(base_url=str(api.base_url), timeout=30) as client,
        client.stream(
            "GET", "/api/v1/public/ppwp/changes", headers={"Last-Event-ID": str(first_version)}
        ) as feed,
    ):
        events = sse_events(feed)
        assert (await anext(events))["event"] == "version"
        missed = [(await asyncio.wait_for(anext(events), 10))["data"] for _ in seen]
    assert missed == [
        {"version": v, "regions": ["34", "3404", "340407", "3404072001", "nasional"], "tps": [NEW]}
        for v in seen
    ]


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The events of a Server-Sent Events stream, with ``data`` decoded from JSON."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            event[name] = json.loads(value) if name == "data" else value


def numbers_in(document: Any) -> set[int]:
    if isinstance(document, dict):
        return set().union(*(numbers_in(v) for v in document.values())) if document else set()
    if isinstance(document, list):
        return set().union(*(numbers_in(v) for v in document)) if document else set()
    return {document} if isinstance(document, int) and not isinstance(document, bool) else set()


def test_the_province_export_streams_every_tps_with_published_numbers_only(api: httpx.Client) -> None:
    response = api.get("/api/v1/public/ppwp/export/34.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = {r["kode_tps"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {"3404072001001", "3404072001002", "3404072001003"}
    assert rows[PUBLISHED]["suara_sah"] == str(consistent(1)["suara_sah"])
    assert rows[HELD]["status"] == "Perlu ditinjau petugas" and rows[HELD]["suara_paslon_1"] == ""


def test_bad_addresses_are_4xx_with_a_message(api: httpx.Client) -> None:
    for path, status in {
        "/api/v1/public/ppwp/regions/3499": 404,
        "/api/v1/public/ppwp/regions/34.04": 400,
        "/api/v1/public/ppwp/tps/340407": 400,
        "/api/v1/public/ppwp/tps/3404072001099": 404,
        "/api/v1/public/ppwp/export/340407.csv": 400,
        "/api/v1/public/ppwp/export/35.csv": 404,
        "/pemilu/hhcw/ppwp/34/3171.json": 404,
        "/wilayah/pemilu/ppwp/34/x.json": 400,
    }.items():
        response = api.get(path)
        assert response.status_code == status, (path, response.text)
        assert response.json()["message"], path


NIST_SCHEMA = Path(__file__).parent.parent / "resources" / "nist" / "NIST_V2_election_results_reporting.json"


def test_the_nist_export_validates_against_nists_schema_and_holds_published_numbers_only(
    api: httpx.Client,
) -> None:
    schema = json.loads(NIST_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    desa = api.get("/api/v1/public/ppwp/regions/3404072001").json()
    for name in ("nasional", "34", "3404072001"):
        response = api.get(f"/api/v1/public/ppwp/export/nist/{name}.json")
        assert response.status_code == 200, response.text
        report = response.json()
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report)]
        assert errors == [], (name, errors[:5])
        units = {u["@id"]: u for u in report["GpUnit"]}
        assert len(units) == len(report["GpUnit"]), "each unit once"
        # The schema does not check references; every one must name a unit of the report.
        (election,) = report["Election"]
        (contest,) = election["Contest"]
        counted = [c for s in contest["ContestSelection"] for c in s["VoteCounts"]] + election["BallotCounts"]
        assert {c["GpUnitId"] for c in counted} <= set(units)
        for unit in units.values():
            assert set(unit.get("ComposingGpUnitIds", [])) <= set(units)
        assert units["gp-idn"]["Type"] == "country"
        votes = {
            (s["SequenceOrder"], c["GpUnitId"]): c["Count"]
            for s in contest["ContestSelection"]
            for c in s["VoteCounts"]
        }
        assert ("gp-" + HELD) in units and all(unit != "gp-" + HELD for _, unit in votes), (
            "held TPS: no counts"
        )
        assert votes[(1, "gp-" + PUBLISHED)] == consistent(1)["suara_paslon_1"]
        assert votes[(2, "gp-3404072001")] == desa["candidates"][1]["votes"]
        assert consistent(2)["suara_paslon_1"] + 500 not in numbers_in(report)
    assert units["gp-3404072001"]["Type"] == "village"
    assert units["gp-3404072001"]["SubUnitsReported"] == desa["progress"]["tps_published"]
    assert units["gp-34"]["ComposingGpUnitIds"] == ["gp-3404"], "a region's report names only its path"
    assert api.get("/api/v1/public/ppwp/export/nist/35.json").status_code == 404
    assert api.get("/api/v1/public/ppwp/export/nist/3404072001001.json").status_code == 400


def test_the_api_benchmark_loads_the_api_and_nginx_and_measures_freshness() -> None:
    done = rekap("bench", "api", "--quick", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["body_bytes"] > 10_000 and figures["errors"] == 0
    assert figures["rps"] > 0 and figures["nginx_rps"] > 0 and figures["router_rps"] > 0
    assert figures["ratio_to_nginx"] == round(figures["rps"] / figures["nginx_rps"], 3)
    assert 0 < figures["freshness_ms"] <= figures["freshness_max_ms"]
    assert figures["p99_ms"] > 0


def test_the_openapi_document_describes_every_public_endpoint_with_examples(api: httpx.Client) -> None:
    spec = api.get("/schema/openapi.json").json()
    public = {
        path: item["get"]
        for path, item in spec["paths"].items()
        if path.startswith(("/api/v1/public/", "/pemilu/", "/wilayah/"))
    }
    assert len(public) == 14, sorted(public)  # 12 of results, 2 of audit checkpoints
    for path, operation in public.items():
        assert operation["summary"], path
        documented = {
            status: next(iter(content.values())).get("examples")
            for status, response in operation["responses"].items()
            for content in [response.get("content", {})]
            if content
        }
        if not path.startswith("/api/v1/public/photos/"):  # a JPEG has no example
            assert documented.get("200"), path
        if "{" in path:
            assert any(status.startswith("4") and examples for status, examples in documented.items()), path

    def example(path: str) -> Any:
        content = public[path]["responses"]["200"]["content"]["application/json"]
        return next(iter(content["examples"].values()))["value"]

    # The examples have the fields the live answers have.
    live = api.get("/api/v1/public/ppwp/regions/3404072001").json()
    shown = example("/api/v1/public/ppwp/regions/{code}")
    assert set(shown) == set(live) and set(shown["children"][0]) == set(live["children"][0])
    live_tps = api.get(f"/api/v1/public/ppwp/tps/{PUBLISHED}").json()
    shown_tps = example("/api/v1/public/ppwp/tps/{code}")
    assert set(shown_tps) == set(live_tps) and set(shown_tps["history"][0]) == set(live_tps["history"][0])
    kpu_live = api.get("/pemilu/hhcw/ppwp/34/3404/340407/3404072001.json").json()
    assert set(example("/pemilu/hhcw/ppwp/{path}")) == set(kpu_live)
