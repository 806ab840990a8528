"""The pages under their Content-Security-Policy (service/http/headers.py) in real headless
Chromium: each page, signed in where it asks for it and used, reports no violation — neither the
``securitypolicyviolation`` event, nor a console message, nor an uncaught Trusted Types error —
while a script injected into the page is refused. "Keluar" ends the session on the server, and
a session ended elsewhere brings the login form back, saying so."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, Route, expect

from service.regions.registry import import_registry
from service.results import workflow
from service.users.model import Role
from service.users.store import upsert_user
from tests.browser.conftest import DESKTOP, PHONE
from tests.conftest import bearer, scratch_database, serving
from tests.registry_files import kpu_registry
from tests.security.conftest import page_photo, store_read_photo
from tests.tps_numbers import consistent, decoded, decoding, record

PASSWORD = "csp-pass-1"
PUBLISHED = "3404072001001"
HELD = "3404072001002"
"""A rule broken, a photo of page 1: the review page shows it (a ``blob:`` image)."""
KPPS = f"kpps.{HELD}"
OFFICER = "ppk.depok"

WATCH = """
window.violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""
"""Run in every document before its own scripts (Playwright's init scripts are not subject to CSP)."""


async def _held_with_photo(conn: asyncpg.Connection, storage: Path, kpps: int) -> None:
    await store_read_photo(conn, storage, HELD, kpps, page_photo(1), (800, 1100))
    wrong = consistent(2) | {"suara_paslon_1": consistent(2)["suara_paslon_1"] + 500}
    await workflow.record_decoding(conn, HELD, decoding(wrong), await decoded(conn, HELD))


@pytest.fixture(scope="module")
async def csp_db(
    template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Path]]:
    storage = tmp_path_factory.mktemp("csp-photos")
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("csp")))
            kpps = await upsert_user(
                conn, username=KPPS, display_name="KPPS", role=Role.KPPS, secret=PASSWORD, tps_code=HELD
            )
            await upsert_user(
                conn,
                username=OFFICER,
                display_name="Petugas PPK Depok",
                role=Role.OFFICER,
                secret=PASSWORD,
                scope_region="340407",
            )
            await record(conn, PUBLISHED, consistent(1))
            await _held_with_photo(conn, storage, kpps.id)
        finally:
            await conn.close()
        yield url, storage


@pytest.fixture(scope="module")
def api(csp_db: tuple[str, Path]) -> Iterator[httpx.Client]:
    url, storage = csp_db
    env = {
        "REKAP_DATABASE_URL": url,
        "REKAP_STORAGE_DIR": str(storage),
        "REKAP_REDIS_PREFIX": f"test-csp-{uuid.uuid4().hex[:8]}",
    }
    with serving(env) as client:
        yield client


def site(api: httpx.Client, path: str) -> str:
    return str(api.base_url).rstrip("/") + path


class Watched:
    """A tab whose every report of a refused script, style, image or DOM write is kept."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    @classmethod
    async def open(cls, browser: Browser, device: dict[str, object]) -> Watched:
        context = await browser.new_context(**device)  # type: ignore[arg-type]
        await context.add_init_script(WATCH)
        return cls(await context.new_page())

    def _console(self, message: ConsoleMessage) -> None:
        if any(w in message.text for w in ("Content Security Policy", "Trusted Type", "TrustedHTML")):
            self.console.append(message.text)

    async def violations(self) -> list[str]:
        reported: list[str] = await self.page.evaluate("window.violations")
        return reported + self.console + self.errors

    async def assert_clean(self) -> None:
        """After the reports already queued (violation events are dispatched as tasks)."""
        await self.page.evaluate("new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)))")
        assert await self.violations() == [], self.page.url

    async def log_in(self, username: str) -> None:
        await self.page.fill("#login input[name=username]", username)
        await self.page.fill("#login input[name=password]", PASSWORD)
        await self.page.click("#login button")
        await expect(self.page.locator("#who")).to_contain_text("Masuk sebagai")

    async def token(self) -> str | None:
        token: str | None = await self.page.evaluate(
            "JSON.parse(sessionStorage.getItem('rekap.session') || '{}').token || null"
        )
        return token


async def test_the_public_pages_keep_to_their_policy(api: httpx.Client, browser: Browser) -> None:
    tab = await Watched.open(browser, PHONE)
    for path in ("/hasil", "/hasil/34", "/hasil/3404072001", f"/hasil/{PUBLISHED}", "/hasil/34x"):
        await tab.page.goto(site(api, path))
        await expect(tab.page.locator("h1")).not_to_be_empty()
        await tab.assert_clean()
    await tab.page.goto(site(api, "/hasil"))
    # The share bars: a <meter> each, where a style attribute would be refused.
    await expect(tab.page.locator(".pairs meter.bar")).to_have_count(3)
    width = await tab.page.locator(".pairs meter.bar").first.evaluate("m => m.getBoundingClientRect().width")
    assert width > 200
    await tab.assert_clean()


async def test_the_kpps_page_keeps_to_its_policy(api: httpx.Client, browser: Browser, tmp_path: Path) -> None:
    tab = await Watched.open(browser, PHONE)
    await tab.page.goto(site(api, "/kpps"))
    await tab.log_in(KPPS)
    await expect(tab.page.locator("h1")).to_contain_text(HELD)
    picture = tmp_path / "halaman-2.jpg"
    picture.write_bytes(page_photo(1))
    page2 = tab.page.locator('.page[data-page="2"]')
    await page2.locator("input[type=file]").set_input_files(picture)
    await expect(page2.locator(".state")).not_to_have_text("Belum ada foto")
    await expect(page2.locator(".state")).not_to_contain_text("Mengunggah")
    await tab.assert_clean()


async def test_the_officer_pages_keep_to_their_policy(api: httpx.Client, browser: Browser) -> None:
    tab = await Watched.open(browser, DESKTOP)
    await tab.page.goto(site(api, "/petugas"))
    await tab.log_in(OFFICER)
    await tab.page.click(f'a[href="/petugas/tps/{HELD}"]')
    photo_shown = tab.page.locator(".viewer .frame img")
    await expect(photo_shown).to_have_attribute("src", re.compile(r"^blob:"))
    await tab.page.click("button[data-zoom='1']")  # a style set by the script, not an attribute
    await expect(photo_shown).to_have_attribute("style", "width: 150%;")
    await tab.assert_clean()


async def test_a_script_injected_into_a_page_is_refused(api: httpx.Client, browser: Browser) -> None:
    """What the policy is for: markup that reaches the page as text — as if a template had let a
    user's words through unescaped — runs no script, and the scripts cannot write markup."""
    tab = await Watched.open(browser, DESKTOP)
    injected = (
        b"<script>window.ran = 'inline'</script><img src=x onerror=\"window.ran = 'attribute'\">"
        b'<a id=injected href="javascript:window.ran = \'link\'">x</a><p style="color: red">x</p>'
    )

    async def tampered(route: Route) -> None:
        answer = await route.fetch()
        body = (await answer.body()).replace(b"</main>", injected + b"</main>")
        await route.fulfill(response=answer, body=body)  # its headers, the policy among them

    await tab.page.route("**/petugas", tampered)
    await tab.page.goto(site(api, "/petugas"))
    await tab.log_in(OFFICER)
    await tab.page.click("#injected")
    with pytest.raises(Error, match="TrustedHTML"):
        await tab.page.evaluate("document.querySelector('main').innerHTML = '<img src=x>'")
    with pytest.raises(Error, match="TrustedScriptURL"):
        await tab.page.evaluate("document.createElement('script').src = '/static/x.js'")
    assert await tab.page.evaluate("window.ran") is None
    # The events are queued: wait for the last one's.
    await tab.page.wait_for_function("window.violations.some(v => v.startsWith('require-trusted-types'))")
    reported = await tab.page.evaluate("window.violations")
    for directive in ("script-src-elem", "script-src-attr", "style-src-attr", "require-trusted-types-for"):
        assert any(v.startswith(directive) for v in reported), (directive, reported)
    assert await tab.token() is not None  # the page itself works on


async def test_keluar_ends_the_session_on_the_server(api: httpx.Client, browser: Browser) -> None:
    tab = await Watched.open(browser, DESKTOP)
    await tab.page.goto(site(api, "/petugas"))
    await tab.log_in(OFFICER)
    token = await tab.token()
    assert token is not None
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    await tab.page.click("#logout")
    await expect(tab.page.locator("#login .notice")).to_have_text("Anda sudah keluar.")
    await expect(tab.page.locator("#login")).to_be_visible()
    await expect(tab.page.locator("#who")).to_be_hidden()
    assert await tab.token() is None
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    await tab.assert_clean()


async def test_an_ended_session_returns_to_the_login_form(api: httpx.Client, browser: Browser) -> None:
    """The session ends while the page is open (another tab's "Keluar", the token's lifetime):
    the next call is refused with 401, and the page asks the user to log in again."""
    tab = await Watched.open(browser, PHONE)
    await tab.page.goto(site(api, "/kpps"))
    await tab.log_in(KPPS)
    token = await tab.token()
    assert api.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    await tab.page.reload()  # the page still holds the token, and calls the API with it
    await expect(tab.page.locator("#login .notice")).to_have_text(
        "Sesi Anda sudah berakhir. Silakan masuk lagi."
    )
    await expect(tab.page.locator("#tps")).to_be_hidden()
    assert await tab.token() is None
    await tab.log_in(KPPS)  # and logging in again works from there
    await expect(tab.page.locator("#login .notice")).to_be_hidden()
    other = bearer(api, KPPS, PASSWORD)  # a session of the same user elsewhere is not touched
    assert api.get("/api/v1/auth/me", headers=other).status_code == 200
