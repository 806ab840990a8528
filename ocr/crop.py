"""A field's three boxes cut from the photo, straightened, for the officer who checks the reading.

The crop comes from the photo as it was sent (in colour: ink and print look different), not from
the reader's grey page, so that the officer judges the handwriting and not the reader's view of it.
Every crop of a photo is cut from its working copy (``working_copy``), made once: decoding the
whole photo for each officer's every crop cost seconds a crop on a photo made to be slow.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.imagefile import decode_colour
from ocr.reading import Quad

JPEG_QUALITY = 85
WORKING_SIDE = 2400
"""The working copy's longer side at most. A field's three boxes span an eighth of the page's
width: 160 pixels in it when the page fills a portrait photo, more than a crop (220 × 96 with
its margin) shows. The real photos of ../shared/data, 1000 pixels wide, keep their size."""
WORKING_QUALITY = 90
OUTSIDE = (128, 128, 128)
"""Fill where the margin lies beyond the photo's edge: grey, so that it is not mistaken for paper."""


def working_copy(data: bytes) -> bytes:
    """The photo turned upright by its EXIF orientation (as ``decode_gray`` turns it for reading)
    and shrunk to at most ``WORKING_SIDE`` pixels on its longer side, as a JPEG: what the crops
    of its fields are cut from (``crop_field(copy, quad, photo_size=...)``). ``Unreadable`` when
    the photo cannot be decoded."""
    image = decode_colour(data)
    h, w = image.shape[:2]
    scale = WORKING_SIDE / max(h, w)
    if scale < 1:
        image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return _jpeg(image, WORKING_QUALITY)


def crop_field(
    data: bytes,
    quad: Quad,
    *,
    margin: float = 0.25,
    height: int = 96,
    photo_size: tuple[int, int] | None = None,
) -> bytes:
    """A JPEG ``height`` pixels high of the boxes within ``quad`` (``FieldReading.quad``), upright.

    ``margin`` is the context kept on every side, as a share of the boxes' height: the box
    borders and a little of the row around them show, so that a digit written over a border is
    seen whole. ``photo_size`` is the (width, height) of the photo ``quad`` was measured on when
    ``data`` is its working copy: the quadrilateral is scaled by the ratio of their longer
    sides (either way round, as EXIF may turn it). ``Unreadable`` when ``data`` cannot be decoded.
    """
    if height < 8 or margin < 0:
        raise ValueError(f"a crop is at least 8 pixels high, its margin not negative: {height}, {margin}")
    corners = np.array(quad, np.float32)
    if not np.isfinite(corners).all():
        raise ValueError(f"the quadrilateral has a corner that is not a number: {quad}")
    wide, high = _extent(corners)
    if wide < 1 or high < 1:
        raise ValueError(f"the quadrilateral has no area: {quad}")
    image = decode_colour(data)
    if photo_size is not None:
        corners *= max(image.shape[:2]) / max(photo_size)
        wide, high = _extent(corners)
    pad = margin * high
    size = (round(wide + 2 * pad), round(high + 2 * pad))
    if size[0] * size[1] > image.shape[0] * image.shape[1]:
        raise ValueError(f"the quadrilateral is larger than the photo: {quad}")
    upright = np.array(
        [(pad, pad), (pad + wide, pad), (pad + wide, pad + high), (pad, pad + high)], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners, upright)
    straight = cv2.warpPerspective(
        image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=OUTSIDE
    )
    return _jpeg(_scaled(straight, height), JPEG_QUALITY)


def _extent(corners: npt.NDArray[np.float32]) -> tuple[float, float]:
    """Mean width and height of a quadrilateral given clockwise from its top left corner."""
    top, right, bottom, left = (float(np.linalg.norm(corners[(i + 1) % 4] - corners[i])) for i in range(4))
    return (top + bottom) / 2, (left + right) / 2


def _scaled(image: npt.NDArray[Any], height: int) -> npt.NDArray[Any]:
    """Shrunk by area (no aliasing of thin strokes), enlarged smoothly."""
    h, w = image.shape[:2]
    width = max(1, round(w * height / h))
    smooth = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=smooth)


def _jpeg(image: npt.NDArray[Any], quality: int) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {image.shape} image as JPEG")
    return bytes(encoded.tobytes())
