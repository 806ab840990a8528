"""The printed header read on the blank form, on pages of another form made from it, and on real
photos; Tesseract and OpenCV run for real."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr import locate, tesseract
from ocr.form import Page
from ocr.header import Header, Text, halaman_page, other_form, read_code, read_header, title_form
from ocr.imagefile import decode_gray
from ocr.reader import SCALE
from ocr.templates import PageTemplate, templates
from tests.conftest import forms_dir, shared

PHOTOS = {
    "c1_form_images/images/3404072001004-20240215-232328--11befbe2-9c6f-4b0f-aa06-d7e4b8c72f77.jpg": Page.ADMINISTRASI,
    "c1_form_images/images/3404072001004-20240215-232332--8446f3a6-2b2e-44f8-b9bc-441df9797d38.jpg": Page.PASLON,
    "c1_form_images/images/3404072001004-20240215-232330--0b5ba868-3ce5-4a2b-9a1e-e298387d4b6b.jpg": Page.SUARA,
}
"""Real photos of one TPS's three pages, upright, with their page (checked by eye; the reader agrees)."""
DPRD_KAB = (
    "c1_form_images_unverified/images/3404072001096-20240215-092050--3bf0dc94-a9cc-4381-a40f-c17309583395.jpg"
)
"""A real photo of page 1 of C.HASIL-DPRD KAB/KOTA, uploaded to Sirekap among a TPS's PPWP pages."""
TITLE_LINE = (1612, 294, 1754, 314)
"""x0, y0, x1, y1 of "C.HASIL-PPWP" inside the header box, in template pixels."""


def blank(page: Page) -> np.ndarray:
    gray = cv2.imread(str(forms_dir() / f"page{page.value}.png"), cv2.IMREAD_GRAYSCALE)
    assert gray is not None
    return gray


def at_reader_scale(gray: np.ndarray) -> np.ndarray:
    return cv2.resize(gray, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)


def retitled(gray: np.ndarray, form: str) -> np.ndarray:
    """The blank page with "C.HASIL-<form>" printed in its header box instead of PPWP."""
    out = gray.copy()
    x0, y0, x1, y1 = TITLE_LINE
    out[y0:y1, x0:x1] = 255
    cv2.putText(out, f"C.HASIL-{form}", (x0 + 6, y1 - 3), cv2.FONT_HERSHEY_DUPLEX, 0.62, 0, 2, cv2.LINE_AA)
    return out


def with_code(gray: np.ndarray, template: PageTemplate, number: int | None) -> np.ndarray:
    """The page with its 2D code replaced by AprilTag ``number`` (printed upside down, like the
    form's), or whited out when ``None``."""
    out = gray.copy()
    x, y, w, h = template.code
    if number is None:
        out[y : y + h, x : x + w] = 255
        return out
    family = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_APRILTAG_36h10)
    tag = cv2.rotate(cv2.aruco.generateImageMarker(family, number, 8 * 16), cv2.ROTATE_180)
    out[y : y + h, x : x + w] = cv2.resize(tag, (w, h), interpolation=cv2.INTER_NEAREST)
    return out


@pytest.mark.parametrize("page", list(Page))
def test_blank_page_by_its_code_and_by_tesseract(page: Page) -> None:
    template = templates()[page]
    header = read_header(at_reader_scale(blank(page)), template, SCALE, text=Text.ALWAYS)
    assert header.code is not None and header.code.number == int(page.code)
    assert header.upright is True
    assert (header.form, header.page) == ("PPWP", page)
    assert (header.title, header.halaman) == ("PPWP", page), header.text
    assert other_form(header) is None


def test_the_code_alone_needs_no_tesseract() -> None:
    header = read_header(at_reader_scale(blank(Page.SUARA)), templates()[Page.SUARA], SCALE)
    assert (header.page, header.text, header.text_ms) == (Page.SUARA, "", 0.0)


def upside_down(gray: np.ndarray, template: PageTemplate) -> np.ndarray:
    """The page straightened as the reader does with its corner marks taken the other way round."""
    corners = locate.rotations(np.array(template.fiducials, np.float32))[1]
    matrix = locate.homography(corners, template, 1.0)
    return locate.rectify(gray, np.diag([SCALE, SCALE, 1.0]) @ matrix, SCALE)


def test_upside_down_page_is_found_by_its_code_and_read_turned() -> None:
    template = templates()[Page.PASLON]
    header = read_header(upside_down(blank(Page.PASLON), template), template, SCALE, text=Text.ALWAYS)
    assert header.upright is False
    assert header.code is not None and header.code.turned == 180
    assert (header.page, header.halaman) == (Page.PASLON, Page.PASLON), header.text


def test_page_of_another_form_is_refused_naming_it() -> None:
    """A DPR-like header: its title and a code of the 2xx series."""
    template = templates()[Page.ADMINISTRASI]
    page = with_code(retitled(blank(Page.ADMINISTRASI), "DPR"), template, 201)
    header = read_header(at_reader_scale(page), template, SCALE)
    assert header.code is not None and header.code.number == 201
    assert (header.title, header.form, header.page) == ("DPR", "DPR", None), header.text
    refusal = other_form(header)
    assert refusal is not None and "C.HASIL-DPR," in refusal and "bukan C.HASIL-PPWP" in refusal


def test_without_its_code_the_title_names_the_other_form() -> None:
    template = templates()[Page.ADMINISTRASI]
    page = with_code(retitled(blank(Page.ADMINISTRASI), "DPD"), template, None)
    header = read_header(at_reader_scale(page), template, SCALE)
    assert header.code is None
    assert header.title == "DPD", header.text
    refusal = other_form(header)
    assert refusal is not None and "C.HASIL-DPD," in refusal


def test_the_code_outranks_a_title_read_otherwise() -> None:
    """The 2D code was never misread in the measurement; Tesseract's reading of a title can be."""
    template = templates()[Page.ADMINISTRASI]
    header = read_header(
        at_reader_scale(retitled(blank(Page.ADMINISTRASI), "DPR")), template, SCALE, text=Text.ALWAYS
    )
    assert header.title == "DPR", header.text
    assert (header.ppwp, header.form, header.page, other_form(header)) == (
        True,
        "PPWP",
        Page.ADMINISTRASI,
        None,
    )


def test_tolerant_parsing_of_ocr_errors() -> None:
    assert title_form("MODEL\nC.HASlL-PPVVP\nHalarnan 2 dari 3") == "PPWP"
    assert title_form("MOOEL\nCHAS L-PrwP") == "PPWP"
    assert title_form("MODEL\nC.HASIL-DPRD KAB/KOTA") == "DPRD KAB/KOTA"
    assert title_form("C.HASIL-DPRD PROV") == "DPRD PROV"
    assert title_form("C HASIL DPD") == "DPD"
    assert title_form("CAAL fre\nMalema Ad 9") is None
    assert halaman_page("Halarnan 2 dari 3") == Page.PASLON
    assert halaman_page("Halaman1dari3") == Page.ADMINISTRASI
    assert halaman_page("Halaman 1 dari 3\nHalaman 3 dari 3") is None


def test_missing_tesseract_names_the_package(tmp_path: Path) -> None:
    image = np.full((40, 40), 255, np.uint8)
    for command in ("/nonexistent/tesseract", str(tmp_path)):
        with pytest.raises(tesseract.TesseractMissing, match="tesseract-ocr-eng") as raised:
            tesseract.read_text(image, whitelist="0123456789", psm=7, timeout_s=5, command=command)
        assert "apt-get install tesseract-ocr" in str(raised.value)
        assert isinstance(raised.value, tesseract.TesseractError)


def test_timeout_is_a_named_error() -> None:
    page = blank(Page.ADMINISTRASI)
    with pytest.raises(tesseract.TesseractTimeout):
        tesseract.read_text(page, whitelist="ABCDEFGHIJKLMNOPQRSTUVWXYZ", psm=6, timeout_s=0.05)


def test_installed_tesseract_is_checked() -> None:
    engine = tesseract.engine()
    assert engine.version >= (4, 0, 0) and "eng" in engine.languages


@pytest.mark.parametrize(("photo", "page"), PHOTOS.items())
def test_real_photo_straightened_reads_its_page(photo: str, page: Page) -> None:
    gray = decode_gray(shared(photo).read_bytes())
    found = locate.locate(gray)
    template = templates()[Page.ADMINISTRASI]  # the corner marks are the same on every page
    headers: list[Header] = []
    for corners in locate.rotations(found.corners):
        matrix = locate.homography(corners, template, 1.0)
        straight = locate.rectify(gray, np.diag([SCALE, SCALE, 1.0]) @ matrix, SCALE)
        headers.append(read_header(straight, template, SCALE))
    upright, upside_down = headers
    assert (upright.page, upright.upright, upright.ppwp) == (page, True, True)
    assert (upside_down.page, upside_down.upright) == (page, False)
    whole = read_code(gray)
    assert whole is not None and (whole.page, whole.turned) == (page, 0)


def test_real_photo_of_another_form_is_named_by_its_code() -> None:
    code = read_code(decode_gray(shared(DPRD_KAB).read_bytes()))
    assert code is not None and code.number == 501
    header = Header(code)
    refusal = other_form(header)
    assert refusal is not None and "C.HASIL-DPRD KAB/KOTA," in refusal


def test_a_code_of_an_unknown_series_is_refused_without_naming_a_form() -> None:
    template = templates()[Page.SUARA]
    header = read_header(
        at_reader_scale(with_code(blank(Page.SUARA), template, 1203)), template, SCALE, text=Text.NEVER
    )
    assert header.code is not None and (header.code.number, header.ppwp, header.form) == (1203, False, None)
    assert header.page is None
    assert other_form(header) == (
        "Ini halaman formulir lain (kode 1203), bukan C.HASIL-PPWP (presiden). Foto formulir C.HASIL-PPWP yang benar."
    )
