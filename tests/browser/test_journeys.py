"""The three journeys of the web pages in real headless Chromium, against a real server, OCR worker,
PostgreSQL and Redis: a KPPS sends the three pages from a phone (the connection dropping on the
way), two recap officers resolve a TPS whose numbers do not add up, and the public follows the
results from the nation down to the TPS."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import cv2
import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from service.regions.registry import import_registry
from service.users.model import Role
from service.users.store import upsert_user
from tests.browser.conftest import DESKTOP, PHONE, Screenshots
from tests.conftest import Server, Synthetic, WorkerProcess, bearer, scratch_database
from tests.registry_files import kpu_registry

PASSWORD = "journey-pass-1"
PHONED = "3404072001001"
"""The TPS whose KPPS photographs the form in the first journey."""
HELD = "3404072001002"
"""Photographed with page 2 of another TPS's form: its numbers cannot add up."""
DESA = HELD[:10]
OFFICERS = ("ppk.depok", "ppk2.depok")
READ_S = 90_000


@pytest.fixture(scope="module")
async def journey_db(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("journeys")))
            for tps in (PHONED, HELD):
                await upsert_user(
                    conn,
                    username=f"kpps.{tps}",
                    display_name=f"KPPS {tps}",
                    role=Role.KPPS,
                    secret=PASSWORD,
                    tps_code=tps,
                )
            for n, username in enumerate(OFFICERS, start=1):
                await upsert_user(
                    conn,
                    username=username,
                    display_name=f"Petugas PPK Depok {n}",
                    role=Role.OFFICER,
                    secret=PASSWORD,
                    scope_region="340407",
                )
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="module")
def site(journey_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "REKAP_DATABASE_URL": journey_db,
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("journey-photos")),
        "REKAP_REDIS_PREFIX": f"test-journeys-{uuid.uuid4().hex[:8]}",
    }
    server = Server(env)
    worker = WorkerProcess(env)
    try:
        server.wait_until_listening()
        yield server.url
    finally:
        worker.stop()
        worker.log.unlink(missing_ok=True)
        server.stop()


@pytest.fixture(scope="module")
def api(site: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, timeout=30) as client:
        yield client


def wait_for(check: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise TimeoutError(f"waited {timeout} s for {what}")


@pytest.fixture(scope="module")
def held(api: httpx.Client, synthetic: Synthetic) -> dict[str, int]:
    """HELD sent through the API with page 2 of the other synthetic TPS, and read by the worker;
    returns the true numbers of its own form, which the officers restore."""
    other, own = sorted(synthetic.values)
    kpps = bearer(api, f"kpps.{HELD}", PASSWORD)
    for page, source in ((1, own), (2, other), (3, own)):
        sent = api.post(
            f"/api/v1/tps/{HELD}/ppwp/photos",
            content=synthetic.page(source, page).read_bytes(),
            headers={**kpps, "Content-Type": "image/jpeg"},
            params={"page": page},
        )
        assert sent.status_code == 201, sent.text

    def flagged() -> bool:
        pages = api.get(f"/api/v1/tps/{HELD}/ppwp", headers=kpps).json()["pages"]
        states = {p["state"] for p in pages}
        return "needs_review" in states and states <= {"needs_review"}

    wait_for(flagged, "the worker to read HELD and hold it for review")
    return synthetic.values[own]


async def log_in(page: Page, username: str) -> None:
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", PASSWORD)
    await page.click("#login button")
    await expect(page.locator("#who")).to_contain_text("Masuk sebagai")


async def reload_until(page: Page, locator: Locator, text: str, timeout: float = 30) -> None:
    """Public pages are plain HTML: reload until the published number shows."""
    deadline = time.monotonic() + timeout
    while (await locator.inner_text()).strip() != text:
        assert time.monotonic() < deadline, f"{locator} never showed {text!r}"
        await page.wait_for_timeout(300)
        await page.reload()


async def assert_fits(page: Page) -> None:
    """Readable without sideways scrolling: nothing wider than the screen (tables scroll in their box)."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"  # type: ignore[index]


def angka(n: int) -> str:
    return f"{n:,}".replace(",", ".")


async def test_a_kpps_sends_the_three_pages_from_a_phone(
    browser: Browser, site: str, api: httpx.Client, synthetic: Synthetic, screenshots: Screenshots
) -> None:
    truth_tps = sorted(synthetic.values)[0]
    truth = synthetic.values[truth_tps]
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    await page.goto(f"{site}/kpps")
    await assert_fits(page)
    await screenshots.take(page, "1-login")
    await log_in(page, f"kpps.{PHONED}")
    await expect(page.locator("h1")).to_contain_text(PHONED)

    def card(n: int) -> Locator:
        return page.locator(f'.page[data-page="{n}"]')

    # The page keeps itself on the phone (a service worker) before the signal goes.
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    for n in (1, 2):
        await card(n).locator("input[type=file]").set_input_files(synthetic.page(truth_tps, n))
        await expect(card(n).locator(".state")).not_to_have_text(
            re.compile("Belum ada foto|Menyiapkan|Mengunggah")
        )
    # The signal drops as the third page is sent: the phone keeps the photo, the KPPS closes the
    # tab, opens the page again without a signal, and the photo is sent once the signal is back.
    await context.set_offline(True)
    await card(3).locator("input[type=file]").set_input_files(synthetic.page(truth_tps, 3))
    await expect(card(3).locator(".state")).to_contain_text("Gagal terkirim", timeout=10_000)
    await expect(page.locator("#net")).to_be_visible()
    await screenshots.take(page, "2-offline")
    await page.close()
    page = await context.new_page()
    opened = await page.goto(f"{site}/kpps")
    assert opened is not None and opened.ok and opened.from_service_worker
    await expect(page.locator("#outbox")).to_contain_text("1 foto tersimpan di ponsel ini")
    await screenshots.take(page, "2b-reopened-offline")
    await context.set_offline(False)
    await log_in(page, f"kpps.{PHONED}")
    for n in (1, 2, 3):
        await expect(card(n).locator(".state")).to_have_text("Dipublikasikan", timeout=READ_S)
    await expect(page.locator("#outbox")).to_be_hidden()
    # The numbers read, page by page, for the KPPS to check against the paper.
    for name in ("suara_paslon_1", "suara_paslon_2", "suara_paslon_3"):
        await expect(card(2).locator(f'tr[data-field="{name}"] td.n')).to_have_text(str(truth[name]))
    # "angka ini salah" reaches the officers with the field.
    await card(2).locator('tr[data-field="suara_paslon_2"] button').click()
    await expect(card(2).locator('tr[data-field="suara_paslon_2"]')).to_contain_text("dilaporkan ke petugas")
    await assert_fits(page)
    await screenshots.take(page, "3-read")

    kpps = bearer(api, f"kpps.{PHONED}", PASSWORD)
    status = api.get(f"/api/v1/tps/{PHONED}/ppwp", headers=kpps).json()
    assert [(p["page"], p["versions"]) for p in status["pages"]] == [(1, 1), (2, 1), (3, 1)]
    assert status["waiting"] == [] and status["state"] == "published"  # the kept photo arrived once
    read = {name: f["value"] for p in status["pages"] for name, f in p["fields"].items()}
    assert read["suara_sah"] == truth["suara_sah"]

    # An officer asks for a new photo of page 2: the phone shows why, until a new one is sent.
    officer = bearer(api, OFFICERS[0], PASSWORD)
    flagged = api.get(f"/api/v1/review/{PHONED}", headers=officer).json()["flags"]
    assert [f["field"] for f in flagged] == ["suara_paslon_2"]
    assert api.post(f"/api/v1/review/{PHONED}/claim", json={}, headers=officer).status_code == 200
    why = "Halaman 2 terpotong di sisi kanan, foto ulang seluruh halaman"
    asked = api.post(f"/api/v1/review/{PHONED}/retake", json={"page": 2, "reason": why}, headers=officer)
    assert asked.status_code == 201, asked.text
    # Once every page is read the phone asks every 30 s (every 4 s while a page is being read),
    # and at once when it is shown again: the KPPS comes back to the page.
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await expect(card(2).locator(".retake")).to_contain_text(why, timeout=45_000)
    await expect(card(1).locator(".retake")).to_be_hidden()
    await screenshots.take(page, "4-retake-requested")
    ok, again = cv2.imencode(
        ".jpg", cv2.imread(str(synthetic.page(truth_tps, 2))), [cv2.IMWRITE_JPEG_QUALITY, 80]
    )
    assert ok
    await (
        card(2)
        .locator("input[type=file]")
        .set_input_files(
            files=[{"name": "halaman2.jpg", "mimeType": "image/jpeg", "buffer": again.tobytes()}]
        )
    )
    await expect(card(2).locator(".retake")).to_be_hidden(timeout=READ_S)
    await expect(card(2).locator(".state")).to_have_text("Dipublikasikan", timeout=READ_S)
    await screenshots.take(page, "5-retaken")
    await context.close()


async def test_two_officers_resolve_a_held_tps_and_the_public_sees_the_new_totals(
    browser: Browser, site: str, api: httpx.Client, held: dict[str, int], screenshots: Screenshots
) -> None:
    before = api.get(f"/api/v1/public/ppwp/regions/{DESA}").json()

    # The second officer looks at the TPS first: looking claims nothing.
    second = await (await browser.new_context(**DESKTOP)).new_page()
    await second.goto(f"{site}/petugas/tps/{HELD}")
    await log_in(second, OFFICERS[1])
    await expect(second.locator(".place")).to_contain_text("TPS 002")
    await expect(second.locator("#take")).to_be_visible()
    await expect(second.locator("#decide button[value=correct]")).to_be_disabled()

    # The first officer finds the TPS in the queue, sees the photo and the crops, and corrects it.
    first = await (await browser.new_context(**DESKTOP)).new_page()
    await first.goto(f"{site}/petugas")
    await log_in(first, OFFICERS[0])
    row = first.locator(f'tr[data-tps="{HELD}"]')
    await expect(row).to_contain_text("Tinjauan")
    await screenshots.take(first, "1-queue")
    await row.locator("a").click()
    await first.click("#take")
    await expect(first.locator(".claim")).to_contain_text("Anda pegang")
    # Confirming numbers that break a blocking rule asks again, naming the rule, next to the buttons.
    await first.fill("#decide textarea[name=reason]", "Sesuai foto")
    await first.click("#decide button[value=confirm]")
    await expect(first.locator("#decide .error")).to_contain_text("melanggar aturan yang memblokir")
    assert api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()["numbers"] is None
    await expect(first.locator(".findings li").first).to_be_visible()
    await expect(first.locator("tr.flagged").first).to_be_visible()
    await expect(first.locator(".viewer .frame img")).to_have_attribute("src", re.compile(r"^blob:"))
    await expect(first.locator("td.crop img").first).to_be_visible()
    await first.click("[data-zoom='1']")
    await expect(first.locator(".viewer .frame img")).to_have_attribute("style", "width: 150%;")
    changed = {}
    for name, value in held.items():
        field = first.locator(f"#decide input[name={name}]")
        if await field.count() and await field.input_value() != str(value):
            await field.fill(str(value))
            changed[name] = value
    assert changed, "the held TPS showed its true numbers already"
    await first.fill("#decide textarea[name=reason]", "Halaman 2 milik TPS lain; angka dari salinan C.Hasil")
    await assert_fits(first)
    await screenshots.take(first, "2-correcting")
    await first.click("#decide button[value=correct]")
    await expect(first.locator("#decide .said")).to_contain_text("Koreksi diusulkan")
    await expect(first.locator("h1 .state")).to_have_text("Menunggu persetujuan petugas kedua")
    await screenshots.take(first, "3-proposed")
    # Nothing is published before a second officer approves.
    assert api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()["numbers"] is None

    # The second officer sees only what changed and approves it.
    await second.goto(f"{site}/petugas")
    row = second.locator(f'tr[data-tps="{HELD}"]')
    await expect(row).to_contain_text("Persetujuan koreksi")
    await row.locator("a").click()
    await second.click("#take")
    await expect(second.locator(".correction")).to_contain_text(f"Koreksi oleh {OFFICERS[0]}")
    summary = await second.locator(".correction").inner_text()
    assert summary.count("→") == len(changed), summary
    await expect(second.locator("#decide button[value=correct]")).to_be_hidden()
    await second.fill("#decide textarea[name=reason]", "Sesuai foto halaman 1 dan 3 dan salinan")
    await screenshots.take(second, "4-approving")
    await second.click("#decide button[value=approve]")
    await expect(second.locator("#decide .said")).to_contain_text("disetujui dan dipublikasikan")
    await expect(second.locator("h1 .state")).to_have_text("Dipublikasikan")

    # The public follows the results from the nation down to the TPS, on a phone.
    public = await (await browser.new_context(**PHONE)).new_page()
    await public.goto(f"{site}/hasil")
    for code in (DESA[:2], DESA[:4], DESA[:6], DESA):
        await public.click(f'a[href="/hasil/{code}"]')
        await expect(public).to_have_url(f"{site}/hasil/{code}")
    expected = before["suara_sah"] + held["suara_sah"]
    await reload_until(public, public.locator("#suara-sah"), angka(expected))
    # A TPS not reported reads "belum masuk", not the zeros of a TPS without votes.
    await expect(public.locator("h2").first).to_have_text("TPS")
    await expect(public.locator(f'table.children tr:has(a[href="/hasil/{DESA}003"]) td.none')).to_have_text(
        "belum masuk"
    )
    await assert_fits(public)
    await screenshots.take(public, "5-public-desa")
    await public.click(f'a[href="/hasil/{HELD}"]')
    await expect(public.locator(".state")).to_have_text("Dipublikasikan")
    for name in ("suara_paslon_1", "suara_paslon_2", "suara_paslon_3", "suara_sah"):
        await expect(public.locator(f'td[data-field="{name}"]')).to_have_text(str(held[name]))
    await expect(public.locator(".photos img")).to_have_count(3)
    await expect(public.locator(".history")).to_contain_text(OFFICERS[1])
    history = await public.locator(".history").inner_text()
    assert "WIB" in history and "oleh sistem (penerimaan foto)" in history and "intake" not in history
    await assert_fits(public)
    await screenshots.take(public, "6-public-tps")


async def test_a_page_sent_again_after_publication_changes_nothing_public_until_an_officer_decides(
    browser: Browser, site: str, api: httpx.Client, synthetic: Synthetic, held: dict[str, int]
) -> None:
    """After the officers published HELD (the test above), its KPPS sends page 2 of the other
    TPS's form again: the public numbers stay; the phone says an officer decides; one does."""
    published = api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()
    assert published["state"] == "published", "runs after the officers' journey"
    other = sorted(synthetic.values)[0]
    kpps = bearer(api, f"kpps.{HELD}", PASSWORD)
    ok, again = cv2.imencode(
        ".jpg", cv2.imread(str(synthetic.page(other, 2))), [cv2.IMWRITE_JPEG_QUALITY, 75]
    )
    assert ok
    # The KPPS sends it from the phone: the card says an officer decides; nothing public changes.
    phone = await (await browser.new_context(**PHONE)).new_page()
    await phone.goto(f"{site}/kpps")
    await log_in(phone, f"kpps.{HELD}")
    await phone.locator('.page[data-page="2"] input[type=file]').set_input_files(
        files=[{"name": "halaman2.jpg", "mimeType": "image/jpeg", "buffer": again.tobytes()}]
    )
    card = phone.locator('.page[data-page="2"] .state')
    await expect(card).to_have_text("Foto baru menunggu keputusan petugas", timeout=READ_S)
    assert api.get(f"/api/v1/tps/{HELD}/ppwp", headers=kpps).json()["new_reading"]
    assert api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()["numbers"] == published["numbers"]

    officer = await (await browser.new_context(**DESKTOP)).new_page()
    await officer.goto(f"{site}/petugas")
    await log_in(officer, OFFICERS[0])
    row = officer.locator(f'tr[data-tps="{HELD}"]')
    await expect(row).to_contain_text("Foto baru")
    await row.locator("a").click()
    await expect(officer.locator(".newreading li").first).to_contain_text("→")
    await officer.click("#take")
    await officer.fill("#decide textarea[name=reason]", "Halaman 2 milik TPS lain, bukan formulir TPS ini")
    await officer.click(".newreading button[data-adopt='0']")
    await expect(officer.locator("#decide .said")).to_contain_text("Foto baru diabaikan")
    assert api.get(f"/api/v1/public/ppwp/tps/{HELD}").json()["numbers"] == published["numbers"]
    await expect(card).to_have_text("Dipublikasikan", timeout=10_000)  # within the phone's 2 s poll

    # Sent once more, and this time taken back to review: its numbers break a blocking rule, so
    # confirming them asks again, naming the rule; the second press publishes them.
    ok, third = cv2.imencode(
        ".jpg", cv2.imread(str(synthetic.page(other, 2))), [cv2.IMWRITE_JPEG_QUALITY, 70]
    )
    assert ok
    sent = api.post(
        f"/api/v1/tps/{HELD}/ppwp/photos",
        content=third.tobytes(),
        headers={**kpps, "Content-Type": "image/jpeg"},
        params={"page": 2},
    )
    assert sent.status_code == 201, sent.text
    wait_for(
        lambda: api.get(f"/api/v1/tps/{HELD}/ppwp", headers=kpps).json()["new_reading"], "the third photo"
    )
    await officer.goto(f"{site}/petugas/tps/{HELD}")
    await officer.click("#take")
    await officer.fill("#decide textarea[name=reason]", "KPPS menegaskan halaman 2 ini benar")
    await officer.click(".newreading button[data-adopt='1']")
    await expect(officer.locator("#decide .said")).to_contain_text("kembali ke antrian tinjauan")
    public = f"/api/v1/public/ppwp/tps/{HELD}"
    wait_for(
        lambda: api.get(public).json()["numbers"] is None, "the officer's withdrawal to reach the public"
    )
    await officer.goto(f"{site}/petugas/tps/{HELD}")
    await officer.click("#take")
    await officer.fill(
        "#decide textarea[name=reason]", "Dicocokkan dengan salinan C.Hasil yang ditandatangani saksi"
    )
    await officer.click("#decide button[value=confirm]")
    await expect(officer.locator("#decide .error")).to_contain_text("melanggar aturan yang memblokir")
    assert api.get(public).json()["numbers"] is None
    await officer.click("#decide button[value=confirm]")
    await expect(officer.locator("#decide .said")).to_contain_text("disahkan dan dipublikasikan")
    wait_for(lambda: api.get(public).json()["state"] == "published", "the signed-off numbers to be published")


PAGES = ("/hasil", f"/hasil/{DESA}", f"/hasil/{HELD}", "/kpps", "/petugas", f"/petugas/tps/{HELD}")
BUDGET = 32 * 1024
"""Bytes of a page's HTML with its stylesheet and scripts, uncompressed: a slow phone connection."""


def test_each_page_with_its_assets_stays_small(api: httpx.Client) -> None:
    for path in PAGES:
        page = api.get(path)
        assert page.status_code == 200, path
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
        assert "/static/rekap.css" in assets, path
        total = len(page.content) + sum(len(api.get(a).content) for a in assets)
        assert total <= BUDGET, f"{path}: {total} bytes with {assets}"


def test_a_page_that_cannot_be_shown_says_why_in_html(api: httpx.Client) -> None:
    malformed = api.get("/hasil/34x")
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("text/html")
    assert "Alamat tidak valid" in malformed.text and "34x" in malformed.text
    unknown = api.get("/hasil/3404072001999")
    assert unknown.status_code == 404 and "Tidak ditemukan" in unknown.text
    assert api.get("/petugas/tps/3404").status_code == 400
    # The API itself still answers in JSON.
    assert api.get("/api/v1/public/ppwp/tps/3404072001999").json()["error"] == "NotFound"
