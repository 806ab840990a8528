"""Photos from the phone to a stored reading, through a real API server, OCR worker, PostgreSQL
and a Redis server of this module's own (so that it can be restarted)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import cv2
import httpx
import numpy as np
import pytest
import redis

from service.regions.registry import import_registry
from service.users.model import Role
from service.users.store import upsert_user
from tests.conftest import (
    RUN_ID,
    Synthetic,
    WorkerProcess,
    bearer,
    free_port,
    scratch_database,
    serving,
)
from tests.registry_files import kpu_registry

PASSWORD = "test-secret-1234"
TPS = "3404072001001"
OTHER_TPS = "3404072001002"
VOTES = ("suara_paslon_1", "suara_paslon_2", "suara_paslon_3", "suara_sah", "suara_tidak_sah", "suara_total")


class RedisServer:
    """A Redis of this module's own, without persistence: a restart loses everything."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is installed by deploy/local/system-packages.sh (make setup)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True, check=False
            )
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise TimeoutError("the test's Redis did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def intake_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("intake")))
            for code in (TPS, OTHER_TPS):
                await upsert_user(
                    conn,
                    username=f"kpps.{code}",
                    display_name=f"KPPS {code}",
                    role=Role.KPPS,
                    secret=PASSWORD,
                    tps_code=code,
                )
            await upsert_user(
                conn,
                username="ppk.340407",
                display_name="PPK Depok",
                role=Role.OFFICER,
                secret=PASSWORD,
                scope_region="340407",
            )
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def env(
    intake_db: str, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        "REKAP_DATABASE_URL": intake_db,
        "REKAP_REDIS_URL": redis_server.url,
        "REKAP_REDIS_PREFIX": f"test-{RUN_ID}",
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("storage")),
        "REKAP_QUEUE_CLAIM_SECONDS": "2",
        "REKAP_MAX_PHOTO_MB": "3",
    }


@pytest.fixture(scope="module")
def api(env: dict[str, str]) -> Iterator[httpx.Client]:
    with serving(env) as client:
        yield client


@pytest.fixture
def worker(env: dict[str, str]) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        started.append(WorkerProcess(env))
        return started[-1]

    yield start
    for process in started:
        process.stop()
        process.log.unlink(missing_ok=True)


def login(api: httpx.Client, username: str) -> dict[str, str]:
    return bearer(api, username, PASSWORD)


@pytest.fixture(scope="module")
def kpps(api: httpx.Client) -> dict[str, str]:
    return login(api, f"kpps.{TPS}")


def upload(
    api: httpx.Client, headers: dict[str, str], data: bytes, tps: str = TPS, **params: Any
) -> httpx.Response:
    return api.post(
        f"/api/v1/tps/{tps}/ppwp/photos",
        content=data,
        headers={**headers, "Content-Type": "image/jpeg"},
        params=params,
    )


def wait_for(check: Callable[[], Any], timeout: float = 90, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise TimeoutError(f"waited {timeout} s for {what}")


def reencoded(path: Path, quality: int) -> bytes:
    """The same page, saved again: other bytes, the same numbers (a second photo of a page)."""
    ok, data = cv2.imencode(".jpg", cv2.imread(str(path)), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


async def photo_rows(url: str, tps: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(
            "SELECT p.id, p.state, r.outcome FROM photo p LEFT JOIN photo_reading r ON r.photo_id = p.id "
            "WHERE p.tps_code = $1 ORDER BY p.id",
            tps,
        )
    finally:
        await conn.close()


async def test_three_pages_are_stored_read_and_decoded(
    api: httpx.Client,
    kpps: dict[str, str],
    synthetic: Synthetic,
    worker: Callable[[], WorkerProcess],
    intake_db: str,
) -> None:
    worker()
    truth_tps = sorted(synthetic.values)[0]
    sent = {}
    for page in (1, 2, 3):
        data = synthetic.page(truth_tps, page).read_bytes()
        if page == 1:  # as a phone's form upload
            response = api.post(
                f"/api/v1/tps/{TPS}/ppwp/photos",
                files={"photo": ("halaman1.jpg", data, "image/jpeg")},
                data={"page": "1"},
                headers=kpps,
            )
        else:  # as a raw body
            response = upload(api, kpps, data, page=page)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["sha256"] == hashlib.sha256(data).hexdigest()
        assert body["url"] == f"/api/v1/photos/{body['sha256']}"
        assert body["state"] in ("received", "reading", "read")
        sent[page] = (data, body)

    def decoded() -> Any:
        status = api.get(f"/api/v1/tps/{TPS}/ppwp", headers=kpps).json()
        done = all(p["state"] in ("published", "needs_review") for p in status["pages"])
        return status if done else None

    status = wait_for(decoded, what="the three pages to be read and decoded")
    truth = synthetic.values[truth_tps]
    values = {name: field["value"] for p in status["pages"] for name, field in p["fields"].items()}
    assert {n: values[n] for n in VOTES} == {n: truth[n] for n in VOTES}
    for p in status["pages"]:
        assert p["photo"]["id"] == sent[p["page"]][1]["id"]
        assert p["photo"]["page"] == p["page"] and p["versions"] == 1
    assert status["waiting"] == []
    # The photo comes back byte for byte to those allowed to see it.
    data, body = sent[2]
    back = api.get(body["url"], headers=kpps)
    assert back.status_code == 200 and back.content == data
    assert back.headers["content-type"] == "image/jpeg"
    assert api.get(body["url"], headers=login(api, "ppk.340407")).status_code == 200
    assert api.get(body["url"], headers=login(api, f"kpps.{OTHER_TPS}")).status_code == 403
    assert api.get(body["url"]).status_code == 401
    # Handed to the consistency checks: clear and consistent numbers are published and counted.
    assert all(p["state"] == "published" for p in status["pages"]), status["pages"]
    assert status["state"] == "published" and not status["new_reading"]
    conn = await asyncpg.connect(intake_db)
    try:
        state = await conn.fetchval("SELECT state FROM tps_result WHERE tps_code = $1", TPS)
        assert state == "published"
        deadline = time.monotonic() + 30
        while not await conn.fetchval("SELECT suara_sah FROM region_total WHERE region_code = $1", TPS[:10]):
            assert time.monotonic() < deadline, "the worker did not apply the totals"
            time.sleep(0.2)
        counted = await conn.fetchval("SELECT suara_sah FROM region_total WHERE region_code = $1", TPS[:6])
        assert counted == truth["suara_sah"]
    finally:
        await conn.close()


async def test_a_retried_upload_is_the_same_record(
    api: httpx.Client, kpps: dict[str, str], synthetic: Synthetic, intake_db: str
) -> None:
    data = reencoded(synthetic.page(sorted(synthetic.values)[1], 3), 83)
    first = upload(api, kpps, data)
    again = upload(api, kpps, data)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    ids = [r["id"] for r in await photo_rows(intake_db, TPS)]
    assert ids.count(first.json()["id"]) == 1


async def test_a_new_photo_of_a_page_is_a_new_version_and_the_old_one_is_kept(
    api: httpx.Client,
    kpps: dict[str, str],
    synthetic: Synthetic,
    worker: Callable[[], WorkerProcess],
) -> None:
    worker()
    tps = sorted(synthetic.values)[0]
    before = api.get(f"/api/v1/tps/{TPS}/ppwp", headers=kpps).json()
    old = next(p for p in before["pages"] if p["page"] == 2)["photo"]
    response = upload(api, kpps, reencoded(synthetic.page(tps, 2), 70), page=2)
    assert response.status_code == 201
    new_id = response.json()["id"]

    def replaced() -> Any:
        page = next(
            p for p in api.get(f"/api/v1/tps/{TPS}/ppwp", headers=kpps).json()["pages"] if p["page"] == 2
        )
        return page if page["photo"] and page["photo"]["id"] == new_id else None

    page = wait_for(replaced, what="the new photo of page 2 to be read")
    assert page["versions"] == 2
    assert api.get(old["url"], headers=kpps).status_code == 200, "the first photo is kept"


def test_a_photo_without_the_form_is_sent_back_with_the_reason_in_indonesian(
    api: httpx.Client, worker: Callable[[], WorkerProcess]
) -> None:
    worker()
    headers = login(api, f"kpps.{OTHER_TPS}")
    rng = np.random.default_rng(3)
    paper = np.clip(rng.normal(225, 12, (2000, 1500)), 0, 255).astype(np.uint8)  # a blank sheet
    ok, data = cv2.imencode(".jpg", paper)
    assert ok
    response = upload(api, headers, data.tobytes(), tps=OTHER_TPS, page=1)
    assert response.status_code == 201

    def refused() -> Any:
        status = api.get(f"/api/v1/tps/{OTHER_TPS}/ppwp", headers=headers).json()
        return [p for p in status["waiting"] if p["state"] == "retake"]

    (photo,) = wait_for(refused, what="the blank photo to be refused")
    assert photo["retake_reason"] == "no_form"
    assert photo["retake_message"].startswith("Formulir C.Hasil tidak terlihat")
    assert photo["page_hint"] == 1 and photo["page"] is None


def test_photos_only_from_the_tps_s_own_kpps(
    api: httpx.Client, kpps: dict[str, str], synthetic: Synthetic
) -> None:
    data = synthetic.page(sorted(synthetic.values)[0], 1).read_bytes()
    wrong = upload(api, kpps, data, tps=OTHER_TPS)
    assert wrong.status_code == 403 and TPS in wrong.json()["message"]
    anonymous = upload(api, {}, data)
    assert anonymous.status_code == 401
    # Refused before its body was read: the server says the connection ends, so the client's
    # next request goes on a new one instead of failing on a closed one.
    assert anonymous.headers["connection"] == "close"
    for _ in range(10):
        assert upload(api, {}, data).status_code == 401
        assert api.get("/api/v1/regions/34").status_code == 200
    assert upload(api, {"Authorization": "Bearer not-a-token"}, data).status_code == 401
    officer = upload(api, login(api, "ppk.340407"), data)
    assert officer.status_code == 403 and "KPPS" in officer.json()["message"]
    assert api.get(f"/api/v1/tps/{OTHER_TPS}/ppwp", headers=kpps).status_code == 403


def test_bad_uploads_get_a_specific_answer(
    api: httpx.Client, kpps: dict[str, str], synthetic: Synthetic
) -> None:
    photo = synthetic.page(sorted(synthetic.values)[0], 1).read_bytes()
    cases = {
        "not an image": (b"%PDF-1.7 a scanned form", 415, "not_an_image"),
        "HEIC": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200), 415, "not_an_image"),
        "truncated JPEG": (photo[: len(photo) // 2], 422, "damaged"),
        "oversize": (photo + bytes(4 * 1024 * 1024), 413, "too_large"),
        "tiny": (
            cv2.imencode(
                ".png",
                cv2.resize(cv2.imread(str(synthetic.page(sorted(synthetic.values)[0], 1))), (150, 225)),
            )[1].tobytes(),
            422,
            "too_small",
        ),
    }
    for what, (data, status, reason) in cases.items():
        response = upload(api, kpps, data)
        assert response.status_code == status, (what, response.text)
        body = response.json()
        assert body["reason"] == reason and body["message"], what
    heic = upload(api, kpps, cases["HEIC"][0]).json()["message"]
    assert "HEIC" in heic
    assert upload(api, kpps, b"").status_code == 400
    assert upload(api, kpps, photo, page=4).status_code == 400
    assert upload(api, kpps, photo, tps="34040720010").status_code == 400
    unknown = api.get("/api/v1/tps/3404072001009/ppwp", headers=login(api, "ppk.340407"))
    assert unknown.status_code == 404 and "3404072001009" in unknown.json()["message"]


async def photo_state(url: str, photo_id: int) -> tuple[str, str | None]:
    row = next(r for r in await photo_rows(url, TPS) if r["id"] == photo_id)
    return row["state"], row["outcome"]


async def test_a_worker_killed_mid_job_does_not_lose_the_photo(
    api: httpx.Client,
    kpps: dict[str, str],
    synthetic: Synthetic,
    intake_db: str,
    worker: Callable[[], WorkerProcess],
) -> None:
    tps = sorted(synthetic.values)[1]
    for attempt, quality in enumerate((91, 92, 93, 94, 95)):
        response = upload(api, kpps, reencoded(synthetic.page(tps, 1), quality))
        assert response.status_code == 201
        photo_id = response.json()["id"]
        victim = worker()
        deadline = time.monotonic() + 60
        while (seen := await photo_state(intake_db, photo_id))[0] == "received":
            assert time.monotonic() < deadline, "the worker did not take the photo"
            time.sleep(0.005)
        victim.kill()
        if seen == ("reading", None) and await photo_state(intake_db, photo_id) == ("reading", None):
            break  # killed while it was reading this photo, before anything was stored
        assert attempt < 4, "the worker was never caught mid-job"
    worker()
    deadline = time.monotonic() + 60
    while await photo_state(intake_db, photo_id) != ("read", "page"):
        assert time.monotonic() < deadline, "the photo was not read after the worker restarted"
        time.sleep(0.2)


async def test_photos_pending_when_redis_restarts_are_all_read(
    api: httpx.Client,
    kpps: dict[str, str],
    synthetic: Synthetic,
    intake_db: str,
    redis_server: RedisServer,
    worker: Callable[[], WorkerProcess],
) -> None:
    tps = sorted(synthetic.values)[1]
    ids = []
    for page in (2, 3):
        response = upload(api, kpps, reencoded(synthetic.page(tps, page), 88))
        assert response.status_code == 201
        ids.append(response.json()["id"])
    redis_server.stop()  # no persistence: the queue is gone
    redis_server.start()
    worker()
    deadline = time.monotonic() + 90
    while True:
        rows = {r["id"]: r for r in await photo_rows(intake_db, TPS)}
        if all(rows[i]["outcome"] == "page" for i in ids):
            break
        assert time.monotonic() < deadline, {i: rows[i]["state"] for i in ids}
        time.sleep(0.2)


async def test_a_photo_that_keeps_failing_is_set_aside(
    api: httpx.Client,
    kpps: dict[str, str],
    synthetic: Synthetic,
    intake_db: str,
    env: dict[str, str],
    worker: Callable[[], WorkerProcess],
) -> None:
    """Its queue entry was handed out six times without a result (each time its worker died)."""
    response = upload(api, kpps, reencoded(synthetic.page(sorted(synthetic.values)[1], 3), 77))
    assert response.status_code == 201
    photo_id = response.json()["id"]
    client = redis.Redis.from_url(env["REKAP_REDIS_URL"])
    stream = f"{env['REKAP_REDIS_PREFIX']}:ocr"
    entries = client.xreadgroup("ocr", "dead-worker", {stream: ">"}, count=100)
    (entry,) = [i for i, fields in entries[0][1] if f'"photo_id":{photo_id}'.encode() in fields[b"job"]]
    for _ in range(5):
        client.xclaim(stream, "ocr", "dead-worker", 0, [entry])
    assert client.xpending_range(stream, "ocr", entry, entry, 1)[0]["times_delivered"] == 6
    worker()
    deadline = time.monotonic() + 60
    while await photo_state(intake_db, photo_id) != ("failed", "failed"):
        assert time.monotonic() < deadline, await photo_state(intake_db, photo_id)
        time.sleep(0.2)
    waiting = api.get(f"/api/v1/tps/{TPS}/ppwp", headers=kpps).json()["waiting"]
    (shown,) = [p for p in waiting if p["id"] == photo_id]
    assert shown["state"] == "failed" and "foto ulang" in shown["retake_message"]


def test_failed_logins_are_limited(api: httpx.Client) -> None:
    username = f"kpps.{OTHER_TPS}"
    for _ in range(5):
        wrong = api.post("/api/v1/auth/login", json={"username": username, "password": "guess"})
        assert wrong.status_code == 401
    blocked = api.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Terlalu banyak percobaan masuk" in blocked.json()["message"]
    # Guessing from one address does not lock the officer out everywhere (usernames are public).
    elsewhere = httpx.Client(
        base_url=str(api.base_url), transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30
    )
    with elsewhere:
        allowed = elsewhere.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert allowed.status_code == 200, allowed.text


def test_the_ppk_records_its_d_hasil_over_http(api: httpx.Client, kpps: dict[str, str]) -> None:
    officer = login(api, "ppk.340407")
    body = {"children": {"3404072001": {"suara_sah": 1}}}
    recorded = api.post("/api/v1/recap/kecamatan/340407/ppwp", json=body, headers=officer)
    assert recorded.status_code == 201, recorded.text
    (diff,) = recorded.json()["discrepancies"]
    assert diff["child"] == "3404072001" and diff["recorded"] == 1 and diff["tps"]
    assert api.post("/api/v1/recap/kecamatan/340407/ppwp", json=body, headers=kpps).status_code == 403
    assert api.post("/api/v1/recap/kabkota/3404/ppwp", json=body, headers=officer).status_code == 403
    assert api.post("/api/v1/recap/desa/3404072001/ppwp", json=body, headers=officer).status_code == 400
    assert (
        api.post("/api/v1/recap/kecamatan/340407/ppwp", json={"children": []}, headers=officer).status_code
        == 400
    )
    huge = {"children": {"3404072001": {"suara_sah": 2**70}}}
    assert api.post("/api/v1/recap/kecamatan/340407/ppwp", json=huge, headers=officer).status_code == 400
    nul = {"children": {"3404072\u0000001": {"suara_sah": 1}}}
    assert api.post("/api/v1/recap/kecamatan/340407/ppwp", json=nul, headers=officer).status_code == 400
    totals = api.get("/api/v1/recap/totals/nasional", headers=officer).json()
    assert totals["tps_expected"] == 4 and totals["tps_received"] is None  # outside the PPK's area
    assert api.get("/api/v1/recap/totals/340407", headers=officer).json()["tps_received"] >= 2
