"""A public photo shown small: its thumbnail is made once from the real photo, kept beside it, and
served only while the photo is public; and a published TPS carries the anomaly flags of its numbers."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import cv2
import httpx
import numpy as np
import pytest

from ocr.form import expected_ballots, rules_over, violations
from service.photos.storage import PhotoStore
from service.public.photos import THUMBNAIL_SIDE, small_copy
from service.regions.registry import import_registry
from service.results import workflow
from service.results.states import TpsState
from tests.bahasa import english_words
from tests.conftest import Synthetic, scratch_database, serving, shared
from tests.ocr.test_crop import with_orientation
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, decoded, decoding, record

PUBLISHED = "3404072001001"
HELD = "3404072001002"
BROKEN = "3404072001003"
"""Published with a file no decoder opens: there is nothing smaller to show than the file."""
ORDINARY = "3171011001001"
BUDGET = 60 * 1024
"""A public page with its assets, thumbnails included, on a phone connection."""


def real_pages() -> list[bytes]:
    """The three pages of the first TPS of ../shared/data/c1_form_images, as Sirekap holds them."""
    images = sorted(shared("c1_form_images/images").glob("*.jpg"))
    first = images[0].name.split("-")[0]
    return [p.read_bytes() for p in images if p.name.startswith(first)][:3]


def reencoded(jpeg: bytes, quality: int = 80) -> bytes:
    """The same page in another file (another SHA-256), as a second photo of it would be."""
    ok, encoded = cv2.imencode(
        ".jpg",
        cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR),
        [cv2.IMWRITE_JPEG_QUALITY, quality],
    )
    assert ok
    return encoded.tobytes()


def over_dpt(seed: int = 3) -> dict[str, int]:
    """Consistent numbers with more votes than registered voters (DPTb and DPK voters came too):
    publishable, and flagged."""
    v = consistent(seed)
    for sex in "lp":
        v[f"pemilih_dpt_{sex}"] = v[f"pengguna_dpt_{sex}"]
    v["pemilih_dpt_j"] = v["pemilih_dpt_l"] + v["pemilih_dpt_p"]
    v["surat_suara_diterima"] = max(expected_ballots(v["pemilih_dpt_j"]), v["pengguna_total_j"] + 3)
    v["surat_suara_sisa"] = v["surat_suara_diterima"] - v["pengguna_total_j"] - v["surat_suara_rusak"]
    assert v["suara_total"] > v["pemilih_dpt_j"], v
    assert not violations(v, rules_over(set(v))), violations(v, rules_over(set(v)))
    return v


class Photos:
    def __init__(self, conn: asyncpg.Connection, storage: Path, user: int) -> None:
        self.conn, self.store, self.user = conn, PhotoStore(storage), user

    async def add(self, tps: str, page: int, data: bytes) -> str:
        """A photo stored and read as page ``page``, as the intake and the worker leave it."""
        sha = self.store.put(data)
        photo = await self.conn.fetchval(
            "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, "
            "state) VALUES ($1, 'ppwp', $2, 'image/jpeg', $3, 1000, 1540, $4, 'read') RETURNING id",
            tps,
            sha,
            len(data),
            self.user,
        )
        await self.conn.execute(
            "INSERT INTO photo_reading (photo_id, outcome, page, reading, reader_version, ms) "
            "VALUES ($1, 'page', $2, '{}', 't', 1)",
            photo,
            page,
        )
        return sha


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("thumbnail-storage")


@pytest.fixture(scope="module")
def pages() -> list[bytes]:
    found = real_pages()
    assert len(found) == 3
    # The last page as a phone may send it: its pixels lying on their side, EXIF saying so.
    turned = cv2.rotate(
        cv2.imdecode(np.frombuffer(found[2], np.uint8), cv2.IMREAD_COLOR), cv2.ROTATE_90_COUNTERCLOCKWISE
    )
    ok, encoded = cv2.imencode(".jpg", turned, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return [found[0], found[1], with_orientation(encoded.tobytes(), 6)]  # 6: turn 90° clockwise to view


@pytest.fixture(scope="module")
async def shas(
    template_db: str, tmp_path_factory: pytest.TempPathFactory, storage: Path, pages: list[bytes]
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("thumbnails")))
            user = await conn.fetchval(
                "INSERT INTO app_user (username, display_name, role, secret_hash) "
                "VALUES ('admin', 'A', 'admin', 'x') RETURNING id"
            )
            photos = Photos(conn, storage, user)
            sent = {
                f"{PUBLISHED}/{n}": await photos.add(PUBLISHED, n, data) for n, data in enumerate(pages, 1)
            }
            sent[HELD] = await photos.add(HELD, 1, reencoded(pages[0]))
            sent[BROKEN] = await photos.add(BROKEN, 1, b"\xff\xd8 not really a photo \xff\xd9")
            for tps, numbers in ((PUBLISHED, over_dpt()), (BROKEN, consistent(4)), (ORDINARY, consistent(5))):
                assert (await record(conn, tps, numbers)).state is TpsState.PUBLISHED, tps
            misread = consistent(2) | {"suara_paslon_1": consistent(2)["suara_paslon_1"] + 500}
            await workflow.record_decoding(conn, HELD, decoding(misread), await decoded(conn, HELD))
        finally:
            await conn.close()
        yield url, sent


@pytest.fixture(scope="module")
def api(shas: tuple[str, dict[str, str]], storage: Path) -> Iterator[httpx.Client]:
    with serving({"REKAP_DATABASE_URL": shas[0], "REKAP_STORAGE_DIR": str(storage)}) as client:
        yield client


def decoded_size(jpeg: bytes) -> tuple[int, int]:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image.shape[1], image.shape[0]


def test_a_published_photo_is_shown_small_and_kept_beside_the_photo(
    api: httpx.Client, shas: tuple[str, dict[str, str]], storage: Path
) -> None:
    store = PhotoStore(storage)
    document = api.get(f"/api/v1/public/ppwp/tps/{PUBLISHED}").json()
    assert [p["page"] for p in document["photos"]] == [1, 2, 3]
    for photo in document["photos"]:
        sha = photo["sha256"]
        assert photo["thumbnail_url"] == f"/api/v1/public/photos/{sha}/kecil"
        assert not store.thumbnail_path(sha).exists()  # made when first asked for, not before
        small = api.get(photo["thumbnail_url"])
        assert small.status_code == 200, small.text
        assert small.headers["content-type"] == "image/jpeg"
        assert small.headers["cache-control"].endswith("immutable")
        assert small.content.startswith(b"\xff\xd8") and len(small.content) < BUDGET
        assert len(small.content) < len(api.get(photo["url"]).content) / 10
        assert max(decoded_size(small.content)) == THUMBNAIL_SIDE
        assert store.thumbnail_path(sha).read_bytes() == small.content  # kept, as a derivative
        again = api.get(photo["thumbnail_url"], headers={"If-None-Match": small.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert small.headers["etag"] != api.get(photo["url"]).headers["etag"]
    # Page 3 was sent lying on its side with EXIF saying so: it is shown upright, like the others.
    width, height = decoded_size(store.thumbnail_path(document["photos"][2]["sha256"]).read_bytes())
    assert height > width


def test_a_lost_thumbnail_is_made_again(
    api: httpx.Client, shas: tuple[str, dict[str, str]], storage: Path
) -> None:
    sha = shas[1][f"{PUBLISHED}/1"]
    first = api.get(f"/api/v1/public/photos/{sha}/kecil").content
    PhotoStore(storage).thumbnail_path(sha).unlink()
    again = api.get(f"/api/v1/public/photos/{sha}/kecil")
    assert again.status_code == 200 and again.content == first
    assert PhotoStore(storage).thumbnail_path(sha).read_bytes() == first


def test_no_thumbnail_of_a_photo_that_is_not_public(
    api: httpx.Client, shas: tuple[str, dict[str, str]], storage: Path
) -> None:
    sha = shas[1][HELD]
    for path in (f"/api/v1/public/photos/{sha}/kecil", f"/api/v1/public/photos/{sha}"):
        refused = api.get(path)
        assert refused.status_code == 404, path
        message = refused.json()["message"]
        assert "dipublikasikan" in message and english_words(message) == [], message
    assert not PhotoStore(storage).thumbnail_path(sha).exists()
    unknown = api.get(f"/api/v1/public/photos/{hashlib.sha256(b'never sent').hexdigest()}/kecil")
    assert unknown.status_code == 404
    assert api.get("/api/v1/public/photos/NOT-A-SHA/kecil").status_code == 400


def test_a_public_file_no_decoder_opens_is_sent_whole(
    api: httpx.Client, shas: tuple[str, dict[str, str]], storage: Path
) -> None:
    sha = shas[1][BROKEN]
    answer = api.get(f"/api/v1/public/photos/{sha}/kecil")
    assert answer.status_code == 307 and answer.headers["location"] == f"/api/v1/public/photos/{sha}"
    assert not PhotoStore(storage).thumbnail_path(sha).exists()


def test_a_published_tps_carries_its_anomaly_flags_in_indonesian(api: httpx.Client) -> None:
    numbers = over_dpt()
    document = api.get(f"/api/v1/public/ppwp/tps/{PUBLISHED}").json()
    (flag,) = document["flags"]
    assert flag["kind"] == "turnout_over_100"
    assert (
        f"({numbers['suara_total']})" in flag["message"]
        and f"({numbers['pemilih_dpt_j']})" in flag["message"]
    )
    assert english_words(flag["message"]) == [], flag["message"]
    assert flag["fields"] == ["suara_total", "pemilih_dpt_j"]
    assert api.get(f"/api/v1/public/ppwp/tps/{ORDINARY}").json()["flags"] == []
    held = api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()
    assert held["flags"] == [] and held["numbers"] is None  # the misread numbers say nothing


def test_the_thumbnail_of_a_real_page_and_of_a_synthetic_one_is_small(
    pages: list[bytes], synthetic: Synthetic
) -> None:
    """Real pages (Sirekap's, ~1000 × 1540) weigh 8-18 KB as thumbnails, synthetic photos (a table
    behind the page, sensor noise) 10-16 KB: three of them and the page stay under 60 KB."""
    made = [*pages, *(p.read_bytes() for p in synthetic.photos(sorted(synthetic.values)[0]))]
    for data in made:
        small = small_copy(data)
        assert len(small) < 40 * 1024, len(small)
        assert max(decoded_size(small)) == THUMBNAIL_SIDE
