"""A field's boxes cut from the photo for the reviewer: where the reader says they are, upright."""

from __future__ import annotations

import math
import struct
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from ocr import PageReading, Retake, Unreadable, crop_field, read_page
from ocr.reading import Quad
from tests.conftest import Synthetic

FRAMED = 70
"""Grey levels by which the printed outline outdoes the paper around it when a crop frames the
boxes (90 or more on the synthetic photos; under 50 with the crop half a box off)."""


def reading(data: bytes) -> PageReading:
    outcome = read_page(data)
    assert isinstance(outcome, PageReading), outcome
    return outcome


def image(crop: bytes) -> npt.NDArray[Any]:
    decoded = cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None, "the crop is a JPEG"
    return decoded


def frame_contrast(crop: bytes, margin: float = 0.25) -> float:
    """How much darker the line where the margin ends is than the paper just outside it: the
    three boxes' printed outline, when the crop frames them."""
    ink = 255.0 - cv2.cvtColor(image(crop), cv2.COLOR_BGR2GRAY)
    h, w = ink.shape
    pad = round(h * margin / (1 + 2 * margin))

    def ring(grow: int, thickness: int) -> float:
        mask = np.zeros((h, w), np.uint8)
        cv2.rectangle(mask, (pad - grow, pad - grow), (w - pad + grow, h - pad + grow), 1, thickness)
        return float(ink[mask.astype(bool)].mean())

    return ring(0, 4) - ring(9, 2)


def moved(quad: Quad, share: float) -> Quad:
    """The same quadrilateral moved right and down by a share of its height."""
    (x0, y0), _, _, (x3, y3) = quad
    step = share * math.hypot(x3 - x0, y3 - y0)
    a, b, c, d = ((x + step, y + step) for x, y in quad)
    return (a, b, c, d)


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an EXIF block saying how to turn it upright, as a phone writes it."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + entry + bytes(4)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif + jpeg[2:]


@pytest.mark.parametrize("page", [1, 2, 3])
def test_each_field_crop_shows_its_three_boxes_upright(synthetic: Synthetic, page: int) -> None:
    data = synthetic.page(sorted(synthetic.values)[0], page).read_bytes()
    for field in reading(data).fields:
        crop = crop_field(data, field.quad)
        height, width, channels = image(crop).shape
        assert (height, channels) == (96, 3)
        assert 2.2 < width / height < 3.2, "three square boxes side by side, with the margin"
        assert frame_contrast(crop) > FRAMED, field.name


def test_a_crop_beside_the_boxes_does_not_show_their_frame(synthetic: Synthetic) -> None:
    data = synthetic.page(sorted(synthetic.values)[0], 3).read_bytes()
    quad = reading(data).field("suara_sah").quad
    assert frame_contrast(crop_field(data, quad)) > FRAMED
    assert frame_contrast(crop_field(data, moved(quad, 0.5))) < FRAMED


def test_the_crop_has_the_height_and_margin_asked_for(synthetic: Synthetic) -> None:
    data = synthetic.page(sorted(synthetic.values)[0], 2).read_bytes()
    quad = reading(data).field("suara_paslon_2").quad
    tight = image(crop_field(data, quad, margin=0, height=48))
    loose = image(crop_field(data, quad, height=200))
    assert (tight.shape[0], loose.shape[0]) == (48, 200)
    assert tight.shape[1] / 48 > loose.shape[1] / 200 + 0.5, "a margin on every side widens the crop less"
    assert frame_contrast(crop_field(data, quad, margin=0.5), margin=0.5) > FRAMED


def test_a_photo_turned_by_exif_is_cropped_where_the_reader_read(synthetic: Synthetic) -> None:
    """A phone stores the pixels sideways and says so in EXIF; reader and crop both turn them."""
    path = synthetic.page(sorted(synthetic.values)[1], 2)
    sideways = cv2.rotate(cv2.imread(str(path)), cv2.ROTATE_90_COUNTERCLOCKWISE)
    ok, encoded = cv2.imencode(".jpg", sideways, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = with_orientation(encoded.tobytes(), 6)  # 6: turn 90° clockwise to view
    upright = reading(path.read_bytes())
    turned = reading(data)
    assert turned.rotated == upright.rotated == 0
    for field in turned.fields:
        assert np.abs(np.subtract(field.quad, upright.field(field.name).quad)).max() < 3
        assert frame_contrast(crop_field(data, field.quad)) > FRAMED, field.name


def test_bytes_that_are_no_photo_are_named_unreadable(synthetic: Synthetic) -> None:
    photo = synthetic.page(sorted(synthetic.values)[0], 3).read_bytes()
    quad = reading(photo).field("suara_total").quad
    for data, reason in (
        (b"%PDF-1.7 a scanned form", Retake.NOT_AN_IMAGE),
        (b"", Retake.NOT_AN_IMAGE),
        (photo[: len(photo) // 2], Retake.DAMAGED),
        (photo[:600], Retake.DAMAGED),
    ):
        with pytest.raises(Unreadable) as refused:
            crop_field(data, quad)
        assert refused.value.reason is reason and refused.value.detail
    with pytest.raises(ValueError, match="no area"):
        crop_field(photo, (quad[0], quad[0], quad[0], quad[0]))
