"""``rekap ocr`` and ``rekap bench ocr`` as a user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.conftest import Synthetic, forms_dir, rekap


def _eval(images: Path, labels: Path, *extra: str) -> dict[str, Any]:
    done = rekap("ocr", "eval", "--images", str(images), "--labels", str(labels), *extra, "--json")
    assert done.returncode == 0, done.stderr
    out: dict[str, Any] = json.loads(done.stdout)
    return out


def _labels(synthetic: Synthetic) -> list[dict[str, str]]:
    with synthetic.labels.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _write_labels(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_read_decodes_the_pages_of_one_tps_together(synthetic: Synthetic) -> None:
    tps = sorted(synthetic.values)[0]
    done = rekap("ocr", "read", *map(str, synthetic.photos(tps)), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert sorted(p["page"] for p in out["photos"].values()) == [1, 2, 3]
    assert out["decoded"]["fields"]["suara_sah"]["value"] == synthetic.values[tps]["suara_sah"]


def test_read_explains_a_retake_and_a_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    note = tmp_path / "note.txt"
    note.write_text("not a photo")
    done = rekap("ocr", "read", str(note))
    assert done.returncode == 1 and "retake (not_an_image)" in done.stdout
    missing = rekap("ocr", "read", str(tmp_path / "nope.jpg"))
    assert (
        missing.returncode == 1 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    )


def test_eval_prints_the_agreed_json(synthetic: Synthetic) -> None:
    done = rekap(
        "ocr", "eval", "--images", str(synthetic.folder), "--labels", str(synthetic.labels), "--json"
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for key in (
        "photos",
        "page_id_accuracy",
        "field_accuracy",
        "auto_accept_rate",
        "auto_accepted_wrong",
        "ms_per_page_median",
        "disagreements",
    ):
        assert key in out
    assert out["photos"] == 6 and out["page_id_accuracy"] == 1.0
    # The labels carry each photo's true page: every photo was read as its own page.
    assert out["pages_identified"] == 6 and out["wrong_page"] == 0
    assert out["refusals"] == [] and out["refusals_unjustified"] == 0


def test_eval_counts_a_photo_read_as_another_page_as_not_identified(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    tps = sorted(synthetic.values)[0]
    rows = [r for r in _labels(synthetic) if r["kode_tps"] == tps]
    labels = _write_labels(tmp_path / "labels.csv", rows)
    lied_about = synthetic.page(tps, 1).name
    pages = tmp_path / "pages.csv"
    pages.write_text(f"file,page\n{lied_about},3\n")
    out = _eval(synthetic.folder, labels, "--pages", str(pages))
    assert out["photos"] == 3 and out["pages_identified"] == 2 and out["wrong_page"] == 1
    assert out["page_id_accuracy"] == round(2 / 3, 4)
    assert out["page_mistakes"] == [{"file": lied_about, "page": 3, "found": 1}]


def test_eval_says_whether_each_refusal_is_true_of_its_photo(synthetic: Synthetic, tmp_path: Path) -> None:
    """A photo blurred beyond the threshold is rightly refused as blurry; a photo whose truth says
    it is page 1, whole and sharp, refused as no_form, is refused wrongly."""
    tps = sorted(synthetic.values)[0]
    row = next(r for r in _labels(synthetic) if r["kode_tps"] == tps and r["page"] == "1")
    photo = cv2.imread(str(synthetic.page(tps, 1)))
    assert photo is not None
    cv2.imwrite(str(tmp_path / "blurred.jpg"), cv2.GaussianBlur(photo, (0, 0), 4.0))
    cv2.imwrite(str(tmp_path / "blank.jpg"), np.full((1800, 1200, 3), 235, np.uint8))
    rows = [
        {**row, "file": "blurred.jpg", "blur_sigma": "4.0"},
        {**row, "file": "blank.jpg", "blur_sigma": "0", "fields_outside": "0", "corners_visible": "4"},
    ]
    out = _eval(tmp_path, _write_labels(tmp_path / "labels.csv", rows))
    verdicts = {r["file"]: (r["reason"], r["justified"]) for r in out["refusals"]}
    assert verdicts == {"blurred.jpg": ("blurry", True), "blank.jpg": ("no_form", False)}
    assert out["refusals_unjustified"] == 1 and out["pages_identified"] == 0
    blurred = next(r for r in out["refusals"] if r["file"] == "blurred.jpg")
    assert blurred["detail"] and blurred["truth"]["blur_sigma"] == 4.0


def test_synth_writes_photos_and_labels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = rekap(
        "ocr",
        "synth",
        "--out",
        str(tmp_path),
        "--count",
        "3",
        "--seed",
        "4",
        env={"REKAP_FORMS_DIR": str(forms_dir())},
    )
    assert done.returncode == 0, done.stderr
    assert len(list(tmp_path.glob("*.jpg"))) == 3
    assert (tmp_path / "labels.csv").read_text().startswith("kode_tps,page_order_in_sirekap,file,")
    with (tmp_path / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    # The truth of each photo follows the columns of images_index.csv.
    assert [r["page"] for r in rows] == ["1", "2", "3"]
    assert all(f"-p{r['page']}-" in r["file"] for r in rows)
    assert all(r["corners_visible"] == "4" and r["fields_outside"] == "0" for r in rows)
    assert all(float(r["blur_sigma"]) >= 0 for r in rows)


def test_rephotograph_makes_a_slanted_copy_of_each_photo_under_its_name(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    page = cv2.imread(str(forms_dir() / "page3.png"))
    assert page is not None
    small = cv2.resize(page, (1000, 1500), interpolation=cv2.INTER_AREA)
    for name in ("a.jpg", "b.jpg"):
        cv2.imwrite(str(source / name), small)
    done = rekap(
        "ocr", "rephotograph", "--images", str(source), "--out", str(tmp_path / "again"), "--seed", "3"
    )
    assert done.returncode == 0, done.stderr
    copies = sorted((tmp_path / "again").iterdir())
    assert [p.name for p in copies] == ["a.jpg", "b.jpg"]
    first, second = (cv2.imread(str(p)) for p in copies)
    assert first.shape == second.shape == (1875, 1350, 3), "a table around the page"
    assert not np.array_equal(first, second), "each copy photographed its own way"
    # The corners of the copy are the table (at most 198 of 255 before the light falls off), not
    # the white margin of the page the source's corners show.
    assert first[:40, :40].mean() < small[:40, :40].mean() - 40
