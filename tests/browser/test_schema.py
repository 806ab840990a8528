"""/schema in real headless Chromium with every other host unreachable: Redoc, served by rekap,
draws the API's description under the page's sandboxed policy, and asks no other host for
anything."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Route, expect

from tests.browser.conftest import DESKTOP, Screenshots
from tests.conftest import scratch_database, serving

LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
"""Redoc's attribution logo, written into its bundle: the policy refuses it before any request
is made, and Redoc drops the image when it does not load."""
WATCH = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


@pytest.fixture(scope="module")
async def schema_db(template_db: str) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        yield url


@pytest.fixture(scope="module")
def api(schema_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    env = {
        "REKAP_DATABASE_URL": schema_db,
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("schema-photos")),
        "REKAP_REDIS_PREFIX": f"test-schema-{uuid.uuid4().hex[:8]}",
    }
    with serving(env) as client:
        yield client


async def test_the_schema_page_draws_without_internet(
    api: httpx.Client, browser: Browser, screenshots: Screenshots
) -> None:
    rekap = urlsplit(str(api.base_url)).netloc
    elsewhere: list[str] = []

    async def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == rekap or route.request.url.startswith(("blob:", "data:")):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")

    context = await browser.new_context(**DESKTOP)  # type: ignore[arg-type]
    await context.add_init_script(WATCH)
    await context.route("**/*", offline)
    page = await context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if _refusal(m) else None)

    await page.goto(str(api.base_url).rstrip("/") + "/schema")
    await expect(page.locator("h1").first).to_contain_text("rekap", timeout=20_000)
    await expect(page.get_by_text("/api/v1/public/ppwp/export/{filename}").first).to_be_attached()
    await screenshots.take(page, "redoc")
    await page.evaluate("new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))")
    assert set(await page.evaluate("window.violations")) <= {f"img-src blocked {LOGO}"}
    assert [p for p in problems if LOGO not in p] == []
    assert elsewhere == []  # nothing left the browser for another host
    await expect(page.locator(f'img[src="{LOGO}"]')).to_have_count(0)
    await context.close()


def _refusal(message: ConsoleMessage) -> bool:
    return message.type == "error" or "Content Security Policy" in message.text
