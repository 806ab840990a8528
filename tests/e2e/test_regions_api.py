"""The regions API, login and health through a real ``rekap serve`` (granian) over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from service.regions.registry import import_registry
from service.users.model import Role
from service.users.store import upsert_user
from tests.conftest import Server, scratch_database
from tests.registry_files import kpu_registry

PASSWORD = "test-secret-1234"


@pytest.fixture(scope="module")
async def loaded_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """One database and one server for the module: these tests only read."""
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("api")))
            await upsert_user(
                conn,
                username="kpps.3404072001001",
                display_name="KPPS",
                role=Role.KPPS,
                secret=PASSWORD,
                tps_code="3404072001001",
            )
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def api(loaded_db: str) -> Iterator[httpx.Client]:
    server = Server({"REKAP_DATABASE_URL": loaded_db})
    try:
        server.wait_until_listening()
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield client
    finally:
        server.stop()


def test_the_nation_lists_its_provinces(api: httpx.Client) -> None:
    body = api.get("/api/v1/regions").json()
    assert body["level"] == "nasional"
    assert [c["code"] for c in body["children"]] == ["31", "34"]


def test_a_region_has_its_path_and_children(api: httpx.Client) -> None:
    response = api.get("/api/v1/regions/340407")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["level"]) == ("DEPOK", "kecamatan")
    assert [p["code"] for p in body["path"]] == ["", "34", "3404"]
    assert body["children"] == [{"code": "3404072001", "name": "CATURTUNGGAL", "level": "desa"}]


def test_a_desa_lists_its_tps(api: httpx.Client) -> None:
    body = api.get("/api/v1/regions/3404072001").json()
    assert [t["code"] for t in body["tps"]] == ["3404072001001", "3404072001002", "3404072001003"]
    assert body["tps"][0] == {
        "code": "3404072001001",
        "number": 1,
        "name": "TPS 001",
        "dpt_l": None,
        "dpt_p": None,
        "dpt_j": None,
        "dpt_synthetic": False,
    }


def test_a_tps_code_gives_the_tps(api: httpx.Client) -> None:
    body = api.get("/api/v1/regions/3404072001002").json()
    assert (body["level"], body["number"]) == ("tps", 2)
    assert body["path"][-1]["code"] == "3404072001"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("3499", "Tidak ada kabupaten/kota dengan kode 3499. Periksa kodenya."),
        ("3404072001999", "Tidak ada TPS dengan kode 3404072001999. Periksa kodenya."),
    ],
)
def test_an_unknown_code_is_404_with_a_message(api: httpx.Client, code: str, message: str) -> None:
    response = api.get(f"/api/v1/regions/{code}")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound" and response.json()["message"] == message
    assert code in response.json()["detail"]


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("34.04", "hanya berisi angka, tanpa titik"),
        ("34x", "hanya berisi angka, tanpa titik"),
        ("12345", "panjangnya 5 angka"),
        ("3" * 14, "panjangnya 14 angka"),
    ],
)
def test_a_malformed_code_is_400_with_a_message(api: httpx.Client, code: str, fragment: str) -> None:
    response = api.get(f"/api/v1/regions/{code}")
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_health_reports_everything_ok(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["migrations"]["detail"].endswith("none pending")


def test_the_openapi_document_describes_the_endpoints(api: httpx.Client) -> None:
    paths = api.get("/schema/openapi.json").json()["paths"]
    assert {"/health", "/api/v1/regions", "/api/v1/regions/{code}", "/api/v1/auth/login"} <= set(paths)


def test_login_gives_a_token_that_names_the_user(api: httpx.Client) -> None:
    response = api.post("/api/v1/auth/login", json={"username": "kpps.3404072001001", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["token"]
    me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["role"], me["tps_code"]) == ("kpps", "3404072001001")


def test_wrong_credentials_and_missing_tokens_are_401(api: httpx.Client) -> None:
    wrong = api.post("/api/v1/auth/login", json={"username": "kpps.3404072001001", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Nama pengguna atau kata sandi salah."
    unknown = api.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope"})
    assert unknown.json() == wrong.json()
    assert api.get("/api/v1/auth/me").status_code == 401
    assert api.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    malformed = api.post("/api/v1/auth/login", json={"username": "x"})
    assert malformed.status_code == 400
    assert "password" in malformed.text


def test_health_is_503_when_redis_is_unreachable(loaded_db: str, server_factory: type[Server]) -> None:
    server = server_factory({"REKAP_DATABASE_URL": loaded_db, "REKAP_REDIS_URL": "redis://127.0.0.1:1/0"})
    server.wait_until_listening()
    response = httpx.get(server.url + "/health", timeout=10)
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]["ok"], body["redis"]["ok"]) == ("unavailable", True, False)


def test_without_a_database_health_is_503_and_reads_are_503_with_retry_after(
    server_factory: type[Server],
) -> None:
    server = server_factory({"REKAP_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/rekap"})
    server.wait_until_listening()
    health = httpx.get(server.url + "/health", timeout=10)
    assert health.status_code == 503
    assert health.json()["database"]["ok"] is False
    assert httpx.get(server.url + "/health/live", timeout=10).json() == {"status": "alive"}
    read = httpx.get(server.url + "/api/v1/regions/34", timeout=10)
    assert read.status_code == 503
    assert read.headers["retry-after"] == "5"
    assert "coba lagi" in read.json()["message"] and "try again shortly" in read.json()["detail"]


async def test_a_database_migrated_by_a_newer_release_keeps_this_one_ready(
    template_db: str, server_factory: type[Server]
) -> None:
    """A rolling upgrade: the new release's migration has run, the old API pods keep serving."""
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "INSERT INTO schema_migration (version, name, checksum) VALUES (999, 'from_the_future', 'x')"
            )
        finally:
            await conn.close()
        server = server_factory({"REKAP_DATABASE_URL": url})
        server.wait_until_listening()
        health = httpx.get(server.url + "/health", timeout=10)
        assert health.status_code == 200, health.text
        assert "newer migrations [999]" in health.json()["migrations"]["detail"]


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_trusted_proxy_failed_logins_are_counted_per_client(
    loaded_db: str, server_factory: type[Server], trusted: bool
) -> None:
    """Behind the nginx cache every login comes from nginx: trusted, X-Forwarded-For names the
    phone, so one phone's failures do not lock out the others; untrusted, the header is ignored
    (anyone can write it)."""
    env = {
        "REKAP_DATABASE_URL": loaded_db,
        "REKAP_LOGIN_MAX_FAILURES": "2",
        "REKAP_REDIS_PREFIX": f"test-proxy-{uuid.uuid4().hex[:8]}",
    }
    if trusted:
        env["REKAP_TRUSTED_PROXIES"] = "10.0.0.0/8, 127.0.0.1"
    server = server_factory(env)
    server.wait_until_listening()

    def login(phone: str) -> int:
        response = httpx.post(
            server.url + "/api/v1/auth/login",
            json={"username": "kpps.3404072001001", "password": "wrong-guess"},
            headers={"X-Forwarded-For": f"{phone}, 10.1.2.3"},
            timeout=10,
        )
        return response.status_code

    assert [login("203.0.113.5") for _ in range(3)] == [401, 401, 429]
    assert login("203.0.113.6") == (401 if trusted else 429)
