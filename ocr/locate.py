"""Find the form in a photo by its corner fiducials and map it onto the template.

Each corner of every page carries the same mark: two solid squares touching at a corner,
along the "\\" diagonal. Four found marks give a homography; with one hidden (a thumb, a
fold) the fourth corner is inferred from the other three as a parallelogram. A mark that
would lie outside the photo means the page was cut off.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.templates import HEIGHT, WIDTH, PageTemplate

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
    """How many corners were inferred rather than seen."""


class NotLocated(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def candidates(gray: npt.NDArray[Any]) -> list[Candidate]:
    h, w = gray.shape
    block = max(31, (min(h, w) // 12) | 1)
    dark = cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 25)
    darkest = int(np.searchsorted(np.cumsum(np.bincount(gray.ravel(), minlength=256)), 0.6 * gray.size))
    dark = dark & (gray < darkest).astype(np.uint8)
    _count, _, stats, centres = cv2.connectedComponentsWithStats(dark)
    lo, hi = 0.007 * max(h, w), 0.06 * max(h, w)
    x, y, bw, bh, area = (stats[1:, k].astype(np.float64) for k in range(5))
    ratio, fill = bw / bh, area / (bw * bh)
    # Whole squares (either of a mark's two, when blur or the threshold parted them) ...
    solid = (lo / 2 <= bw) & (bw <= hi / 2) & (lo / 2 <= bh) & (bh <= hi / 2) & (ratio > 0.7) & (ratio < 1.4)
    solid &= fill > 0.75
    squares = [
        (float(centres[i + 1][0]), float(centres[i + 1][1]), (bw[i] + bh[i]) / 2)
        for i in np.flatnonzero(solid)
    ]
    # ... and pairs of squares touching at a corner: a mark, its two squares on one diagonal.
    paired = (lo <= bw) & (bw <= hi) & (lo <= bh) & (bh <= hi) & (ratio > 0.6) & (ratio < 1.6)
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
    marks = [c for c in marks if 0.6 * size < c.size < 1.6 * size]
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
    if len(missing) > 1:
        raise NotLocated("cut_off" if len(marks) >= 2 else "no_form")
    if missing:
        gap = missing[0]
        seen = [p for p in picked if p is not None]
        # Corners k and 3 - k are diagonal: the missing one completes a parallelogram.
        others = {k: p for k, p in enumerate(picked) if p is not None}
        side = [k for k in others if k != 3 - gap]
        guess = others[side[0]] + others[side[1]] - others[3 - gap]
        if not (0 <= guess[0] < w and 0 <= guess[1] < h) or len(seen) != 3:
            raise NotLocated("cut_off")
        picked[gap] = guess
    corners = np.array(picked, np.float32)
    if not _plausible(corners):
        raise NotLocated("no_form")
    if not backslash:
        # Turned a quarter: the photo's TL..BR corners are the page's BL, TL, BR, TR.
        corners = corners[[1, 3, 0, 2]]
    return Located(corners, len(missing))


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


def coverage(shape: tuple[int, ...], matrix: npt.NDArray[Any], scale: float) -> npt.NDArray[Any]:
    """Which pixels of the straightened page came from inside the photo."""
    size = (round(WIDTH * scale), round(HEIGHT * scale))
    inside = np.ones(shape[:2], np.uint8)
    return cv2.warpPerspective(inside, matrix, size, flags=cv2.INTER_NEAREST, borderValue=0)
