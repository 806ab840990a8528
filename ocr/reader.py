"""One photo in, one page reading (or a reason to retake it) out.

normalise (decode, size limits) → locate (fiducials) → rectify (homography) → identify page
and orientation (box layout) → quality (blur, light) → read fields (digits, bubbles).
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr import fields, identify, locate, quality
from ocr.cells import Gray
from ocr.digits import model
from ocr.form import BUBBLE_FIELDS, Page
from ocr.imagefile import Unreadable, decode_gray
from ocr.reading import FieldReading, Outcome, PageReading, Quad, Rejected, Retake
from ocr.templates import PageTemplate, templates

SCALE = 0.75
"""Straightened pages are 1500×2250: digit boxes ~44 px, like the photos' own resolution."""
VERSION = "rekap-ocr 1"


def read_page(data: bytes) -> Outcome:
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    try:
        gray = decode_gray(data)
    except Unreadable as error:
        return Rejected(error.reason, error.reason.message, error.detail)
    clock.lap("decode")
    if (problem := quality.lighting(gray)) is not None:
        return Rejected(Retake.DARK, Retake.DARK.message, problem)
    try:
        found = locate.locate(gray)
    except locate.NotLocated as error:
        reason = Retake(error.reason)
        return Rejected(reason, reason.message)
    clock.lap("locate")
    page, confidence, turned, matrix, straight = _identify(gray, found.corners)
    clock.lap("identify")
    if (problem := quality.sharpness(straight)) is not None:
        return Rejected(Retake.BLURRY, Retake.BLURRY.message, problem)
    if page is None:
        return Rejected(
            Retake.OTHER_FORM,
            Retake.OTHER_FORM.message,
            "the printed boxes do not match any page of C.Hasil-PPWP",
        )
    template = templates()[page]
    clock.lap("quality")
    readings = read_fields(straight, template, np.linalg.inv(matrix))
    clock.lap("fields")
    rotated = (180 if turned else 0) + (0 if _upright_marks(found.corners, gray.shape) else 90)
    return PageReading(
        page,
        confidence,
        rotated % 360,
        readings,
        found.inferred,
        timings,
        f"{VERSION}; digits {model().version}",
    )


def _identify(
    gray: Gray, corners: npt.NDArray[Any]
) -> tuple[Page | None, float, bool, npt.NDArray[Any], Gray]:
    """Try the page upright and upside down against every page layout; keep the best fit."""
    pages = templates()
    best: tuple[float, Page, bool, npt.NDArray[Any], Gray, dict[Page, float]] | None = None
    for turned, oriented in enumerate(locate.rotations(corners)):
        matrix = locate.homography(oriented, pages[Page.ADMINISTRASI], SCALE)
        straight = locate.rectify(gray, matrix, SCALE)
        scores = {p: identify.layout_score(straight, t, SCALE) for p, t in pages.items()}
        page = max(scores, key=lambda p: scores[p])
        if best is None or scores[page] > best[0]:
            best = (scores[page], page, bool(turned), matrix, straight, scores)
    assert best is not None
    score, page, turned, matrix, straight, scores = best
    _, confidence = identify.best_page(scores)
    if score < identify.MIN_LAYOUT or confidence < identify.MIN_MARGIN:
        return None, 0.0, turned, matrix, straight
    return page, confidence, turned, matrix, straight


def _upright_marks(corners: npt.NDArray[Any], shape: tuple[int, ...]) -> bool:
    """Whether the page's top edge runs along the photo's top or bottom (not its sides)."""
    tl, tr = corners[0], corners[1]
    return bool(abs(tr[0] - tl[0]) >= abs(tr[1] - tl[1]))


def read_fields(straight: Gray, template: PageTemplate, inverse: npt.NDArray[Any]) -> list[FieldReading]:
    out = []
    for name, boxes in template.fields.items():
        cut = fields.cut_field(straight, boxes, SCALE)
        probs, empty = fields.read_boxes(cut.images)
        bubbles = None
        if name in BUBBLE_FIELDS:
            x0, y0 = (
                cut.rects[0][0] - round(boxes[0][0] * SCALE),
                cut.rects[0][1] - round(boxes[0][1] * SCALE),
            )
            bubbles = fields.read_bubbles(straight, template.bubbles[name], SCALE, (x0, y0))
            probs = fields.fuse_bubbles(probs, bubbles)
        out.append(fields.field_reading(name, probs, empty, _quad(cut.rects, inverse), bubbles))
    return out


def _quad(rects: list[tuple[int, int, int, int]], inverse: npt.NDArray[Any]) -> Quad:
    x0, y0 = rects[0][0], rects[0][1]
    x1, y1 = rects[-1][0] + rects[-1][2], rects[-1][1] + rects[-1][3]
    pts = np.array([[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]], np.float64)
    mapped = cv2.perspectiveTransform(pts, inverse)[0]
    a, b, c, d = ((round(float(x), 1), round(float(y), 1)) for x, y in mapped)
    return (a, b, c, d)


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round((now - self.last) * 1000, 1)
        self.last = now
