"""One photo in, one page reading (or a reason to retake it) out.

normalise (decode, size limits, light) → locate (fiducials; the digit boxes when the marks are
hidden) → rectify (homography) → identify page and orientation (box layout) → quality (blur,
cut off) → read fields (digits, bubbles).
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr import fields, identify, locate, quality, register
from ocr.cells import Gray
from ocr.digits import model
from ocr.form import BUBBLE_FIELDS, Page
from ocr.imagefile import Unreadable, decode_gray
from ocr.reading import FieldReading, Outcome, PageReading, Quad, Rejected, Retake
from ocr.templates import PageTemplate, templates

SCALE = 0.75
"""Straightened pages are 1500×2250: digit boxes ~44 px, like the photos' own resolution."""
VERSION = "rekap-ocr 3"
"""3: a field's ``quad`` frames its boxes (2 put it at three quarters of their place on the page)."""
EDGE_SLACK = 0.35
"""Share of a box's width that may lie beyond the photo's edge."""


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
    pages = templates()
    unmarked: Retake | None = None  # why the corner marks failed, when the boxes had to locate the page
    try:
        found = locate.locate(gray)
        inferred = found.inferred
        maps: list[Map] = [
            (locate.homography(corners, pages[Page.ADMINISTRASI], 1.0), None)
            for corners in locate.rotations(found.corners)
        ]
        if inferred:
            # A corner guessed as a parallelogram's is wrong under strong perspective: let the
            # digit boxes offer their own fit, and the page layout choose.
            maps += [(fit.matrix, fit.page) for fit in register.register(gray, pages, _marks(gray))]
    except locate.NotLocated as error:
        inferred = 4
        unmarked = Retake(error.reason)
        fits = register.register(gray, pages, _marks(gray))
        if not fits:
            return Rejected(unmarked, unmarked.message)
        maps = [(fit.matrix, fit.page) for fit in fits]
    clock.lap("locate")
    page, confidence, matrix, straight = _identify(gray, maps)
    clock.lap("identify")
    if (problem := quality.sharpness(straight)) is not None:
        return Rejected(Retake.BLURRY, Retake.BLURRY.message, problem)
    if page is None and unmarked is not None:
        # Some boxes fit a page but too few to be sure which: the marks' reason stands.
        return Rejected(unmarked, unmarked.message, "too little of the page is in the photo to identify it")
    if page is None:
        detail = "the printed boxes do not match any page of C.Hasil-PPWP"
        return Rejected(Retake.OTHER_FORM, Retake.OTHER_FORM.message, detail)
    template = pages[page]
    inverse = np.linalg.inv(matrix)
    if (missing := _outside(template, inverse, gray.shape)) is not None:
        return Rejected(Retake.CUT_OFF, Retake.CUT_OFF.message, f"{missing} is outside the photo")
    clock.lap("quality")
    readings = read_fields(straight, template, inverse)
    clock.lap("fields")
    version = f"{VERSION}; digits {model().version}"
    return PageReading(page, confidence, _turned(inverse), readings, inferred, timings, version)


def _marks(gray: Gray) -> npt.NDArray[Any]:
    return np.array([(c.x, c.y) for c in locate.candidates(gray)], np.float64)


Map = tuple[npt.NDArray[Any], Page | None]
"""Photo → template, and the page it was fitted to (``None``: fitted to the corner marks alone)."""


def _identify(gray: Gray, maps: list[Map]) -> tuple[Page | None, float, npt.NDArray[Any], Gray]:
    """Rectify with each candidate map and keep the best-fitting page layout.

    A map fitted to one page's digit boxes only counts when that same page's layout fits best.
    """
    pages = templates()
    zoom = np.diag([SCALE, SCALE, 1.0])
    best: tuple[float, Page, npt.NDArray[Any], Gray, dict[Page, float]] | None = None
    for matrix, fitted in maps:
        straight = locate.rectify(gray, zoom @ matrix, SCALE)
        seen = locate.coverage(gray.shape, zoom @ matrix, SCALE)
        scores = {p: identify.layout_score(straight, t, SCALE, seen) for p, t in pages.items()}
        page = max(scores, key=lambda p: scores[p])
        score = scores[page] if fitted in (None, page) else 0.0
        if best is None or score > best[0]:
            best = (score, page, matrix, straight, scores)
    assert best is not None
    score, page, matrix, straight, scores = best
    _, confidence = identify.best_page(scores)
    if score < identify.MIN_LAYOUT or confidence < identify.MIN_MARGIN:
        return None, 0.0, matrix, straight
    return page, confidence, matrix, straight


def _outside(template: PageTemplate, inverse: npt.NDArray[Any], shape: tuple[int, ...]) -> str | None:
    """The first field whose boxes are not inside the photo.

    A box may lose a third of its width to the photo's edge: the digit is written in
    its middle, and the page's outer column often touches the edge of an app-cropped photo.
    """
    h, w = shape[:2]
    for name, boxes in template.fields.items():
        x0, y0 = boxes[0][0], boxes[0][1]
        x1, y1 = boxes[2][0] + boxes[2][2], boxes[2][1] + boxes[2][3]
        corners = np.array([[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]], np.float64)
        mapped = cv2.perspectiveTransform(corners, inverse)[0]
        slack = EDGE_SLACK * float(np.linalg.norm(mapped[1] - mapped[0])) / 3
        if (mapped < -slack).any() or (mapped[:, 0] >= w + slack).any() or (mapped[:, 1] >= h + slack).any():
            return name
    return None


def _turned(inverse: npt.NDArray[Any]) -> int:
    """Degrees the photo is turned from upright: the direction of the page's top edge in it."""
    ends = cv2.perspectiveTransform(np.array([[(500.0, 1500.0), (1500.0, 1500.0)]]), inverse)[0]
    dx, dy = ends[1] - ends[0]
    return round(float(np.degrees(np.arctan2(dy, dx))) / 90) % 4 * 90


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
    """The boxes' corners in the photo; ``rects`` are on the page straightened at ``SCALE``,
    ``inverse`` maps the template at scale 1."""
    x0, y0 = rects[0][0], rects[0][1]
    x1, y1 = rects[-1][0] + rects[-1][2], rects[-1][1] + rects[-1][3]
    pts = np.array([[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]], np.float64) / SCALE
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
