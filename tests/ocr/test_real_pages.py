"""Every real page photo we have is found and identified as its true page (tests/resources/real_pages.csv)."""

from __future__ import annotations

import csv
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ocr.reader import read_page
from ocr.reading import PageReading, Rejected, Retake
from tests.conftest import REPO, shared

PAGES = REPO / "tests" / "resources" / "real_pages.csv"
FOLDERS = ("c1_form_images", "c1_form_images_unverified")


def _outcome(path: Path) -> tuple[str, int | None, str]:
    outcome = read_page(path.read_bytes())
    if isinstance(outcome, Rejected):
        return path.name, None, f"{outcome.reason}: {outcome.detail}"
    assert isinstance(outcome, PageReading)
    return path.name, outcome.page.value, ""


def test_every_real_photo_is_its_true_page_or_the_other_form_it_is() -> None:
    folders = [shared(f) / "images" for f in FOLDERS]
    with PAGES.open(newline="") as handle:
        truth = {row["file"]: row for row in csv.DictReader(handle)}
    photos = sorted(p for folder in folders for p in folder.glob("*.jpg"))
    assert {p.name for p in photos} == set(truth), "the pages file names every photo, and only them"
    with ProcessPoolExecutor(max_workers=2) as pool:
        found = {name: (page, why) for name, page, why in pool.map(_outcome, photos)}
    wrong = {}
    for name, row in truth.items():
        page, why = found[name]
        if row["form"]:
            if not why.startswith(f"{Retake.OTHER_FORM}:") or row["form"] not in why:
                wrong[name] = f"a page of {row['form']}, got page {page} {why}"
        elif page != int(row["page"]):
            wrong[name] = f"page {row['page']}, got page {page} {why}"
    assert not wrong, wrong
    assert sum(1 for row in truth.values() if not row["form"]) == 152
