"""The public page of one TPS on a phone (Chromium, 360 × 740): its numbers with the anomaly flags
they carry, small photos of its three pages that open the full photo, everything within 60 KB
and nothing wider than the screen."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Response, expect

from service.photos.storage import PhotoStore
from service.regions.registry import import_registry
from service.results.states import TpsState
from tests.browser.conftest import PHONE, Screenshots
from tests.conftest import Server, scratch_database
from tests.e2e.test_public_thumbnails import Photos, real_pages
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, record

TPS = "3404072001001"
BUDGET = 60 * 1024
"""A public page with all it loads, thumbnails included, as sent compressed (nginx gzips text)."""


def landslide(seed: int = 1) -> dict[str, int]:
    """Consistent numbers of a TPS where pair 1 took all valid votes but two: flagged, not held."""
    numbers = consistent(seed)
    valid = numbers["suara_sah"]
    assert valid >= 150, numbers
    return numbers | {"suara_paslon_1": valid - 2, "suara_paslon_2": 1, "suara_paslon_3": 1}


@pytest.fixture(scope="module")
async def tps_db(
    template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Path]]:
    storage = tmp_path_factory.mktemp("tps-page-photos")
    pages = real_pages()
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("tps-page")))
            user = await conn.fetchval(
                "INSERT INTO app_user (username, display_name, role, secret_hash) "
                "VALUES ('admin', 'A', 'admin', 'x') RETURNING id"
            )
            photos = Photos(conn, storage, user)
            for n, data in enumerate(pages, 1):
                await photos.add(TPS, n, data)
            assert (await record(conn, TPS, landslide())).state is TpsState.PUBLISHED
        finally:
            await conn.close()
        yield url, storage


@pytest.fixture(scope="module")
def site(tps_db: tuple[str, Path]) -> Iterator[str]:
    url, storage = tps_db
    server = Server(
        {
            "REKAP_DATABASE_URL": url,
            "REKAP_STORAGE_DIR": str(storage),
            "REKAP_REDIS_PREFIX": f"test-tps-page-{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        server.wait_until_listening()
        yield server.url
    finally:
        server.stop()


async def sent_size(response: Response) -> int:
    """Bytes on the wire behind nginx: text compressed, a JPEG as it is."""
    body = await response.body()
    kind = response.headers.get("content-type", "")
    return len(body) if kind.startswith("image/") else len(gzip.compress(body))


async def test_the_tps_page_on_a_phone(
    browser: Browser, site: str, tps_db: tuple[str, Path], screenshots: Screenshots
) -> None:
    document = httpx.get(f"{site}/api/v1/public/ppwp/tps/{TPS}").json()
    numbers = landslide()
    context = await browser.new_context(**PHONE)  # type: ignore[arg-type]
    page = await context.new_page()
    loaded: list[Response] = []
    page.on("response", lambda response: loaded.append(response))
    try:
        await page.goto(f"{site}/hasil/{TPS}")
        # The flag beside the numbers, in Indonesian, with the numbers it is about marked.
        flags = page.locator(".flags")
        await expect(flags).to_contain_text("Ditandai")
        await expect(flags).to_contain_text(
            f"Paslon 1 mendapat {numbers['suara_paslon_1']} dari {numbers['suara_sah']}"
        )
        marked = page.locator("tr.flagged td.n")
        assert sorted(await marked.evaluate_all("cells => cells.map(c => c.dataset.field)")) == [
            "suara_paslon_1",
            "suara_sah",
        ]
        await expect(page.locator('td[data-field="suara_paslon_1"]')).to_have_text(
            str(numbers["suara_paslon_1"])
        )
        # The thumbnails load lazily: scrolled to, each loads, small, and links to its full photo.
        images = page.locator(".tps-photos img")
        await expect(images).to_have_count(3)
        await images.last.scroll_into_view_if_needed()
        # Polled from here: wait_for_function compiles its predicate in the page, which the
        # page's policy (no 'unsafe-eval') rightly refuses.
        loaded_all = "() => [...document.querySelectorAll('.tps-photos img')].every(i => i.complete && i.naturalWidth > 0)"
        for _ in range(100):
            if await page.evaluate(loaded_all):
                break
            await page.wait_for_timeout(100)
        assert await page.evaluate(loaded_all), "the thumbnails did not load"
        await screenshots.take(page, "tps-page")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the TPS page is {width} px wide on a 360 px screen"
        thumbnails = [r for r in loaded if r.url.endswith("/kecil")]
        assert sorted(r.url.removeprefix(site) for r in thumbnails) == sorted(
            p["thumbnail_url"] for p in document["photos"]
        )
        for response in thumbnails:
            assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
            body = await response.body()
            assert len(body) < BUDGET, (response.url, len(body))
            assert int(response.headers["content-length"]) == len(body)
        assert not [
            r.url for r in loaded if "/api/v1/public/photos/" in r.url and not r.url.endswith("/kecil")
        ]
        total = sum([await sent_size(r) for r in loaded])
        assert total <= BUDGET, f"the TPS page loads {total} bytes: {[r.url for r in loaded]}"
        links = page.locator(".tps-photos a")
        assert await links.evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
            p["url"] for p in document["photos"]
        ]
        # Tapping a thumbnail opens the full photo, which the browser zooms by itself.
        async with page.expect_navigation() as opened:
            await links.first.click()
        full = await opened.value
        assert full is not None and full.status == 200 and full.headers["content-type"] == "image/jpeg"
        stored = PhotoStore(tps_db[1]).get(document["photos"][0]["sha256"])
        assert await full.body() == stored
    finally:
        await context.close()
