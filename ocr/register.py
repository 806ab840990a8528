"""Fallback when the corner fiducials are hidden or cut off: find the page by its digit boxes.

Real uploads often clip the top or bottom edge with the marks on it. The printed boxes come in
rows of three at a fixed pitch; one row seen in the photo matched to one row of a page template
fixes a similarity transform, which is kept if most other boxes fall on template boxes too.
The inliers then give a least-squares affine map, or a homography when enough boxes are seen
and the phone was held at a slant. Only photos held within 30° of upright are
searched this way (a turned photo is handled by the fiducials). Fits are scored so that a part
of one page's boxes matching another page loses (see ``_score``); the reader's layout check
then confirms the page.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.cells import Gray
from ocr.form import Page
from ocr.templates import PageTemplate

TOLERANCE = 14.0
"""Template pixels (at 2000 px wide) within which a photographed box counts as on its template box."""
ROUGH = 60.0
"""Tolerance for pairing points under a rough fit, before it is refined."""
MIN_INLIERS = 7
SIZE_RATIO = 1.22
"""A photographed box counts as a digit box when its side is within this factor of the template's."""
MARK_WEIGHT = 10
FEW_ROWS = 4
"""Templates with at most this many rows of boxes are also searched from pairs of rows."""
PERSPECTIVE_POINTS = 7
"""Boxes and marks needed before the fit may be a homography rather than an affine map."""
MAX_TILT = 0.35
"""Largest change of scale a fitted homography may make across the boxes it was fitted on."""
"""A corner mark landing on its template corner counts as much as ten boxes."""
ENOUGH = 0.7
"""A fit that puts this share of a page's boxes on photographed boxes ends that page's search."""
MAX_BOXES = 400
MAX_ROWS = 600
MAX_MARKS = 40
"""Past these a photo is a pattern (a grid, a table, a screen), not this form, and is not
searched: the search's cost grows with rows × marks and with rows squared, so a small picture of
a grid kept a reader busy for minutes. The real and synthetic photos show at most 159 boxes,
458 rows of three (page 2's tally squares) and 7 marks."""


@dataclass(frozen=True)
class Registered:
    page: Page
    matrix: npt.NDArray[Any]
    """3×3 photo → template pixels at scale 1 (an affine map or a homography)."""
    inliers: int


def boxes_in(gray: Gray, *, widest: float = 1.33) -> npt.NDArray[Any]:
    """Centres and sides (x, y, side) of square holes the size of a digit box.

    Only (nearly) straight horizontal and vertical strokes are kept first, so a digit or an X
    written across a box does not break its outline into pieces. The search runs twice: on the
    thresholded photo, and with its strokes thickened, because on a curled page a box's edges
    lean a few degrees and a one-pixel line does not survive a straight opening (while
    thickening closes the boxes whose digits touch their borders). ``widest`` is the largest
    width over height a box may have.
    """
    found: list[tuple[float, float, float]] = []
    for strokes in _strokes(gray):
        for cx, cy, side in _holes(strokes, widest):
            _add_unless_overlapping(found, cx, cy, side)
    return np.array(found, np.float32).reshape(-1, 3)


def _strokes(gray: Gray) -> tuple[Gray, Gray]:
    """The photo's ink thresholded, as is and thickened (see ``boxes_in``)."""
    binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 7)
    return binary, cv2.dilate(binary, np.ones((3, 3), np.uint8))


def _sizes(shape: tuple[int, ...]) -> tuple[int, float, float]:
    """The shortest straight stroke kept, and the smallest and largest box side, in pixels."""
    longest = max(shape[:2])
    return max(5, round(0.018 * longest)), 0.012 * longest, 0.06 * longest


def _add_unless_overlapping(
    found: list[tuple[float, float, float]], cx: float, cy: float, side: float
) -> None:
    if not any(abs(cx - fx) < side / 2 and abs(cy - fy) < side / 2 for fx, fy, _ in found):
        found.append((cx, cy, side))


def _holes(binary: Gray, widest: float) -> list[tuple[float, float, float]]:
    run, lo, hi = _sizes(binary.shape)
    across = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (run, 1)))
    down = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, run)))
    grid = cv2.dilate(cv2.bitwise_or(across, down), np.ones((3, 3), np.uint8))
    contours, hierarchy = cv2.findContours(grid, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    found: list[tuple[float, float, float]] = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        x, y, bw, bh = cv2.boundingRect(contour)
        if parent < 0 or not (lo <= bw <= hi and lo <= bh <= hi and 0.75 < bw / bh < widest):
            continue
        if cv2.contourArea(contour) < 0.6 * bw * bh:
            continue
        cx, cy = x + bw / 2, y + bh / 2
        if not any(abs(cx - fx) < bw / 2 and abs(cy - fy) < bh / 2 for fx, fy, _ in found):
            found.append((cx, cy, (bw + bh) / 2))
    return found


def boxes_by_sides(gray: Gray, *, widest: float = 1.33) -> npt.NDArray[Any]:
    """Centres and sides (x, y, side) of digit boxes found by their two upright sides alone.

    Faint or thin printing loses a box's top or bottom line to the threshold, and rounded
    corners leave gaps, so ``boxes_in`` finds no closed hole (TPS_190 and 14 more crops of
    c1_page2_crops). Two upright strokes of the same height, side by side as far apart as they
    are tall, still make a box; a digit's stroke inside it is nearer to a side than that, and a
    table's lines run taller than its cells are wide. The pair nearest to square wins where
    candidates overlap.
    """
    run, lo, hi = _sizes(gray.shape)
    found: list[tuple[float, float, float]] = []
    for strokes in _strokes(gray):
        down = cv2.morphologyEx(strokes, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, run)))
        stats = cv2.connectedComponentsWithStats(down)[2][1:]
        sides = sorted(
            (x + sw / 2, y, y + sh) for x, y, sw, sh, _ in stats.tolist() if lo <= sh <= hi and sw <= sh / 3
        )
        candidates: list[tuple[float, float, float, float]] = []
        for i, (xa, top_a, bottom_a) in enumerate(sides):
            tall_a = bottom_a - top_a
            for xb, top_b, bottom_b in sides[i + 1 :]:
                apart = xb - xa
                if apart > 1.05 * widest * tall_a:
                    break
                tall_b = bottom_b - top_b
                tall = (tall_a + tall_b) / 2
                overlap = min(bottom_a, bottom_b) - max(top_a, top_b)
                alike = abs(tall_a - tall_b) <= 0.2 * max(tall_a, tall_b) and overlap >= 0.8 * max(
                    tall_a, tall_b
                )
                if alike and 0.75 < apart / tall < widest:
                    middle = (max(top_a, top_b) + min(bottom_a, bottom_b)) / 2
                    squareness = abs(math.log(apart / tall))
                    candidates.append((squareness, (xa + xb) / 2, middle, (apart + tall) / 2))
        for _, cx, cy, side in sorted(candidates):
            _add_unless_overlapping(found, cx, cy, side)
    return np.array(found, np.float32).reshape(-1, 3)


def rows_of_three(boxes: npt.NDArray[Any]) -> list[tuple[int, int]]:
    """Pairs (first, third) of boxes that make a row of three at an even pitch."""
    centres = boxes[:, :2].astype(np.float64)
    step = (centres[None, :, :] - centres[:, None, :]) / 2  # [i, j]: half the way from i to j
    pitch = np.hypot(step[..., 0], step[..., 1])
    side = boxes[:, 2:3].astype(np.float64)
    candidates = np.argwhere((1.1 * side < pitch) & (pitch < 1.6 * side))
    rows = []
    for i, j in candidates:
        middle = np.hypot(*(centres - (centres[i] + step[i, j])).T)
        if middle.min() < 0.25 * boxes[i, 2]:
            rows.append((int(i), int(j)))
    return rows


def _similarity(
    a: npt.NDArray[Any], b: npt.NDArray[Any], ta: npt.NDArray[Any], tb: npt.NDArray[Any]
) -> npt.NDArray[Any]:
    """The 2×3 similarity mapping photo points a, b onto template points ta, tb."""
    za, zb = complex(*a), complex(*b)
    wa, wb = complex(*ta), complex(*tb)
    k = (wb - wa) / (zb - za)
    t = wa - k * za
    return np.array([[k.real, -k.imag, t.real], [k.imag, k.real, t.imag]], np.float64)


def register(
    boxes: npt.NDArray[Any],
    pages: dict[Page, PageTemplate],
    marks: npt.NDArray[Any],
    *,
    deadline: float = math.inf,
) -> list[Registered]:
    """The best fit of each page, best first (pages with too few matching boxes left out).

    Rough fits come from one photographed row of boxes matched to one template row, or from a
    seen corner mark plus a row (its angle and pitch). Each is refined by least squares over the
    boxes and marks it brings close, then scored: boxes on template boxes, plus marks on template
    corners. The marks matter: page 1's rows repeat at one pitch, so a fit one row off matches
    almost as many boxes, but not the marks. Past ``deadline`` (``time.thread_time()``) the
    search stops with the fits it has: its cost grows with the boxes and rows seen. A fit that
    puts most of a page's boxes on photographed ones ends the whole search. ``boxes``: the
    photo's ``boxes_in``.
    """
    if not MIN_INLIERS <= len(boxes) <= MAX_BOXES or len(marks) > MAX_MARKS:
        return []
    rows = rows_of_three(boxes)
    if len(rows) > MAX_ROWS:
        return []
    marks = marks.reshape(-1, 2).astype(np.float64)
    fits = []
    for page, template in pages.items():
        target = _Target(template)
        best: tuple[int, npt.NDArray[Any]] | None = None
        for rough in _hypotheses(boxes, rows, marks, target):
            if time.thread_time() > deadline:
                break
            refined = _refit(boxes, marks, rough, target)
            if refined is None or not _square(refined):
                continue
            score = _score(boxes, marks, refined, target)
            if score >= MIN_INLIERS and (best is None or score > best[0]):
                best = (score, refined)
                if score >= ENOUGH * len(target.centres):
                    break
        if best is not None:
            fits.append(Registered(page, _full(best[1]), best[0]))
            if best[0] >= ENOUGH * len(target.centres):
                break
    return sorted(fits, key=lambda fit: fit.inliers, reverse=True)


class _Target:
    def __init__(self, template: PageTemplate) -> None:
        rects = [r for triple in template.fields.values() for r in triple]
        self.centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in rects], np.float64)
        self.side = float(np.mean([w for _, _, w, _ in rects]))
        self.rows = [(self.centres[3 * k], self.centres[3 * k + 2]) for k in range(len(rects) // 3)]
        self.corners = np.array(template.fiducials, np.float64)
        self.squares = np.array(template.squares, np.float64).reshape(-1, 2)


def _hypotheses(
    boxes: npt.NDArray[Any], rows: list[tuple[int, int]], marks: npt.NDArray[Any], target: _Target
) -> Iterator[npt.NDArray[Any]]:
    """Rough maps, made as they are asked for: a search stopped by its deadline makes no more."""
    side = boxes[:, 2].mean()
    for rough in _rough(boxes, rows, marks, target):
        if (
            rough[0, 0] > 0
            and abs(rough[1, 0]) < 0.5 * rough[0, 0]
            and 0.75 < side * np.hypot(rough[0, 0], rough[1, 0]) / target.side < 1.33
        ):
            yield rough


def _rough(
    boxes: npt.NDArray[Any], rows: list[tuple[int, int]], marks: npt.NDArray[Any], target: _Target
) -> Iterator[npt.NDArray[Any]]:
    for i, j in rows:
        for ta, tb in target.rows:
            yield _similarity(boxes[i, :2], boxes[j, :2], ta, tb)
        ta, tb = target.rows[0]
        turn = _similarity(boxes[i, :2], boxes[j, :2], ta, tb)
        for mark in marks:
            for corner in target.corners:
                anchored = turn.copy()
                anchored[:, 2] += corner - anchored @ np.append(mark, 1.0)
                yield anchored
    if len(target.rows) <= FEW_ROWS:
        yield from _two_row_hypotheses(boxes, rows, target)


def _two_row_hypotheses(
    boxes: npt.NDArray[Any], rows: list[tuple[int, int]], target: _Target
) -> list[npt.NDArray[Any]]:
    """Affine maps taking two photographed rows onto two template rows.

    Pages 2 and 3 have three rows of boxes far apart, so a fit from one row misses the others
    when the phone was held at a slant; two rows fix the slant. Only rows running left to right,
    one well below the other, are paired.
    """
    forward = [(i, j) for i, j in rows if boxes[j, 0] > boxes[i, 0]]
    out = []
    for (i1, j1), (i2, j2) in itertools.permutations(forward, 2):
        drop = boxes[i2, :2] - boxes[i1, :2]
        side = boxes[i1, 2]
        if drop[1] < 3 * side or abs(drop[0]) > 0.3 * drop[1] or abs(boxes[i2, 2] - side) > 0.2 * side:
            continue
        source = boxes[[i1, j1, i2, j2], :2].astype(np.float64)
        for (a1, b1), (a2, b2) in itertools.combinations(target.rows, 2):
            dest = np.array([a1, b1, a2, b2], np.float64)
            solution, *_ = np.linalg.lstsq(np.hstack([source, np.ones((4, 1))]), dest, rcond=None)
            out.append(solution.T)
    return out


def _full(matrix: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A 2×3 affine map as 3×3; a 3×3 homography as it is."""
    return matrix if matrix.shape == (3, 3) else np.vstack([matrix, [0.0, 0.0, 1.0]])


def _apply(matrix: npt.NDArray[Any], points: npt.NDArray[Any]) -> npt.NDArray[Any]:
    mapped = np.hstack([points, np.ones((len(points), 1))]) @ _full(matrix).T
    return mapped[:, :2] / mapped[:, 2:]  # type: ignore[no-any-return]


def _pairs(
    points: npt.NDArray[Any], affine: npt.NDArray[Any], targets: npt.NDArray[Any], tolerance: float
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Photo points and the template points they land near under ``affine``."""
    if len(points) == 0:
        return np.zeros((0, 2)), np.zeros((0, 2))
    distance = np.linalg.norm(_apply(affine, points)[:, None, :] - targets[None, :, :], axis=2)
    nearest = distance.argmin(axis=1)
    keep = distance[np.arange(len(points)), nearest] < tolerance
    return points[keep], targets[nearest[keep]]


def _fit(
    boxes: npt.NDArray[Any],
    marks: npt.NDArray[Any],
    guess: npt.NDArray[Any],
    target: _Target,
    tolerance: float,
) -> npt.NDArray[Any] | None:
    """Least-squares map over the boxes and marks that ``guess`` puts within ``tolerance``.

    Refitted while that brings more boxes within reach (a rough guess from one or two rows
    reaches the others only once the slant is known).
    """
    fitted: npt.NDArray[Any] | None = None
    reached = 0
    for _ in range(3):
        box_from, box_to = _pairs(boxes[:, :2].astype(np.float64), guess, target.centres, tolerance)
        if len(box_from) < MIN_INLIERS or len(box_from) <= reached:
            break
        reached = len(box_from)
        mark_from, mark_to = _pairs(marks, guess, target.corners, tolerance * 2)
        guess = fitted = _least_squares(np.vstack([box_from, mark_from]), np.vstack([box_to, mark_to]))
    return fitted


def _least_squares(source: npt.NDArray[Any], dest: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """An affine map, or a homography when it fits clearly better."""
    solution, *_ = np.linalg.lstsq(np.hstack([source, np.ones((len(source), 1))]), dest, rcond=None)
    affine: npt.NDArray[Any] = solution.T
    if len(source) < PERSPECTIVE_POINTS:
        return affine
    # A phone held at a slant spaces the rows unevenly: a homography fits that, an affine map not.
    tilted, _ = cv2.findHomography(source, dest, 0)
    if tilted is None or np.abs(tilted[2, :2]).max() * np.ptp(source, axis=0).max() > MAX_TILT:
        return affine
    residual = {id(m): np.abs(_apply(m, source) - dest).max() for m in (affine, tilted)}
    return tilted if residual[id(tilted)] < residual[id(affine)] else affine


def _score(
    boxes: npt.NDArray[Any], marks: npt.NDArray[Any], affine: npt.NDArray[Any], target: _Target
) -> int:
    """Boxes on template boxes, minus boxes on the page where it has none, plus marks on corners.

    Only boxes of a digit box's size under this fit count: the tally grid of page 2 is made of
    smaller squares, which would otherwise land on page 1's rows or count against page 2.
    """
    sized = np.abs(np.log(boxes[:, 2] * _zoom(_full(affine), boxes) / target.side)) < np.log(SIZE_RATIO)
    points = boxes[sized, :2].astype(np.float64)
    on_boxes = len(_pairs(points, affine, target.centres, TOLERANCE)[0])
    mapped = _apply(affine, points)
    # Where this page has boxes: the columns of its digit boxes, between the corner marks (far
    # from the boxes a fit is an extrapolation and the page's printed tables are not modelled).
    reach = 2 * target.side
    x0, x1 = target.centres[:, 0].min() - reach, target.centres[:, 0].max() + reach
    y0, y1 = target.corners[:, 1].min(), target.corners[:, 1].max()
    inside = (mapped[:, 0] > x0) & (mapped[:, 0] < x1) & (mapped[:, 1] > y0) & (mapped[:, 1] < y1)
    if len(target.squares):
        near = np.linalg.norm(mapped[:, None, :] - target.squares[None, :, :], axis=2).min(axis=1)
        inside &= near > ROUGH
    on_marks = len(_pairs(marks, affine, target.corners, 2 * TOLERANCE)[0])
    return on_boxes - (int(inside.sum()) - on_boxes) + MARK_WEIGHT * on_marks


def _zoom(full: npt.NDArray[Any], boxes: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Template pixels per photo pixel at each box under the homography ``full`` (its scale varies
    across the photo)."""
    w = np.hstack([boxes[:, :2], np.ones((len(boxes), 1))]) @ full[2]
    return np.asarray(np.sqrt(abs(np.linalg.det(full)) / np.abs(w) ** 3))


def _square(matrix: npt.NDArray[Any]) -> bool:
    """Close to a similarity: phones and the app's resizing stretch one axis by up to ~15 %."""
    full = _full(matrix)
    linear = full[:2, :2] / full[2, 2]
    singular = np.linalg.svd(linear, compute_uv=False)
    # Not mirrored either: a least-squares fit to a mirrored page's boxes can flip it.
    return bool(singular[1] / singular[0] > 0.8 and np.linalg.det(linear) > 0)


def refine(
    boxes: npt.NDArray[Any], marks: npt.NDArray[Any], matrix: npt.NDArray[Any], template: PageTemplate
) -> npt.NDArray[Any] | None:
    """A rough map (from keypoints) fitted again to the digit boxes and marks it brings near their
    template places, as a person lines a page up by its boxes; ``None`` when too few come near."""
    refined = _refit(boxes, marks.reshape(-1, 2).astype(np.float64), matrix, _Target(template))
    return None if refined is None else _full(refined)


def _refit(
    boxes: npt.NDArray[Any], marks: npt.NDArray[Any], guess: npt.NDArray[Any], target: _Target
) -> npt.NDArray[Any] | None:
    """``guess`` fitted to the boxes and marks within ``ROUGH`` of their places, then again
    within ``TOLERANCE``; ``None`` when too few come near at first."""
    rough = _fit(boxes, marks, guess, target, ROUGH)
    if rough is None:
        return None
    tight = _fit(boxes, marks, rough, target, TOLERANCE)
    return rough if tight is None else tight


def by_rows(
    boxes: npt.NDArray[Any], marks: npt.NDArray[Any], matrix: npt.NDArray[Any], template: PageTemplate
) -> npt.NDArray[Any] | None:
    """A rough map fitted again to the rows of three boxes found near each field's place.

    Pages 2 and 3 come in printings whose tables are taller than the blank form's (two rows of
    tally squares, not one), so their fields lie up to ~200 template pixels from where a map of
    the printed text puts them. Each field takes the photographed row of three nearest its place
    within half the distance to its neighbouring field, rows keeping their order down the page;
    the boxes of the rows taken fix the map where it matters: around the fields.
    """
    if not MIN_INLIERS <= len(boxes) <= MAX_BOXES:
        return None
    full = _full(matrix)
    target = _Target(template)
    mapped = _apply(full, boxes[:, :2].astype(np.float64))
    ratio = boxes[:, 2] * _zoom(full, boxes) / target.side
    sized = (ratio > 1 / 1.5) & (ratio < 1.5)
    firsts = target.centres[0::3]
    gaps = np.abs(firsts[:, None, 1] - firsts[None, :, 1]) + np.eye(len(firsts)) * 1e9
    window = np.clip(0.45 * gaps.min(axis=1), TOLERANCE, 250.0)
    source, dest, last_y = [], [], -np.inf
    for k, ((tx, ty), reach) in enumerate(zip(firsts, window, strict=True)):
        near = sized & (np.abs(mapped[:, 0] - tx) < 2 * target.side) & (np.abs(mapped[:, 1] - ty) < reach)
        near &= mapped[:, 1] > last_y
        found = _row_from(mapped, np.flatnonzero(near), target.centres[3 * k : 3 * k + 3], target.side)
        if found is None:
            continue
        last_y = mapped[found[0][1], 1]
        source += [boxes[i, :2] for _, i in found]
        dest += [target.centres[3 * k + b] for b, _ in found]
    if len(source) < 6:
        return None
    mark_from, mark_to = _pairs(marks.reshape(-1, 2).astype(np.float64), full, target.corners, 2 * ROUGH)
    points = np.vstack([np.array(source, np.float64), mark_from])
    return _full(_least_squares(points, np.vstack([np.array(dest, np.float64), mark_to])))


def _row_from(
    mapped: npt.NDArray[Any], first: npt.NDArray[Any], row: npt.NDArray[Any], side: float
) -> list[tuple[int, int]] | None:
    """Of the candidate first boxes, the one nearest the row's place (``row``: its three template
    centres) with the boxes that follow it at the row's own pitch, each found from the last (a
    rough map's scale is off by up to a tenth); the middle one may be missing (its digit or a
    fold broke its outline). Pairs (box of the row 0–2, photographed box)."""
    best: tuple[float, list[tuple[int, int]]] | None = None
    for i in first:
        found = [(0, int(i))]
        for k in (1, 2):
            last, j_last = found[-1]
            distance = np.hypot(*(mapped - (mapped[j_last] + row[k] - row[last])).T)
            j = int(distance.argmin())
            if distance[j] <= 0.3 * side * (k - last):
                found.append((k, j))
        if len(found) >= 2 and found[-1][0] == 2:
            cost = float(np.hypot(*(mapped[i] - row[0])))
            if best is None or cost < best[0]:
                best = (cost, found)
    return None if best is None else best[1]
