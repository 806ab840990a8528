"""The public answers show published numbers only: a TPS held for review, or corrected by one
officer and waiting for a second, is absent from every document, export, page and photo, and a
TPS taken back from publication by a new reading disappears from them too, cached copies included.

tests/e2e/test_public_api.py checks the held TPS's own documents, its desa's children, the
CSV and NIST exports and its photo; this adds the corrected-but-unapproved state, every level's
totals in every shape (versioned, KPU's, the web pages, the officers' recap totals) and the
withdrawal.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from ocr.form import PAIRS
from service.public import export
from service.results import store, workflow
from service.results.states import TpsState
from service.review import store as review
from service.users.model import Role
from service.users.store import upsert_user
from service.web.labels import STATE
from tests.security.conftest import (
    HELD,
    HELD_NUMBERS,
    JAGAKARSA,
    PHOTOS,
    PUBLISHED,
    REVIEWED,
    REVIEWED_READ,
)
from tests.tps_numbers import consistent, decoded, decoding, record

UNPUBLISHED = (HELD, REVIEWED)
PATH = ("34", "3404", "340407", "3404072001")
"""The regions above the TPS, province first."""
TRUTH = consistent(1)
"""The numbers of the one published TPS: every total above it is these."""
MARKERS = {
    HELD_NUMBERS["suara_paslon_1"],
    REVIEWED_READ["suara_paslon_2"],
}
"""Numbers read from the unpublished TPS that no published number or sum equals."""


def kpu_path(code: str) -> str:
    parts = [code[:n] for n in (2, 4, 6, 10, 13) if len(code) >= n]
    return "/pemilu/hhcw/ppwp/" + "/".join(parts) + ".json"


def public_paths(version: int) -> list[str]:
    regions = ["nasional", *PATH]
    tps = [PUBLISHED, *UNPUBLISHED]
    return [
        *(f"/api/v1/public/ppwp/regions/{c}" for c in regions),
        *(f"/api/v1/public/ppwp/v/{version}/regions/{c}" for c in regions),
        *(f"/api/v1/public/ppwp/tps/{c}" for c in tps),
        "/pemilu/hhcw/ppwp.json",
        *(kpu_path(c) for c in [*PATH, *tps]),
        "/wilayah/pemilu/ppwp/0.json",
        "/wilayah/pemilu/ppwp/34/3404/340407/3404072001.json",
        "/api/v1/public/ppwp/export/34.csv",
        *(f"/api/v1/public/ppwp/export/nist/{c}.json" for c in regions),
        "/hasil",
        *(f"/hasil/{c}" for c in [*PATH, *tps]),
    ]


def fetched(api: httpx.Client, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    response = api.get(path, headers=headers, follow_redirects=True)
    assert response.status_code == 200, (path, response.text[:300])
    return response


def test_no_unpublished_number_appears_in_any_public_answer(
    api: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    version = api.get("/api/v1/public/ppwp/version").json()["version"]
    officer = login("kpu.sleman")
    answers = {path: fetched(api, path).text for path in public_paths(version)}
    # Not public, but published numbers only too: the recap officers' totals.
    for code in ("nasional", *PATH):
        path = f"/api/v1/recap/totals/{code}"
        answers[path] = fetched(api, path, officer).text
    for path, text in answers.items():
        found = {n for n in MARKERS if re.search(rf"(?<![\d.]){n}(?![\d.])", text)}
        assert found == set(), (path, found)


def test_every_total_above_the_tps_counts_the_published_tps_alone(
    api: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    version = api.get("/api/v1/public/ppwp/version").json()["version"]
    votes = [TRUTH[p] for p in PAIRS]
    for code in ("nasional", *PATH):
        for path in (
            f"/api/v1/public/ppwp/regions/{code}",
            f"/api/v1/public/ppwp/v/{version}/regions/{code}",
        ):
            region = fetched(api, path).json()
            assert [c["votes"] for c in region["candidates"]] == votes, path
            assert (region["suara_sah"], region["suara_tidak_sah"], region["suara_total"]) == (
                TRUTH["suara_sah"],
                TRUTH["suara_tidak_sah"],
                TRUTH["suara_total"],
            ), path
            assert region["progress"]["tps_published"] == 1, path
        kpu = fetched(api, "/pemilu/hhcw/ppwp.json" if code == "nasional" else kpu_path(code)).json()
        assert [kpu["chart"][k] for k in sorted(k for k in kpu["chart"] if k.isdigit())] == votes, code
        totals = fetched(api, f"/api/v1/recap/totals/{code}", login("admin.rekap")).json()
        assert totals["numbers"] == {k: TRUTH.get(k, 0) for k in totals["numbers"]}, code
        assert (
            totals["tps_published"] == 1 and totals["tps_needs_review"] == 1 and totals["tps_reviewed"] == 1
        )
    desa = fetched(api, "/api/v1/public/ppwp/regions/3404072001").json()
    for child in desa["children"]:
        if child["code"] in UNPUBLISHED:
            assert child["votes"] == [0, 0, 0] and child["suara_sah"] == 0, child


@pytest.mark.parametrize("tps", UNPUBLISHED)
def test_an_unpublished_tps_shows_its_state_and_nothing_it_read(api: httpx.Client, tps: str) -> None:
    document = fetched(api, f"/api/v1/public/ppwp/tps/{tps}").json()
    assert document["state"] == ("needs_review" if tps == HELD else "reviewed")
    assert document["published"] is False and document["numbers"] is None and document["photos"] == []
    assert all(e["numbers_after"] == {} and e["numbers_before"] is None for e in document["history"])
    kpu = fetched(api, kpu_path(tps)).json()
    assert kpu["administrasi"] is None and set(kpu["chart"].values()) == {None}
    assert kpu["images"] == [None, None, None] and kpu["status_suara"] is False
    rows = {
        r["kode_tps"]: r
        for r in csv.DictReader(io.StringIO(fetched(api, "/api/v1/public/ppwp/export/34.csv").text))
    }
    assert rows[tps]["status"] == STATE[document["state"]]
    assert {rows[tps][c] for c in export.NUMBERS} == {""}
    report = fetched(api, "/api/v1/public/ppwp/export/nist/3404072001.json").json()
    (contest,) = report["Election"][0]["Contest"]
    counted = {c["GpUnitId"] for s in contest["ContestSelection"] for c in s["VoteCounts"]}
    counted |= {c["GpUnitId"] for c in report["Election"][0]["BallotCounts"]}
    assert f"gp-{tps}" not in counted and f"gp-{PUBLISHED}" in counted
    photo = api.get(f"/api/v1/public/photos/{hashlib.sha256(PHOTOS[tps]).hexdigest()}")
    assert photo.status_code == 404 and photo.json()["message"]
    assert photo.content != PHOTOS[tps]


def test_the_published_tps_photo_is_public(api: httpx.Client) -> None:
    """The control for the 404s above: the same endpoint serves a published TPS's photo."""
    (photo,) = fetched(api, f"/api/v1/public/ppwp/tps/{PUBLISHED}").json()["photos"]
    assert fetched(api, photo["url"]).content == PHOTOS[PUBLISHED]


def wait_for_version(api: httpx.Client, after: int) -> None:
    deadline = time.monotonic() + 15
    while api.get("/api/v1/public/ppwp/version").json()["version"] <= after:
        assert time.monotonic() < deadline, "the change was not announced"
        time.sleep(0.1)


async def test_a_tps_taken_back_from_publication_leaves_every_answer(
    api: httpx.Client, security_db: str
) -> None:
    """A new photo reads other numbers that break a rule: nothing public changes until an officer
    takes them back to review; then its numbers leave the documents already cached (and answered
    from memory ahead of the router)."""
    shown = consistent(4)
    wrong = shown | {"suara_paslon_3": shown["suara_paslon_3"] + 300}
    documents = [
        f"/api/v1/public/ppwp/tps/{JAGAKARSA}",
        kpu_path(JAGAKARSA),
        "/api/v1/public/ppwp/regions/317101",
    ]
    conn = await asyncpg.connect(security_db)
    try:
        version = api.get("/api/v1/public/ppwp/version").json()["version"]
        await record(conn, JAGAKARSA, shown)
        wait_for_version(api, version)
        for _ in range(2):  # the second time from the fast path's memory
            assert fetched(api, documents[0]).json()["numbers"] == shown
            assert fetched(api, documents[1]).json()["administrasi"]["suara_sah"] == shown["suara_sah"]
            assert fetched(api, documents[2]).json()["suara_sah"] == shown["suara_sah"]
        await workflow.record_decoding(conn, JAGAKARSA, decoding(wrong), await decoded(conn, JAGAKARSA))
        assert fetched(api, documents[0]).json()["numbers"] == shown  # an upload alone changes nothing
        assert (await store.load(conn, JAGAKARSA)).state is TpsState.PUBLISHED  # type: ignore[union-attr]
        version = api.get("/api/v1/public/ppwp/version").json()["version"]
        officer = await upsert_user(
            conn,
            username="ppk.jagakarsa",
            display_name="PPK",
            role=Role.OFFICER,
            secret="s-long-7",
            scope_region="317101",
        )
        await review.claim(conn, officer, JAGAKARSA, 15)
        await review.decide_new_reading(conn, officer, JAGAKARSA, adopt=True, reason="halaman 2 difoto ulang")
    finally:
        await conn.close()
    wait_for_version(api, version)
    deadline = time.monotonic() + 15
    while fetched(api, documents[2]).json()["suara_sah"] != 0:  # the totals may follow the event
        assert time.monotonic() < deadline, "the withdrawn TPS is still counted"
        time.sleep(0.1)
    tps = fetched(api, documents[0]).json()
    assert tps["state"] == "needs_review" and tps["numbers"] is None
    assert fetched(api, documents[1]).json()["administrasi"] is None
    for path in ("/api/v1/public/ppwp/regions/nasional", "/api/v1/public/ppwp/regions/31"):
        assert fetched(api, path).json()["suara_sah"] == (
            TRUTH["suara_sah"] if path.endswith("nasional") else 0
        )
    assert wrong["suara_paslon_3"] not in numbers_of(fetched(api, "/api/v1/public/ppwp/export/31.csv").text)


def numbers_of(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", text)}
