"""Finding the page when its corner marks mislead or are missing, another ballot's form, and the
time budget of the search."""

from __future__ import annotations

import cv2
import numpy as np

from ocr import locate
from ocr.form import Page
from ocr.imagefile import decode_gray
from ocr.reader import read_page
from ocr.reading import PageReading, Rejected, Retake
from ocr.templates import templates
from tests.conftest import shared
from tests.ocr.test_header import blank, retitled, with_code

LONG_SHEET = "3404062001064-20240216-165717--812522d9-d193-4722-89f2-2a6adb6a5578.jpg"
"""Page 2 printed on a long sheet: the table ends halfway down, the signatures at the very bottom."""
MARKS_CUT = "3404062001005-20240216-115727--fa8e5346-b86a-4799-810f-856e93db1d32.jpg"
DPRD = "3404072001096-20240215-092050--3bf0dc94-a9cc-4381-a40f-c17309583395.jpg"


def real(folder: str, name: str) -> bytes:
    return (shared(folder) / "images" / name).read_bytes()


def test_a_dark_square_inside_the_page_taken_for_a_corner_mark_does_not_mislead() -> None:
    data = real("c1_form_images_unverified", LONG_SHEET)
    gray = decode_gray(data)
    height, width = gray.shape
    marks = locate.candidates(gray)
    # A tally square in the middle of the page once passed for the bottom-right mark; the real
    # mark, which the threshold loses, is now looked for by its picture where the other three
    # put it, and the square is no candidate.
    assert not any(0.2 * width < m.x < 0.8 * width and 0.2 * height < m.y < 0.8 * height for m in marks)
    corners = locate.locate(gray, marks).corners
    assert np.hypot(*(corners[3] - (width, height))) < 0.05 * height
    outcome = read_page(data)
    assert isinstance(outcome, PageReading) and outcome.page == Page.PASLON
    assert [outcome.field(f).value for f in ("suara_paslon_1", "suara_paslon_2")] == [37, 120]


def test_a_page_whose_top_marks_the_app_cropped_away_is_found() -> None:
    outcome = read_page(real("c1_form_images", MARKS_CUT))
    assert isinstance(outcome, PageReading) and outcome.page == Page.ADMINISTRASI
    assert outcome.corners_inferred == 4, "placed without the corner marks"


def test_the_search_stops_at_its_budget_and_says_so() -> None:
    data = real("c1_form_images", MARKS_CUT)
    outcome = read_page(data, budget_s=0.0)
    assert isinstance(outcome, Rejected) and outcome.reason == Retake.UNCLEAR
    assert "search stopped" in outcome.detail
    assert "Halaman tidak dapat dikenali" in Retake.UNCLEAR.pesan


def test_page_one_of_another_ballots_form_is_refused_naming_the_form() -> None:
    """Page 1 of C.HASIL-DPR has PPWP page 1's boxes: the header's code and title tell it apart."""
    page = with_code(retitled(blank(Page.ADMINISTRASI), "DPR"), templates()[Page.ADMINISTRASI], 201)
    ok, data = cv2.imencode(".jpg", cv2.resize(page, (1000, 1500), interpolation=cv2.INTER_AREA))
    assert ok
    outcome = read_page(data.tobytes())
    assert isinstance(outcome, Rejected) and outcome.reason == Retake.OTHER_FORM
    assert "C.HASIL-DPR" in outcome.detail and "bukan C.HASIL-PPWP" in outcome.detail


def test_a_real_page_of_the_dprd_kabupaten_form_is_refused_naming_it() -> None:
    """Uploaded by a KPPS as page 1 of its PPWP form (tests/resources/README.md)."""
    outcome = read_page(real("c1_form_images_unverified", DPRD))
    assert isinstance(outcome, Rejected) and outcome.reason == Retake.OTHER_FORM
    assert "DPRD KAB/KOTA" in outcome.detail


def test_the_upper_half_of_a_real_page_three_holds_all_its_fields_and_is_read() -> None:
    """TPS 022 Sinduadi, page 3 (A = 233, B = 1, C = 234 in Sirekap), cut below its table."""
    name = "3404072001022-20240214-191758--e502dd59-6b90-436d-8420-e21d8bc24603.jpg"
    image = cv2.imdecode(np.frombuffer(real("c1_form_images", name), np.uint8), cv2.IMREAD_COLOR)
    ok, data = cv2.imencode(".jpg", image[: image.shape[0] // 2], [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    outcome = read_page(data.tobytes())
    assert isinstance(outcome, PageReading) and outcome.page == Page.SUARA
    assert [f.value for f in outcome.fields] == [233, 1, 234]
