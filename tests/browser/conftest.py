"""Real headless Chromium (Debian's ``chromium``, which ``make test`` installs) driven by Playwright;
each test saves its screenshots under ``artifacts/screenshots``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "artifacts" / "screenshots"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make test` installs it (deploy/local)"
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield chromium
        await chromium.close()


class Screenshots:
    def __init__(self, test: str) -> None:
        self.prefix = re.sub(r"\W+", "-", test).strip("-")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(self, page: Page, step: str) -> Path:
        path = SCREENSHOTS / f"{self.prefix}--{step}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name)
