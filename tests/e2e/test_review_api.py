"""The review API through a real server: scope on every endpoint, claims, four eyes, retakes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from service.regions.registry import import_registry
from service.results import workflow
from service.users.model import Role
from service.users.store import upsert_user
from tests.conftest import Server, bearer, scratch_database
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, decoded, decoding

HELD = "3404072001002"
PASSWORD = "review-pass-1"
TRUTH = consistent(2)


@pytest.fixture(scope="module")
async def review_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("review")))
            for username, region in (
                ("ppk.depok", "340407"),
                ("ppk2.depok", "340407"),
                ("ppk.jagakarsa", "317101"),
            ):
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
                username=f"kpps.{HELD}",
                display_name="KPPS",
                role=Role.KPPS,
                secret=PASSWORD,
                tps_code=HELD,
            )
            misread = TRUTH | {"suara_paslon_1": TRUTH["suara_paslon_1"] + 500}
            await workflow.record_decoding(conn, HELD, decoding(misread), await decoded(conn, HELD))
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def api(review_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server = Server(
        {
            "REKAP_DATABASE_URL": review_db,
            "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("review-photos")),
            "REKAP_REDIS_PREFIX": f"test-review-{uuid.uuid4().hex[:8]}",  # logins are counted in Redis
        }
    )
    server.wait_until_listening()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client
    server.stop()


def login(api: httpx.Client, username: str) -> dict[str, str]:
    return bearer(api, username, PASSWORD)


CALLS = [
    ("POST", f"/api/v1/review/{HELD}/claim", {}),
    ("DELETE", f"/api/v1/review/{HELD}/claim", None),
    ("GET", f"/api/v1/review/{HELD}", None),
    ("POST", f"/api/v1/review/{HELD}/confirm", {"reason": "x"}),
    ("POST", f"/api/v1/review/{HELD}/correct", {"numbers": {"suara_paslon_1": 1}, "reason": "x"}),
    ("POST", f"/api/v1/review/{HELD}/approve", {"reason": "x"}),
    ("POST", f"/api/v1/review/{HELD}/reject", {"reason": "x"}),
    ("POST", f"/api/v1/review/{HELD}/retake", {"page": 1, "reason": "x"}),
]


def test_every_review_endpoint_refuses_outside_the_officers_area(api: httpx.Client) -> None:
    outsider = login(api, "ppk.jagakarsa")
    kpps = login(api, f"kpps.{HELD}")
    for method, path, body in CALLS:
        for headers in (outsider, kpps):
            response = api.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["message"]
        assert api.request(method, path, json=body).status_code == 401, (method, path)
    assert api.get("/api/v1/review/queue", headers=kpps).status_code == 403
    assert api.get("/api/v1/review/queue", headers=outsider).json() == []
    assert api.get("/api/v1/review/3404072001.json", headers=outsider).status_code == 400


def test_claim_correct_and_approve_by_another_officer(api: httpx.Client) -> None:
    first, second = login(api, "ppk.depok"), login(api, "ppk2.depok")
    (item,) = api.get("/api/v1/review/queue", headers=first).json()
    assert item["tps_code"] == HELD and item["disagreement"] > 0 and item["waiting_for"] == "review"
    detail = api.get(f"/api/v1/review/{HELD}", headers=first).json()
    assert detail["state"] == "needs_review" and any(f["severity"] == "blocking" for f in detail["findings"])
    assert detail["findings"][0]["keterangan"]
    assert api.post(f"/api/v1/review/{HELD}/claim", json={}, headers=first).status_code == 200
    locked = api.post(f"/api/v1/review/{HELD}/claim", json={}, headers=second)
    assert locked.status_code == 409 and "ppk.depok" in locked.json()["message"]
    assert api.post(f"/api/v1/review/{HELD}/confirm", json={"reason": "x"}, headers=second).status_code == 409
    fixed = api.post(
        f"/api/v1/review/{HELD}/correct",
        json={"numbers": {"suara_paslon_1": TRUTH["suara_paslon_1"]}, "reason": "foto: 152, bukan 652"},
        headers=first,
    )
    assert fixed.status_code == 201, fixed.text
    assert api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()["published"] is False
    assert api.post(f"/api/v1/review/{HELD}/claim", json={}, headers=first).status_code == 200
    own = api.post(f"/api/v1/review/{HELD}/approve", json={"reason": "yakin"}, headers=first)
    assert own.status_code == 403 and "empat mata" in own.json()["message"]
    assert api.delete(f"/api/v1/review/{HELD}/claim", headers=first).status_code == 204
    assert api.post(f"/api/v1/review/{HELD}/claim", json={}, headers=second).status_code == 200
    done = api.post(f"/api/v1/review/{HELD}/approve", json={"reason": "sesuai foto"}, headers=second)
    assert done.status_code == 200 and done.json()["state"] == "published"
    assert done.json()["numbers"] == TRUTH


def test_a_retake_request_shows_on_the_kpps_phone(api: httpx.Client) -> None:
    officer = login(api, "ppk.depok")
    assert api.post(f"/api/v1/review/{HELD}/claim", json={}, headers=officer).status_code == 200
    bad = api.post(f"/api/v1/review/{HELD}/retake", json={"page": 5, "reason": "x"}, headers=officer)
    assert bad.status_code == 400
    asked = api.post(
        f"/api/v1/review/{HELD}/retake",
        json={"page": 2, "reason": "Halaman 2 buram, mohon foto ulang"},
        headers=officer,
    )
    assert asked.status_code == 201, asked.text
    status = api.get(f"/api/v1/tps/{HELD}/ppwp", headers=login(api, f"kpps.{HELD}")).json()
    pages = {p["page"]: p for p in status["pages"]}
    assert pages[2]["retake_requested"] == "Halaman 2 buram, mohon foto ulang"
    assert pages[1]["retake_requested"] is None
