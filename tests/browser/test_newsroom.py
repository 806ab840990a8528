"""A newsroom's page on another origin reads the public API (CORS) and follows the live feed with
a real EventSource in Chromium: it receives the publications, and nothing for the keep-alives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Route, expect

from service.regions.registry import import_registry
from tests.browser.conftest import PHONE
from tests.conftest import Server, scratch_database
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, record

TPS = "3404072001001"
OTHER = "3404072001002"
NEWSROOM = "http://redaksi.example"
KEEPALIVE_S = 1


@pytest.fixture(scope="module")
async def newsroom_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("newsroom")))
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def site(newsroom_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Server(
        {
            "REKAP_DATABASE_URL": newsroom_db,
            "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("newsroom-photos")),
            "REKAP_REDIS_PREFIX": f"test-newsroom-{uuid.uuid4().hex[:8]}",
            "REKAP_FEED_KEEPALIVE_SECONDS": str(KEEPALIVE_S),
        }
    )
    try:
        server.wait_until_listening()
        yield server.url
    finally:
        server.stop()


def test_the_public_api_answers_other_origins_and_nothing_else(site: str) -> None:
    with httpx.Client(base_url=site, timeout=30) as api:
        public = api.get("/api/v1/public/ppwp/regions/nasional", headers={"Origin": NEWSROOM})
        assert public.status_code == 200 and public.headers["access-control-allow-origin"] == "*"
        assert "etag" in public.headers["access-control-expose-headers"].lower()
        preflight = api.options(
            "/api/v1/public/ppwp/regions/nasional",
            headers={
                "Origin": NEWSROOM,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert preflight.status_code < 300
        assert "if-none-match" in preflight.headers["access-control-allow-headers"].lower()
        assert "POST" not in preflight.headers["access-control-allow-methods"]
        # What only a login may do is not opened to other origins.
        private = api.post(
            "/api/v1/auth/login", json={"username": "x", "password": "y"}, headers={"Origin": NEWSROOM}
        )
        assert "access-control-allow-origin" not in private.headers


async def test_a_newsroom_page_reads_the_results_and_follows_the_feed(
    browser: Browser, site: str, newsroom_db: str
) -> None:
    context = await browser.new_context(**PHONE)
    await context.grant_permissions(["local-network-access"])
    page = await context.new_page()

    async def newsroom(route: Route) -> None:
        await route.fulfill(
            status=200, content_type="text/html", body="<!doctype html><title>Redaksi</title>"
        )

    # Another origin on the same machine (another host name for it; a public one would meet
    # Chromium's private network checks, which are not what this tests).
    other = site.replace("127.0.0.1", "localhost")
    assert other != site
    await page.route(f"{other}/redaksi", newsroom)
    await page.goto(f"{other}/redaksi")
    nation = await page.evaluate(
        "async (site) => (await fetch(`${site}/api/v1/public/ppwp/regions/nasional`)).json()", site
    )
    assert nation["progress"]["tps_published"] == 0
    await page.evaluate(
        """(site) => {
            window.received = [];
            window.opened = new Promise((resolve) => {
                const feed = new EventSource(`${site}/api/v1/public/ppwp/changes`);
                feed.onopen = resolve;
                feed.onmessage = (e) => window.received.push(["message", e.data]);
                feed.addEventListener("change", (e) => window.received.push(["change", e.data]));
            });
        }""",
        site,
    )
    await page.evaluate("window.opened")
    await page.wait_for_timeout(3000 * KEEPALIVE_S)  # three keep-alives: none may reach the page
    assert await page.evaluate("window.received") == []
    conn = await asyncpg.connect(newsroom_db)
    try:
        await record(conn, TPS, consistent(1))
    finally:
        await conn.close()
    await page.wait_for_function("window.received.length > 0", timeout=30_000)
    await page.wait_for_timeout(2000 * KEEPALIVE_S)
    received = await page.evaluate("window.received")
    assert [kind for kind, _ in received] == ["change"] * len(received), received
    assert any(TPS in data for _, data in received), received
    # The page reads the region again, as a newsroom's would on a change (the totals may follow it).
    await page.wait_for_function(
        """async (site) => {
            const nation = await (await fetch(`${site}/api/v1/public/ppwp/regions/nasional`)).json();
            return nation.progress.tps_published === 1;
        }""",
        arg=site,
        timeout=30_000,
        polling=500,
    )
    await context.close()


async def test_an_open_results_page_shows_a_publication_without_a_reload(
    browser: Browser, site: str, newsroom_db: str
) -> None:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    desa = OTHER[:10]
    await page.goto(f"{site}/hasil/{desa}")
    await page.evaluate("window.sameDocument = true")  # gone if the page reloads
    row = page.locator(f'tr[data-child="{OTHER}"]')
    await expect(row.locator("td.none")).to_have_text("belum masuk")
    numbers = consistent(3)
    conn = await asyncpg.connect(newsroom_db)
    try:
        await record(conn, OTHER, numbers)
    finally:
        await conn.close()
    shown = f"{numbers['suara_paslon_1']:,}".replace(",", ".")
    await expect(row.locator("td.n").first).to_have_text(shown, timeout=30_000)
    assert await page.evaluate("window.sameDocument === true")
    await context.close()
