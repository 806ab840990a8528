"""One photo in, one page reading (or a reason to retake it) out.

normalise (decode, size limits, light) → place the page: hypotheses from the corner marks, then
(unless those already fit a page surely) from the printed content's keypoints, then (last, within
the time budget) from the digit boxes; each map judged by the page layouts it makes fit → cut off
→ rectify once → quality (blur) → read fields (digits, bubbles).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from ocr import fields, header, identify, keypoints, locate, part, quality, register, rows
from ocr.cells import Gray
from ocr.digits import model
from ocr.form import BUBBLE_FIELDS, Page
from ocr.imagefile import MIN_SIDE, Unreadable, decode_gray, too_small
from ocr.reading import FieldReading, Outcome, PageReading, Quad, Rejected, Retake
from ocr.templates import PageTemplate, templates

SCALE = 0.75
"""Straightened pages are 1500×2250: digit boxes ~44 px, like the photos' own resolution."""
VERSION = "rekap-ocr 6"
"""5: lost corner marks looked for by their picture; sharpness against each edge's own step."""
PART_CONFIDENCE = 0.5
"""Page confidence of a photo of page 2's vote part alone (no corner mark or header placed it)."""
BUDGET_S = 0.8
"""CPU seconds (of the reading thread: OpenCV runs on it alone, ``ocr.threads``) the search for
the page may take before it settles for what it has: the slowest real photos took 5–26 s in the
boxes' search, holding a worker all that time. CPU time, not the wall clock, so that a loaded
machine reads a photo as an idle one does."""
EDGE_SLACK = 0.35
"""Share of a box's width that may lie beyond the photo's edge."""


def read_page(data: bytes, *, budget_s: float = BUDGET_S) -> Outcome:
    """Read one photo; the search for the page stops after ``budget_s`` seconds with what it has."""
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    placed = _straighten(data, budget_s, clock)
    if not isinstance(placed, _Placed):
        return placed
    readings = read_fields(placed.straight, placed.template, placed.inverse)
    clock.lap("fields")
    turned = _turned(placed.inverse)
    return PageReading(placed.page, placed.confidence, turned, readings, placed.inferred, timings, _version())


class _Placed(NamedTuple):
    page: Page
    confidence: float
    template: PageTemplate
    inverse: npt.NDArray[Any]
    straight: Gray
    inferred: int


def _version() -> str:
    return f"{VERSION}; digits {model().version}"


def _part_reading(gray: Gray, clock: _Clock) -> PageReading | None:
    """The photo read as page 2's vote part alone, or ``None`` when its three pairs are not found."""
    found = part.read_part(gray)
    if found is None:
        return None
    clock.lap("part")
    return PageReading(
        Page.PASLON, PART_CONFIDENCE, found.rotated, found.fields, 4, clock.timings, _version()
    )


def _straighten(data: bytes, budget_s: float, clock: _Clock) -> _Placed | Outcome:
    """The page placed, straightened and checked; or the refusal (or, for a photo of page 2's
    vote part alone, its reading)."""
    try:
        gray = decode_gray(data)
    except Unreadable as error:
        return Rejected(error.reason, error.reason.message, error.detail)
    clock.lap("decode")
    if min(gray.shape) < MIN_SIDE:
        # Too small for a whole page; a photo of page 2's vote part alone may still be read.
        if (reading := _part_reading(gray, clock)) is not None:
            return reading
        small = too_small(gray.shape[1], gray.shape[0])
        return Rejected(small.reason, small.reason.message, small.detail)
    if (problem := quality.lighting(gray)) is not None:
        # Too dark for a whole page's cells; page 2's vote part alone is read wherever its
        # boxes and bubbles are still found (TPS_061 of c1_page2_crops, paper at 66 of 255).
        if (reading := _part_reading(gray, clock)) is not None:
            return reading
        return Rejected(Retake.DARK, Retake.DARK.message, problem)
    search = _place(gray, budget_s, clock)
    if search.best is None:
        # No page placed: a photo of page 2's vote part alone is read from its boxes and bubbles.
        if (reading := _part_reading(gray, clock)) is not None:
            return reading
        return _not_found(gray, search, budget_s)
    page, confidence, matrix = search.best
    template = templates()[page]
    inverse = np.linalg.inv(matrix)
    if (missing := _outside(template, inverse, gray.shape)) is not None:
        return Rejected(Retake.CUT_OFF, Retake.CUT_OFF.message, f"{missing} is outside the photo")
    straight = locate.rectify(gray, np.diag([SCALE, SCALE, 1.0]) @ matrix, SCALE)
    clock.lap("rectify")
    # Page 1 of the other ballots' forms has PPWP page 1's boxes: the header's 2D code (or, when it
    # is not found, the printed title) tells them apart.
    if (refusal := header.other_form(_header(gray, straight, template))) is not None:
        return Rejected(Retake.OTHER_FORM, Retake.OTHER_FORM.message, refusal)
    clock.lap("header")
    if (problem := quality.sharpness(straight)) is not None:
        return Rejected(Retake.BLURRY, Retake.BLURRY.message, problem)
    clock.lap("quality")
    inferred = search.inferred if search.by_marks else 4  # 4: placed without the marks
    return _Placed(page, confidence, template, inverse, straight, inferred)


def page_boxes(data: bytes) -> tuple[Page, dict[str, list[Gray]]] | None:
    """The box images the reader cuts from a photo, by field (``None``: no whole page placed):
    real boxes, cut exactly as read, for training the digit model on pages with known numbers."""
    placed = _straighten(data, BUDGET_S, _Clock({}))
    if not isinstance(placed, _Placed):
        return None
    cuts = cut_fields(placed.straight, placed.template)
    return placed.page, {name: cut.images for name, cut in cuts.items()}


def _header(gray: Gray, straight: Gray, template: PageTemplate) -> header.Header:
    """The page's 2D code where the map puts it (3 ms), else anywhere in the photo (40 ms: a map
    made from the marks alone can be off at the header), else the printed title (Tesseract,
    about 250 ms)."""
    found = header.read_header(straight, template, SCALE, text=header.Text.NEVER)
    if found.code is None and (code := header.read_code(gray)) is not None:
        return header.Header(code)
    return found if found.code is not None else header.read_header(straight, template, SCALE)


def _place(gray: Gray, budget_s: float, clock: _Clock) -> _Search:
    """Hypotheses from the marks, then the printed content, then the boxes, each stage only while
    no map fits a page surely (and the boxes only within the budget)."""
    search = _Search(gray, locate.candidates(gray), time.thread_time() + budget_s)
    try:
        found = locate.locate(gray, search.candidates)
        search.inferred = found.inferred
        maps = [
            locate.homography(c, templates()[Page.ADMINISTRASI], 1.0) for c in locate.rotations(found.corners)
        ]
        search.mark_map = maps[0]
        for matrix in maps:
            # Two marks looked for by their picture can be print of another form that looks like
            # them: such a map must fit a page surely.
            search.consider(matrix, None, surely=found.inferred > 1)
    except locate.NotLocated as error:
        search.marks_failed = Retake(error.reason)
    clock.lap("locate")
    # A map with a corner inferred (or found by its picture) may fit surely yet be off where the
    # page is slanted: the printed content's placements compete with it.
    if not search.sure() or search.inferred:
        for placement in keypoints.place(gray):
            search.placed(placement)
        clock.lap("keypoints")
    if search.best is None:
        search.by_keypoints()
    # The boxes alone are searched only when the marks did not show the whole page (page 1's box
    # grid repeats, so they fit a page shifted by a column, or mirrored, that all four marks rule
    # out) and the form's printed text was seen but not placed well enough: a form of another
    # year or ballot is full of boxes too.
    if search.best is None and search.inferred and search.placements:
        if not search.late():
            boxes = search.photo_boxes()
            for fit in register.register(boxes, templates(), search.marks, deadline=search.deadline):
                search.consider(fit.matrix, fit.page)
            clock.lap("boxes")
        search.cut_short = search.late()
    return search


class _Search:
    """The hypotheses (photo → template maps) tried so far and the best that fits a page.

    A map fitted to one page's printed content (keypoints, boxes) only counts for that page.
    """

    def __init__(self, gray: Gray, candidates: list[locate.Candidate], deadline: float) -> None:
        self.gray = gray
        self.candidates = candidates
        self.marks = np.array([(c.x, c.y) for c in candidates], np.float64).reshape(-1, 2)
        self.marks_failed: Retake | None = None
        """Why the corner marks placed no page (``None``: they gave a map)."""
        self.mark_map: npt.NDArray[Any] | None = None
        self.inferred = 4
        """Corners the marks' map inferred rather than saw (4: no map from marks)."""
        self.deadline = deadline
        self.cut_short = False
        """The boxes' search was wanted and the deadline stopped it (or left no time for it)."""
        self.best: tuple[Page, float, npt.NDArray[Any]] | None = None
        self.best_score = 0.0
        self.by_marks = False
        self.boxes: npt.NDArray[Any] | None = None
        self.placements: list[tuple[keypoints.Placement, float]] = []
        """Each keypoint placement with its own page's layout score."""

    def consider(self, matrix: npt.NDArray[Any], fitted: Page | None, *, surely: bool = False) -> float:
        """Judge a map; returns the layout score of the page it was fitted to (or of the best).
        ``surely``: the map counts only when it fits a page surely."""
        if not _plausible(matrix):
            return 0.0
        scores = identify.page_scores(self.gray, matrix)
        page, score, confidence = identify.best_page(scores)
        fits = identify.fits(score, confidence) and (score >= identify.SURE or not surely)
        if fitted in (None, page) and fits and score > self.best_score:
            self.best, self.best_score, self.by_marks = (page, confidence, matrix), score, fitted is None
        return scores[fitted] if fitted is not None else score

    def placed(self, placement: keypoints.Placement) -> None:
        """Consider a keypoint placement as it is and fitted again to the page's digit boxes:
        keypoints place a page only roughly (their positions come from a coarse image pyramid)."""
        self.placements.append((placement, self.consider(placement.matrix, placement.page)))
        template = templates()[placement.page]
        for refit in (register.refine, register.by_rows):
            better = refit(self.photo_boxes(), self.marks, placement.matrix, template)
            if better is not None:
                refined = keypoints.Placement(placement.page, better, placement.inliers)
                self.placements.append((refined, self.consider(better, placement.page)))

    def by_keypoints(self) -> None:
        """The page the printed content names clearly, when no map makes a layout fit.

        A page printed on longer paper, or in another printing whose tables are taller, matches
        the blank page's text but not its box layout as one plane; its fields are then found
        near their expected places (``fields.cut_field`` searches further on pages 2 and 3).
        """
        if not self.placements:
            return
        inliers: dict[Page, int] = {}
        for placement, _ in self.placements:
            inliers[placement.page] = max(inliers.get(placement.page, 0), placement.inliers)
        page = max(inliers, key=lambda p: inliers[p])
        runner_up = max((n for p, n in inliers.items() if p != page), default=0)
        if inliers[page] < keypoints.SURE_INLIERS or inliers[page] < keypoints.SURE_RATIO * runner_up:
            return
        placement, _ = max((x for x in self.placements if x[0].page == page), key=lambda x: x[1])
        if _plausible(placement.matrix):
            self.best = (page, 1.0 - runner_up / inliers[page], placement.matrix)

    def photo_boxes(self) -> npt.NDArray[Any]:
        if self.boxes is None:
            self.boxes = register.boxes_in(self.gray)
        return self.boxes

    def sure(self) -> bool:
        return self.best_score >= identify.SURE

    def late(self) -> bool:
        return time.thread_time() > self.deadline


def _plausible(matrix: npt.NDArray[Any]) -> bool:
    """A map a phone could make: finite, not folding the page flat, not stretching one way over
    twice the other (an app's resize stretches by ~15 %, a slant by less than half)."""
    if not np.isfinite(matrix).all() or abs(matrix[2, 2]) < 1e-9:
        return False
    linear = matrix[:2, :2] / matrix[2, 2]
    if np.linalg.det(linear) <= 0:  # a mirror image: no camera photographs a page that way
        return False
    scales = np.linalg.svd(linear, compute_uv=False)
    return bool(scales[1] / scales[0] > 0.5 and 0.05 < scales[0] < 50)


def _not_found(gray: Gray, search: _Search, budget_s: float) -> Rejected:
    """No map fits a page. The 2D code of another form's page names it; the marks or the printed
    text of the form were seen but no page's boxes: too blurred to see them, or another form; or
    the marks say why they placed nothing (cut off, no form)."""
    code = header.read_code(gray)
    if code is not None and (refusal := header.other_form(header.Header(code))):
        return Rejected(Retake.OTHER_FORM, Retake.OTHER_FORM.message, refusal)
    # Where the marks or the printed text were seen, though too vaguely to place the page, blur
    # is what hid it when the page they place is soft.
    seen = search.mark_map
    if seen is None and search.placements:
        seen = max(search.placements, key=lambda placed: placed[0].inliers)[0].matrix
    if seen is not None and _plausible(seen):
        straight = locate.rectify(gray, np.diag([SCALE, SCALE, 1.0]) @ seen, SCALE)
        if (problem := quality.sharpness(straight, quality.SOFT)) is not None:
            return Rejected(Retake.BLURRY, Retake.BLURRY.message, problem)
    if search.cut_short:
        # The boxes' search was cut short: nothing is known to be wrong with the photo, only that
        # it is too hard to make out in the time a worker may spend on it.
        return Rejected(Retake.UNCLEAR, Retake.UNCLEAR.message, f"search stopped after {budget_s:.1f} s")
    reason = search.marks_failed or Retake.OTHER_FORM
    if reason == Retake.CUT_OFF and not search.placements:
        # Marks at two corners only, and none of the form's printed text: mark-like squares of
        # something else (a form of another year), not part of this form.
        reason = Retake.NO_FORM
    detail = {
        Retake.OTHER_FORM: "the printed boxes do not match any page of C.Hasil-PPWP",
        Retake.CUT_OFF: "too little of the page is in the photo to place it",
        Retake.NO_FORM: "no corner marks, printed text or boxes of the form were found",
    }.get(reason, "")
    return Rejected(reason, reason.message, detail)


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


def cut_fields(straight: Gray, template: PageTemplate) -> dict[str, fields.BoxCut]:
    if template.page is Page.ADMINISTRASI:
        # Rows 77 template pixels apart, printings whose tables differ by a row: the rows are
        # found first (``rows``), then each field's boxes lined up within a tenth of a row.
        return {
            name: fields.cut_field(straight, boxes, SCALE, rows.ROW_REACH)
            for name, boxes in rows.placed(straight, template, SCALE).items()
        }
    return {name: fields.cut_field(straight, boxes, SCALE) for name, boxes in template.fields.items()}


def read_fields(straight: Gray, template: PageTemplate, inverse: npt.NDArray[Any]) -> list[FieldReading]:
    cuts = cut_fields(straight, template)
    # Every box of the page through the digit model at once: one product of matrices, not 22.
    probs, empty = fields.read_boxes([image for cut in cuts.values() for image in cut.images])
    out = []
    for k, (name, cut) in enumerate(cuts.items()):
        field_probs, field_empty = probs[3 * k : 3 * k + 3], empty[3 * k : 3 * k + 3]
        bubbles = None
        if name in BUBBLE_FIELDS:
            boxes = template.fields[name]
            x0, y0 = (
                cut.rects[0][0] - round(boxes[0][0] * SCALE),
                cut.rects[0][1] - round(boxes[0][1] * SCALE),
            )
            bubbles = fields.read_bubbles(straight, template.bubbles[name], SCALE, (x0, y0))
        out.append(fields.field_reading(name, field_probs, field_empty, _quad(cut.rects, inverse), bubbles))
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
