"""Every reason for a retake, each from a real bad input, and the photo turned upside down."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.reader import read_page
from ocr.reading import PageReading, Rejected, Retake
from tests.conftest import Synthetic, forms_dir, shared


def jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def photo(synthetic: Synthetic, page: int = 2) -> np.ndarray:
    image = cv2.imread(str(synthetic.page(sorted(synthetic.values)[0], page)))
    assert image is not None
    return image


def rejected(data: bytes) -> Rejected:
    outcome = read_page(data)
    assert isinstance(outcome, Rejected), f"expected a retake, got page {getattr(outcome, 'page', None)}"
    assert outcome.message == outcome.reason.message
    return outcome


def test_not_an_image() -> None:
    assert rejected(b"%PDF-1.7\n1 0 obj <<>> endobj\n").reason == Retake.NOT_AN_IMAGE
    assert rejected(b"").reason == Retake.NOT_AN_IMAGE


def test_heic_is_named() -> None:
    outcome = rejected(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100))
    assert outcome.reason == Retake.NOT_AN_IMAGE and "HEIC" in outcome.detail


def test_damaged_upload_cut_short(synthetic: Synthetic) -> None:
    data = jpeg(photo(synthetic))
    assert rejected(data[: len(data) // 2]).reason == Retake.DAMAGED


def test_decompression_bomb_refused_from_its_header() -> None:
    """A 10,000 × 8,000 white PNG is a few hundred kB on the wire and 80 MB decoded."""
    ok, data = cv2.imencode(".png", np.full((8000, 10000), 255, np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok and len(data) < 2_000_000
    outcome = rejected(data.tobytes())
    assert outcome.reason == Retake.TOO_LARGE and "10000×8000" in outcome.detail


def test_too_small(synthetic: Synthetic) -> None:
    assert rejected(jpeg(cv2.resize(photo(synthetic), (320, 480)))).reason == Retake.TOO_SMALL


def test_no_form_in_a_photo_of_something_else() -> None:
    rng = np.random.default_rng(1)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (1800, 1200, 3), dtype=np.uint8), (0, 0), 9)
    assert rejected(jpeg(scene)).reason == Retake.NO_FORM


def test_another_form_with_the_same_corner_marks() -> None:
    """The blank page mirrored: corner marks where they belong, boxes where no PPWP page has them."""
    blank = cv2.imread(str(forms_dir() / "page1.png"))
    assert rejected(jpeg(cv2.flip(blank, 1))).reason == Retake.OTHER_FORM


def test_another_form_a_2019_scan() -> None:
    scan = sorted((shared("c1_2019_ppwp_scans") / "images").iterdir())[0]
    assert rejected(scan.read_bytes()).reason in (Retake.OTHER_FORM, Retake.NO_FORM)


def test_page_cut_off(synthetic: Synthetic) -> None:
    """The upper 45 % of page 2: the third pair's boxes are not in the photo."""
    image = photo(synthetic)
    outcome = rejected(jpeg(image[: image.shape[0] * 45 // 100]))
    assert outcome.reason == Retake.CUT_OFF and "suara_paslon_3" in outcome.detail


def test_part_of_a_page_holding_all_its_fields_is_read(synthetic: Synthetic) -> None:
    """The upper 70 % of page 2: its lower corner marks are gone, its three numbers are all there."""
    tps = sorted(synthetic.values)[0]
    image = photo(synthetic)
    outcome = read_page(jpeg(image[: image.shape[0] * 70 // 100]))
    assert isinstance(outcome, PageReading) and outcome.page == 2
    assert {f.name: f.value for f in outcome.fields} == {
        name: synthetic.values[tps][name] for name in ("suara_paslon_1", "suara_paslon_2", "suara_paslon_3")
    }


def test_too_blurry(synthetic: Synthetic) -> None:
    outcome = rejected(jpeg(cv2.GaussianBlur(photo(synthetic), (0, 0), 4)))
    assert outcome.reason == Retake.BLURRY and "sharpness" in outcome.detail


def test_too_dark(synthetic: Synthetic) -> None:
    dark = (photo(synthetic).astype(np.float32) * 0.2).astype(np.uint8)
    assert rejected(jpeg(dark)).reason == Retake.DARK


@pytest.mark.parametrize(
    ("turn", "degrees"),
    [(cv2.ROTATE_180, 180), (cv2.ROTATE_90_CLOCKWISE, 90), (cv2.ROTATE_90_COUNTERCLOCKWISE, 90)],
)
def test_turned_photo_is_rotated_not_refused(synthetic: Synthetic, turn: int, degrees: int) -> None:
    upright = read_page(jpeg(photo(synthetic)))
    turned = read_page(jpeg(cv2.rotate(photo(synthetic), turn)))
    assert isinstance(upright, PageReading) and isinstance(turned, PageReading)
    assert turned.page == upright.page == 2
    assert turned.rotated % 180 == degrees % 180
    assert [f.value for f in turned.fields] == [f.value for f in upright.fields]
