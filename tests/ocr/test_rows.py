"""Page 1 read from the rows printed on the photographed sheet, not from the blank form's places."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from ocr import digits
from ocr.form import FIELDS, Page
from ocr.reader import read_page
from ocr.reading import PageReading
from ocr.synth.pages import fill_page, photograph, tps_values
from ocr.templates import templates
from tests.conftest import REPO, forms_dir, shared

ROW = 77
"""Template pixels between two rows of page 1."""


def _page1(shift: int, seed: int) -> tuple[bytes, dict[str, int]]:
    """A filled page 1 whose table (from the voters' section to the disability row) is printed
    ``shift`` template pixels lower than on the blank form, photographed."""
    rng = np.random.default_rng(seed)
    template = templates()[Page.ADMINISTRASI]
    blank = cv2.imread(str(forms_dir() / "page1.png"), cv2.IMREAD_COLOR)
    top = min(boxes[0][1] for boxes in template.fields.values()) - 30
    bottom = max(boxes[0][1] + boxes[0][3] for boxes in template.fields.values()) + 30
    values = tps_values(rng)
    filled = fill_page(blank, template, values, rng)
    moved = filled.copy()
    moved[top + shift : bottom + shift] = filled[top:bottom]
    moved[top : top + shift] = 255
    ok, data = cv2.imencode(
        ".jpg", photograph(moved, rng, strength=0.6).image, [cv2.IMWRITE_JPEG_QUALITY, 90]
    )
    assert ok
    return data.tobytes(), {name: values[name] for name in FIELDS[Page.ADMINISTRASI]}


@pytest.mark.parametrize("shift", [0, ROW])
def test_a_table_printed_a_row_lower_is_read_from_its_own_rows(shift: int) -> None:
    data, values = _page1(shift, seed=11)
    outcome = read_page(data)
    assert isinstance(outcome, PageReading) and outcome.page == Page.ADMINISTRASI
    assert outcome.reader_version.endswith(f"digits {digits.model().version}")
    read = {field.name: field.value or 0 for field in outcome.fields}
    wrong = {name: (read[name], value) for name, value in values.items() if read[name] != value}
    # Before the rows were found, a shift of one row read every field from the row above.
    assert len(wrong) <= 1, wrong


def test_real_pages_of_other_printings_are_read_from_their_rows() -> None:
    """3404062001064: the table is a row lower than the blank form's; 3404072001125: a taller
    header and closer rows. Both once read the voters' rows from the heading or the row above."""
    labels = {
        row["kode_tps"]: row for row in csv.DictReader((REPO / "tests/resources/page1_labels.csv").open())
    }
    folder = shared("c1_form_images_unverified") / "images"
    for tps in ("3404062001064", "3404072001125"):
        outcome = read_page((folder / labels[tps]["file"]).read_bytes())
        assert isinstance(outcome, PageReading)
        read = {field.name: field.value or 0 for field in outcome.fields}
        for name in ("pemilih_dpt_j", "pengguna_dpt_j", "pengguna_total_j", "surat_suara_diterima"):
            assert read[name] == int(labels[tps][name]), (tps, name, read[name])
