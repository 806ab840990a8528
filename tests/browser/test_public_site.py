"""The public site as a reader meets it on a phone (Chromium, 360×740): searching for a TPS or a
place, the national map of who leads where (following the feed), and the page sizes."""

from __future__ import annotations

import gzip
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, expect

from ocr.form import PAIRS
from service.regions.registry import import_registry
from service.web.province_map import PAIR_COLOUR
from tests.browser.conftest import PHONE, Screenshots
from tests.conftest import Server, scratch_database
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, record

TPS = "3404072001002"
PAGE_BUDGET = 60 * 1024
"""Each public page with its stylesheet and script, gzipped (issue 19)."""


@pytest.fixture(scope="module")
async def site_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("site")))
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def site(site_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Server(
        {
            "REKAP_DATABASE_URL": site_db,
            "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("site-photos")),
            "REKAP_REDIS_PREFIX": f"test-site-{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        server.wait_until_listening()
        yield server.url
    finally:
        server.stop()


async def test_search_finds_a_tps_by_code_and_a_desa_by_name(
    browser: Browser, site: str, screenshots: Screenshots
) -> None:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{site}/hasil")
    await page.get_by_label("Cari TPS, desa atau kecamatan").fill("3404.07.2001.003")
    await page.get_by_role("button", name="Cari").click()
    await page.wait_for_url(f"{site}/hasil/3404072001003")
    await expect(page.locator("h1")).to_contain_text("TPS 003")
    await expect(page.locator("p.state")).to_contain_text("Belum masuk")

    await page.get_by_label("Cari TPS, desa atau kecamatan").fill("caturtung")
    await page.get_by_role("button", name="Cari").click()
    found = page.locator("ol.found li")
    await expect(found).to_have_count(1)
    await expect(found).to_contain_text("CATURTUNGGAL")
    await expect(found).to_contain_text("Desa/kelurahan · DEPOK, SLEMAN, DAERAH ISTIMEWA YOGYAKARTA")
    await screenshots.take(page, "desa-found")
    await found.get_by_role("link").click()
    await page.wait_for_url(f"{site}/hasil/3404072001")
    await expect(page.locator(f'tr[data-child="{TPS}"] td.none')).to_have_text("belum masuk")

    # A kecamatan by a part of its name, any case; nothing found and too little typed are said.
    await page.goto(f"{site}/hasil/cari?q=ePo")
    await expect(page.locator("ol.found li a")).to_have_text(["DEPOK"])
    missing = await page.goto(f"{site}/hasil/cari?q=atlantis")
    assert missing is not None and missing.status == 404
    await expect(page.locator("main")).to_contain_text("Tidak ada TPS atau wilayah yang cocok")
    short = await page.goto(f"{site}/hasil/cari?q=de")
    assert short is not None and short.status == 400
    await expect(page.locator("main .error")).to_contain_text("paling sedikit 3 huruf")
    unknown = await page.goto(f"{site}/hasil/cari?q=3404072001999")
    assert unknown is not None and unknown.status == 404
    await context.close()


async def test_the_map_shows_the_leading_pair_per_province_and_follows_the_feed(
    browser: Browser, site: str, site_db: str, screenshots: Screenshots
) -> None:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{site}/hasil")
    await page.evaluate("window.sameDocument = true")
    provinces = page.locator("figure.map path[data-prov]")
    await expect(provinces).to_have_count(38)
    codes = await provinces.evaluate_all("paths => paths.map(p => p.dataset.prov)")
    assert sorted(set(codes)) == sorted(codes) and {"11", "31", "34", "96"} <= set(codes)
    yogya = page.locator('path[data-prov="34"]')
    assert await yogya.get_attribute("data-leader") == ""
    await expect(yogya.locator("title")).to_have_text("Daerah Istimewa Yogyakarta: belum masuk")
    # The map fits the phone's width.
    box = await page.get_by_role("img", name="Peta pasangan unggul per provinsi").bounding_box()
    assert box is not None and 0 < box["width"] <= 360

    numbers = consistent(5)
    votes = [numbers[p] for p in PAIRS]
    leader = votes.index(max(votes)) + 1
    conn = await asyncpg.connect(site_db)
    try:
        await record(conn, TPS, numbers)
    finally:
        await conn.close()
    await expect(yogya).to_have_attribute("data-leader", str(leader), timeout=30_000)
    assert await yogya.get_attribute("fill") == PAIR_COLOUR[leader]
    await expect(yogya.locator("title")).to_have_text(f"Daerah Istimewa Yogyakarta: unggul {leader:02d}")
    jakarta = page.locator('path[data-prov="31"]')
    assert await jakarta.get_attribute("data-leader") == ""
    assert await page.evaluate("window.sameDocument === true")
    await screenshots.take(page, "map")

    await context.close()

    # Drawn on the server too: a reader arriving now (no script needed) sees the same.
    context = await browser.new_context(**PHONE, java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{site}/hasil")
    assert await page.locator('path[data-prov="34"]').get_attribute("data-leader") == str(leader)
    await context.close()


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


@pytest.mark.parametrize("path", ["/hasil", "/hasil/34", "/hasil/3404072001", f"/hasil/{TPS}", "/hasil/cari"])
def test_each_public_page_with_its_assets_is_small(site: str, path: str) -> None:
    with httpx.Client(base_url=site, timeout=30) as client:
        page = client.get(path)
        assert page.status_code == 200, page.text
        assets = _assets(page.text)
        assert "/static/rekap.css" in assets
        sizes = {path: len(gzip.compress(page.content))}
        for asset in assets:
            answer = client.get(asset)
            assert answer.status_code == 200
            sizes[asset] = len(gzip.compress(answer.content))
    print(path, sizes, sum(sizes.values()))
    assert sum(sizes.values()) <= PAGE_BUDGET, sizes
