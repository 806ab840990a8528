"""Find the form in a photo by its corner fiducials and map it onto the template.

Each corner of every page carries the same mark: two solid squares touching at a corner,
along the "\\" diagonal. Four found marks give a homography; with one hidden (a thumb, a
fold) the fourth corner is inferred from the other three as a parallelogram. A mark that
would lie outside the photo means the page was cut off.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.form import Page
from ocr.quality import percentile
from ocr.templates import HEIGHT, WIDTH, PageTemplate, templates

Points = npt.NDArray[Any]
MAX_SQUARES = 400
"""Solid squares beyond which parted marks are not paired: a page shows fewer than a hundred (87
at most in the real and synthetic photos), a grid of dots thousands, whose pairs would keep a
reader busy for minutes."""


@dataclass(frozen=True)
class Candidate:
    x: float
    y: float
    size: float
    backslash: bool
    """The two squares lie along "\\" (page upright or upside down) rather than "/"."""


@dataclass(frozen=True)
class Located:
    corners: Points
    """Photo coordinates of the template's TL, TR, BL, BR fiducials (float32, 4×2)."""
    inferred: int
    """How many corners were inferred (or looked for by their picture) rather than seen."""


class NotLocated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def candidates(gray: npt.NDArray[Any]) -> list[Candidate]:
    h, w = gray.shape
    block = max(31, (min(h, w) // 12) | 1)
    dark = cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 25)
    dark = dark & (gray < np.minimum(percentile(gray, 60), _paper(gray) * 0.55)).astype(np.uint8)
    _count, _, stats, centres = cv2.connectedComponentsWithStats(dark)
    lo, hi = 0.007 * max(h, w), 0.06 * max(h, w)
    x, y, bw, bh, area = (stats[1:, k].astype(np.float64) for k in range(5))
    ratio, fill = bw / bh, area / (bw * bh)
    # Whole squares (either of a mark's two, when blur or the threshold parted them) ...
    # (a slant or the app's resize makes them up to 1.8 times as wide as tall, or as tall)
    solid = (0.4 * lo <= bw) & (bw <= hi / 2) & (0.4 * lo <= bh) & (bh <= hi / 2)
    solid &= (ratio > 0.55) & (ratio < 1.8)
    solid &= fill > 0.6
    squares = [
        (float(centres[i + 1][0]), float(centres[i + 1][1]), (bw[i] + bh[i]) / 2)
        for i in np.flatnonzero(solid)
    ]
    # ... and pairs of squares touching at a corner: a mark, its two squares on one diagonal.
    paired = (lo <= bw) & (bw <= hi) & (lo <= bh) & (bh <= hi) & (ratio > 0.45) & (ratio < 2.2)
    paired &= (fill > 0.3) & (fill < 0.75)
    out = []
    for i in np.flatnonzero(paired):
        px, py, pw, ph = int(x[i]), int(y[i]), int(bw[i]), int(bh[i])
        patch = dark[py : py + ph, px : px + pw]
        my, mx = ph // 2, pw // 2
        q = [patch[:my, :mx].mean(), patch[:my, mx:].mean(), patch[my:, :mx].mean(), patch[my:, mx:].mean()]
        cx, cy, size = float(centres[i + 1][0]), float(centres[i + 1][1]), (pw + ph) / 2
        if min(q[0], q[3]) > 0.6 and max(q[1], q[2]) < 0.45:
            out.append(Candidate(cx, cy, size, True))
        elif min(q[1], q[2]) > 0.6 and max(q[0], q[3]) < 0.45:
            out.append(Candidate(cx, cy, size, False))
    if len(squares) > MAX_SQUARES:
        return out  # a pattern, not a page: pairing would cost the square of their number
    # Blur or a coarse threshold can part the two squares where they touch: pair them up again.
    for (ax, ay, a), (bx, by, b) in itertools.combinations(squares, 2):
        dx, dy = bx - ax, by - ay
        if dy < 0:
            dx, dy = -dx, -dy
        side = (a + b) / 2
        if abs(a - b) >= 0.3 * side or not 1.0 * side < np.hypot(dx, dy) < 1.9 * side:
            continue
        # Corner to corner: √2 sides apart, at 45° give or take the photo's own turn (±25°).
        if abs(np.degrees(np.arctan2(dy, abs(dx))) - 45) >= 25:
            continue
        if not any(abs(c.x - (ax + bx) / 2) < side and abs(c.y - (ay + by) / 2) < side for c in out):
            out.append(Candidate((ax + bx) / 2, (ay + by) / 2, 2 * side, dx > 0))
    return out


def _paper(gray: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The paper's brightness around each pixel: the brightest within a sixteenth of the photo's
    shorter side, computed on a sixteenth of its pixels."""
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    side = max(3, (min(gray.shape) // 64) | 1)
    near = cv2.dilate(small, np.ones((side, side), np.uint8))
    return cv2.resize(near, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)


def locate(gray: npt.NDArray[Any], found: list[Candidate] | None = None) -> Located:
    """The four corners of the form in the photo, in template order for an upright page.

    The order assumes the page is upright or upside down when the marks are "\\", and turned a
    quarter when they are "/"; which of the two is settled later by the page's layout.
    ``found``: the photo's ``candidates``, when already known.
    """
    found = candidates(gray) if found is None else found
    if not found:
        raise NotLocated("no_form")
    backslash = sum(c.size for c in found if c.backslash) >= sum(c.size for c in found) / 2
    marks = [c for c in found if c.backslash == backslash]
    # The four marks are the largest such shapes on the page (smaller ones are print or ink).
    size = float(np.median(sorted(c.size for c in marks)[-4:]))
    marks = [c for c in marks if 0.5 * size < c.size < 2.5 * size]
    pts = np.array([(c.x, c.y) for c in marks], np.float32)
    h, w = gray.shape
    image_corners = np.array([(0, 0), (w, 0), (0, h), (w, h)], np.float32)
    picked: list[npt.NDArray[Any] | None] = []
    for corner in image_corners:
        distances = np.linalg.norm(pts - corner, axis=1)
        best = int(np.argmin(distances))
        picked.append(pts[best] if distances[best] < 0.45 * np.hypot(w, h) else None)
    # A point chosen for two corners belongs to neither with certainty: keep the closer.
    for i in range(4):
        for j in range(i + 1, 4):
            a, b = picked[i], picked[j]
            if a is not None and b is not None and np.allclose(a, b):
                di = np.linalg.norm(a - image_corners[i])
                dj = np.linalg.norm(b - image_corners[j])
                picked[j if di <= dj else i] = None
    missing = [i for i, p in enumerate(picked) if p is None]
    if len(missing) == 2:
        # Two marks seen: the other two are looked for where the page's shape puts them.
        _search_two(gray, picked, backslash)
    gaps = [k for k, p in enumerate(picked) if p is None]
    if len(gaps) > 1:
        raise NotLocated("cut_off" if len(marks) >= 2 else "no_form")
    if gaps:
        gap = gaps[0]
        # Corners k and 3 - k are diagonal: the missing one completes a parallelogram ...
        others = {k: p for k, p in enumerate(picked) if p is not None}
        side = [k for k in others if k != 3 - gap]
        guess = others[side[0]] + others[side[1]] - others[3 - gap]
        # ... unless the mark is there, somewhere near it (a slanted page is no parallelogram):
        # the threshold can lose a mark that touches the page's edge or a shadow.
        ks = sorted(others)
        target = _template_corners(backslash)
        linear = cv2.getAffineTransform(
            target[ks].astype(np.float32), np.array([others[k] for k in ks], np.float32)
        )[:, :2]
        reach = MARK_SEARCH * min(_spans()) * float(np.sqrt(abs(np.linalg.det(linear))))
        found_mark = _search_mark(gray, linear, guess, reach)
        # A corner just past the photo's edge (the app crops to the page) loses no field.
        slack = OUTSIDE_SLACK * np.array([w, h])
        if found_mark is None and not ((-slack <= guess) & (guess < np.array([w, h]) + slack)).all():
            raise NotLocated("cut_off")
        picked[gap] = guess if found_mark is None else found_mark
    corners = np.array(picked, np.float32)
    if not _plausible(corners):
        raise NotLocated("no_form")
    if not backslash:
        # Turned a quarter: the photo's TL..BR corners are the page's BL, TL, BR, TR.
        corners = corners[[1, 3, 0, 2]]
    return Located(corners, len(missing))


MARK_MATCH = 0.5
"""Correlation with the expected mark's picture from which a corner mark is taken as found."""
OUTSIDE_SLACK = 0.05
"""Share of the photo's width (height) by which an inferred corner may lie past its edge: whether
a field is cut off is judged by the fields themselves, once the page is placed."""
MARK_SCALES = (0.7, 0.85, 1.0, 1.2)
MARK_PEAKS = 5
"""Best places of the picture checked for solid ink, at each size."""
MARK_INK = 0.7
"""A mark's squares are darker than this share of the paper around them (sharp marks on white:
~0.3; a soft one beside a dark table: 0.6)."""
MARK_SEARCH = 0.35
"""How far from the parallelogram's guess the fourth mark is looked for, as a share of the page's
shorter side: a page slanted by 25° on a long sheet put it a third of its width away."""


def _template_corners(backslash: bool) -> Points:
    """The template's mark centres in the order of the photo's corners (TL, TR, BL, BR)."""
    fiducials = np.array(templates()[Page.ADMINISTRASI].fiducials, np.float64)
    return fiducials if backslash else fiducials[[2, 0, 3, 1]]


def _spans() -> tuple[float, float]:
    """Template pixels between the marks across and down the page."""
    (fx0, fy0), (fx1, _), (_, fy2), _ = templates()[Page.ADMINISTRASI].fiducials
    return (fx1 - fx0, fy2 - fy0)


def _search_two(gray: npt.NDArray[Any], picked: list[Points | None], backslash: bool) -> None:
    """With two marks seen, the page as a square-on rectangle through them places the other two;
    each is looked for near there (and filled into ``picked`` when found)."""
    seen = [k for k, p in enumerate(picked) if p is not None]
    target = _template_corners(backslash)
    t0, t1 = (complex(*target[k]) for k in seen)
    p0, p1 = (complex(*picked[k]) for k in seen)  # type: ignore[misc]
    scale = (p1 - p0) / (t1 - t0)  # a similarity: rotation and size as one complex number
    linear = np.array([[scale.real, -scale.imag], [scale.imag, scale.real]])
    reach = MARK_SEARCH * min(_spans()) * abs(scale)
    for k in (k for k in range(4) if picked[k] is None):
        guess = p0 + scale * (complex(*target[k]) - t0)
        picked[k] = _search_mark(gray, linear, np.array([guess.real, guess.imag]), reach)


def _search_mark(
    gray: npt.NDArray[Any], linear: npt.NDArray[Any], guess: Points, reach: float
) -> Points | None:
    """A corner mark within ``reach`` of ``guess``, by its picture: two squares along the "\\"
    diagonal of the template, drawn by ``linear`` (template → photo pixels near there)."""
    best: tuple[float, Points] | None = None
    # The far corner of a slanted page is drawn smaller (or larger) than the marks seen.
    for scale in MARK_SCALES:
        found = _match_mark(gray, _mark_picture(), linear * scale, guess, reach)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return None if best is None or best[0] < MARK_MATCH else best[1]


@cache
def _mark_picture() -> npt.NDArray[Any]:
    """A corner mark in template pixels: 2×2 cells of 24 px, dark along "\\", in a white margin
    of one cell."""
    cell = 24
    pattern = np.full((4 * cell, 4 * cell), 255, np.uint8)
    pattern[cell : 2 * cell, cell : 2 * cell] = 0
    pattern[2 * cell : 3 * cell, 2 * cell : 3 * cell] = 0
    return pattern


def _match_mark(
    gray: npt.NDArray[Any], pattern: npt.NDArray[Any], linear: npt.NDArray[Any], guess: Points, reach: float
) -> tuple[float, Points] | None:
    """The best correlation of the mark's picture, drawn by ``linear``, within ``reach`` of ``guess``."""
    side = pattern.shape[0]
    box = np.abs(linear) @ np.array([side, side], np.float64)
    width, height = int(np.ceil(box[0])), int(np.ceil(box[1]))
    if min(width, height) < 8:
        return None
    shift = np.array([width / 2, height / 2]) - linear @ np.array([side / 2, side / 2], np.float64)
    picture = cv2.warpAffine(
        pattern, np.column_stack([linear, shift]), (width, height), flags=cv2.INTER_AREA, borderValue=255
    )
    h, w = gray.shape
    x0, y0 = max(0, int(guess[0] - reach - width / 2)), max(0, int(guess[1] - reach - height / 2))
    x1, y1 = min(w, int(guess[0] + reach + width / 2)), min(h, int(guess[1] + reach + height / 2))
    if x1 - x0 <= width or y1 - y0 <= height:
        return None
    window = gray[y0:y1, x0:x1]
    scores = cv2.matchTemplate(window, picture, cv2.TM_CCOEFF_NORMED)
    squares = picture < 128
    if squares.all() or not squares.any():
        return None  # a picture too small to hold its squares and the paper between them
    # Print and handwriting correlate with the picture too: a peak counts only where its two
    # squares are solid ink, far darker than the paper around them.
    for _ in range(MARK_PEAKS):
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if best < MARK_MATCH:
            return None
        patch = window[by : by + height, bx : bx + width]
        if patch[squares].mean() < MARK_INK * patch[~squares].mean():
            return float(best), np.array([x0 + bx + width / 2, y0 + by + height / 2], np.float32)
        top, left = max(0, by - height // 2), max(0, bx - width // 2)
        scores[top : by + height // 2 + 1, left : bx + width // 2 + 1] = -1
    return None


def _plausible(corners: Points) -> bool:
    """Convex, not collapsed, and no side shorter than a fifth of its opposite."""
    tl, tr, bl, br = corners
    quad = np.array([tl, tr, br, bl], np.float32)
    if not cv2.isContourConvex(quad) or cv2.contourArea(quad) < 1000:
        return False
    widths = (float(np.linalg.norm(tr - tl)), float(np.linalg.norm(br - bl)))
    heights = (float(np.linalg.norm(bl - tl)), float(np.linalg.norm(br - tr)))
    return min(widths) > 0.2 * max(widths) and min(heights) > 0.2 * max(heights)


def homography(corners: Points, template: PageTemplate, scale: float) -> npt.NDArray[Any]:
    """Photo → template pixels at ``scale`` (1.0 = the 2000×3000 rendering)."""
    target = np.array(template.fiducials, np.float32) * scale
    matrix, _ = cv2.findHomography(corners, target)
    if matrix is None:
        raise NotLocated("no_form")
    return matrix


def rotations(corners: Points) -> list[Points]:
    """The corners as they are and turned half a turn (upside-down photo)."""
    return [corners, corners[[3, 2, 1, 0]]]


def rectify(gray: npt.NDArray[Any], matrix: npt.NDArray[Any], scale: float) -> npt.NDArray[Any]:
    size = (round(WIDTH * scale), round(HEIGHT * scale))
    return cv2.warpPerspective(gray, matrix, size, flags=cv2.INTER_AREA, borderValue=255)
