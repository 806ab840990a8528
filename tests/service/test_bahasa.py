"""Every refusal a KPPS or an officer can meet speaks Bahasa Indonesia (issue 18): the requests
they can get wrong are sent to a real ``rekap serve``, and each answer's ``message`` (a page's
text, for the web pages) is searched for English; the English stays in ``detail``."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import cv2
import httpx
import numpy as np
import pytest

from service.regions.registry import import_registry
from service.users.credentials import hash_secret
from tests.bahasa import english_words
from tests.conftest import scratch_database, serving, sessions
from tests.registry_files import kpu_registry

PASSWORD = "bahasa-pass-1"
TPS = "3404072001001"
OTHER_TPS = "3404072001002"
KPPS = f"kpps.{TPS}"
PPK = "ppk.340407"
"""The officer of the kecamatan of ``TPS``."""
JAGAKARSA = "ppk.317101"
"""An officer of another kecamatan (Jakarta)."""
USERS = [
    (KPPS, "kpps", TPS, None, None),
    (PPK, "officer", None, 3, "340407"),
    (JAGAKARSA, "officer", None, 3, "317101"),
]


def test_english_words_flags_an_english_sentence() -> None:
    found = english_words("The photo is too small: please send a new one from your phone.")
    assert found == ["the", "photo", "is", "too", "small", "please", "send", "from", "your"]
    assert english_words("Page must be 1, 2 or 3") == ["page", "must", "be", "or"]


def test_english_words_passes_indonesian() -> None:
    assert (
        english_words("Foto buram, angka tidak terbaca. Pegang ponsel dengan tenang lalu foto ulang.") == []
    )
    assert english_words("Isian 'suara_paslon_9' bukan isian D.Hasil; kode SHA-256, 0-9 dan a-f.") == []
    assert english_words("Jenis isi tidak diterima (lihat header Content-Type dan /schema).") == []


@pytest.fixture(scope="module")
async def bahasa_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("bahasa")))
            secret_hash = hash_secret(PASSWORD)
            for username, role, tps, level, region in USERS:
                await conn.execute(
                    "INSERT INTO app_user (username, display_name, role, tps_code, scope_level, scope_region, "
                    "secret_hash) VALUES ($1, $1, $2, $3, $4, $5, $6)",
                    username,
                    role,
                    tps,
                    level,
                    region,
                    secret_hash,
                )
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
async def tokens(bahasa_db: str) -> dict[str, dict[str, str]]:
    """Each user's Authorization header, its session made directly (no argon2 per login)."""
    return await sessions(bahasa_db, [username for username, *_ in USERS])


@pytest.fixture(scope="module")
def api(bahasa_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    env = {
        "REKAP_DATABASE_URL": bahasa_db,
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("bahasa-photos")),
        "REKAP_REDIS_PREFIX": f"test-bahasa-{uuid.uuid4().hex[:8]}",
        "REKAP_MAX_PHOTO_MB": "1",
    }
    with serving(env) as client:
        yield client


@dataclass
class Refusal:
    what: str
    status: int
    message: str


def _photo(
    api: httpx.Client, headers: dict[str, str], data: bytes, tps: str = TPS, **params: str
) -> httpx.Response:
    return api.post(
        f"/api/v1/tps/{tps}/ppwp/photos",
        content=data,
        params=params,
        headers={**headers, "Content-Type": "image/jpeg"},
    )


def _tiny_png() -> bytes:
    ok, data = cv2.imencode(".png", np.full((225, 150), 220, np.uint8))
    assert ok
    return data.tobytes()


def _answers(api: httpx.Client, tokens: dict[str, dict[str, str]]) -> dict[str, httpx.Response]:
    """What a KPPS or an officer gets wrong, as each is answered."""
    kpps, ppk, outsider = tokens[KPPS], tokens[PPK], tokens[JAGAKARSA]
    login = "/api/v1/auth/login"
    review = f"/api/v1/review/{TPS}"
    json_body = {"Content-Type": "application/json"}
    return {
        "login without a password": api.post(login, json={"username": KPPS}),
        "login with the wrong password": api.post(login, json={"username": KPPS, "password": "salah"}),
        "login that is not JSON": api.post(login, content=b"username=kpps", headers=json_body),
        "login with a number for a name": api.post(login, json={"username": 5, "password": "x"}),
        "no token": api.get("/api/v1/auth/me"),
        "a token without a session": api.get("/api/v1/auth/me", headers={"Authorization": "Bearer nonsense"}),
        "unknown TPS code": api.get("/api/v1/tps/3404072001099/ppwp", headers=ppk),
        "a code with dots": api.get("/api/v1/regions/34.04"),
        "a code of no level's length": api.get("/api/v1/regions/12345"),
        "an unknown region": api.get("/api/v1/regions/3499"),
        "a kecamatan code for a TPS": api.get("/api/v1/tps/340407/ppwp", headers=ppk),
        "page hint 7": _photo(api, kpps, b"not read before the page", page="7"),
        "empty photo": _photo(api, kpps, b""),
        "not an image": _photo(api, kpps, b"%PDF-1.7 a scanned form"),
        "HEIC": _photo(api, kpps, b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)),
        "too small": _photo(api, kpps, _tiny_png()),
        "larger than the photo limit": _photo(api, kpps, bytes(1536 * 1024)),
        "larger than the route's body": _photo(api, kpps, bytes(3 * 1024 * 1024)),
        "a photo of another TPS": _photo(api, kpps, b"x", tps=OTHER_TPS),
        "an officer sending a photo": _photo(api, ppk, b"x"),
        "the KPPS looking at another TPS": api.get(f"/api/v1/tps/{OTHER_TPS}/ppwp", headers=kpps),
        "a photo address that is no SHA-256": api.get("/api/v1/photos/xyz", headers=ppk),
        "an unknown photo": api.get(f"/api/v1/photos/{'0' * 64}", headers=ppk),
        "a route that does not exist": api.get("/api/v1/nothing-here"),
        "the wrong method": api.delete(login),
        "malformed JSON to the review": api.post(
            f"{review}/confirm", content=b"{bad", headers={**ppk, **json_body}
        ),
        "a review without a reason": api.post(f"{review}/retake", json={"page": 1}, headers=ppk),
        "a claim of text minutes": api.post(f"{review}/claim", json={"minutes": "lama"}, headers=ppk),
        "a claim of 500 minutes": api.post(f"{review}/claim", json={"minutes": 500}, headers=ppk),
        "a reason too long": api.post(f"{review}/confirm", json={"reason": "x" * 2000}, headers=ppk),
        "a queue of 0": api.get("/api/v1/review/queue", params={"limit": 0}, headers=ppk),
        "a crop of no field": api.get(f"{review}/crops/suara_paslon_9", headers=ppk),
        "a crop without a photo": api.get(f"{review}/crops/pengguna_total_j", headers=ppk),
        "the review queue for a KPPS": api.get("/api/v1/review/queue", headers=kpps),
        "forbidden region": api.get(review, headers=outsider),
        "a D.Hasil of a desa": api.post(
            "/api/v1/recap/desa/3404072001/ppwp", json={"children": {}}, headers=ppk
        ),
        "a D.Hasil by a KPPS": api.post(
            "/api/v1/recap/kecamatan/340407/ppwp",
            json={"children": {"3404072001": {"suara_sah": 1}}},
            headers=kpps,
        ),
        "a D.Hasil of another kecamatan": api.post(
            "/api/v1/recap/kecamatan/317101/ppwp",
            json={"children": {"3171011001": {"suara_sah": 1}}},
            headers=ppk,
        ),
        "a D.Hasil field that does not exist": api.post(
            "/api/v1/recap/kecamatan/340407/ppwp",
            json={"children": {"3404072001": {"suara_9": 1}}},
            headers=ppk,
        ),
        "a negative D.Hasil number": api.post(
            "/api/v1/recap/kecamatan/340407/ppwp",
            json={"children": {"3404072001": {"pemilih_dpt_j": -1}}},
            headers=ppk,
        ),
        "totals of a TPS": api.get(f"/api/v1/recap/totals/{TPS}", headers=ppk),
        "a public TPS of a kecamatan code": api.get("/api/v1/public/ppwp/tps/340407"),
        "a public export of a kecamatan": api.get("/api/v1/public/ppwp/export/340407.csv"),
        "a KPU address of a region not under its parent": api.get("/pemilu/hhcw/ppwp/34/3171.json"),
        "a future data version": api.get("/api/v1/public/ppwp/v/999999/regions/34"),
    }


_PAGE_ERROR = re.compile(r'<h1>(.*?)</h1>\s*<p class="error">(.*?)</p>', re.S)


def _pages(api: httpx.Client) -> dict[str, httpx.Response]:
    return {
        "a results page of a code with dots": api.get("/hasil/34.04"),
        "a review page of a kecamatan code": api.get("/petugas/tps/340407"),
        "a results page that does not exist": api.get("/hasil/3404/lain"),
    }


def _refusal(what: str, response: httpx.Response) -> Refusal:
    if response.headers.get("content-type", "").startswith("text/html"):
        found = _PAGE_ERROR.search(response.text)
        assert found, (what, response.text)
        return Refusal(what, response.status_code, f"{found[1]} {found[2]}")
    body = response.json()
    assert body["message"], (what, body)
    return Refusal(what, response.status_code, body["message"])


def test_every_refusal_is_in_indonesian(api: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    answers = {**_answers(api, tokens), **_pages(api)}
    refusals = [_refusal(what, response) for what, response in answers.items()]
    assert not [r for r in refusals if r.status < 400], [r for r in refusals if r.status < 400]
    english = {
        r.what: (r.status, r.message, english_words(r.message)) for r in refusals if english_words(r.message)
    }
    assert not english, english


def test_the_english_stays_for_operators(api: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    unknown = api.get("/api/v1/tps/3404072001099/ppwp", headers=tokens[PPK]).json()
    assert unknown["message"].startswith("TPS 3404072001099 tidak ada dalam daftar TPS")
    assert unknown["detail"] == "TPS 3404072001099 is not in the registry"
    tiny = _photo(api, tokens[KPPS], _tiny_png()).json()
    assert tiny["reason"] == "too_small" and "(Foto ini 150×225 piksel;" in tiny["message"]
    assert "pixels" in tiny["detail"]
    moved = api.put("/api/v1/auth/login").json()
    assert moved["message"] == "Alamat ini tidak menerima permintaan PUT; yang dapat dipakai: POST."
    assert moved["detail"] == "Method Not Allowed"


def test_a_field_is_named_by_its_label(api: httpx.Client, tokens: dict[str, dict[str, str]]) -> None:
    crop = api.get(f"/api/v1/review/{TPS}/crops/pengguna_total_j", headers=tokens[PPK]).json()
    assert "Jumlah pengguna hak pilih (jumlah)" in crop["message"] and "pengguna_total_j" in crop["detail"]
