"""Read every field of a straightened page: digits per box, bubbles on page 2.

Boxes are cut at their template position after a small per-field shift that lines the printed
borders up (phones and folds leave a few pixels of error); each box's ten digit probabilities
come from the digit model, fused with the bubble column below it where there is one.
"""

from __future__ import annotations

import itertools
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr import cells, digits
from ocr.form import MAX_COUNT
from ocr.reading import Alternative, Evidence, FieldReading, Quad
from ocr.templates import Rect

SHIFT = 40
"""Largest shift, in template pixels at scale 1, searched to line a field's boxes up."""
BUBBLE_AGREES = 0.9
"""Weight of a digit that matches the blackened bubble (the rest is spread over the others)."""
TOP = 5
AGREE_SURE = 0.5
"""Probability each box's digit needs, read alone, for boxes and bubbles to count as agreeing."""
LEADING_BLANK_SURE = 0.99
"""Probability a leading box's "nothing" (class 0: blank, X or 0) needs, read alone, to stand for
its column when no bubble is blackened there."""
EXCLUDED = 0.02
"""A bubble's digit its box, read alone, gives less than this is a conflict, not a tie broken."""

Probabilities = npt.NDArray[Any]


class BoxCut:
    """Three box images of one field and where they are on the straightened page."""

    def __init__(self, images: list[cells.Gray], rects: list[Rect]) -> None:
        self.images = images
        self.rects = rects


def cut_field(page: cells.Gray, boxes: tuple[Rect, ...], scale: float, reach: int = SHIFT) -> BoxCut:
    """The field's boxes, each lined up by the shift (up to ``reach`` template pixels) that puts
    the printed borders where the ring of the boxes expects them."""
    rects = [_scaled(r, scale) for r in boxes]
    dx, dy = _alignment(page, rects, round(reach * scale))
    images, placed = [], []
    border = max(2, round(5 * scale))
    for x, y, w, h in rects:
        x, y = x + dx, y + dy
        placed.append((x, y, w, h))
        images.append(page[max(0, y - border) : y + h + border, max(0, x - border) : x + w + border])
    return BoxCut(images, placed)


def _scaled(rect: Rect, scale: float) -> Rect:
    x, y, w, h = rect
    return (round(x * scale), round(y * scale), round(w * scale), round(h * scale))


def _alignment(page: cells.Gray, rects: list[Rect], reach: int) -> tuple[int, int]:
    """The shift that puts dark pixels on the expected box borders and paper on either side."""
    x0 = min(r[0] for r in rects) - reach - 4
    y0 = min(r[1] for r in rects) - reach - 4
    x1 = max(r[0] + r[2] for r in rects) + reach + 4
    y1 = max(r[1] + r[3] for r in rects) + reach + 4
    if x0 < 0 or y0 < 0 or x1 > page.shape[1] or y1 > page.shape[0]:
        return (0, 0)
    region = 255.0 - page[y0:y1, x0:x1].astype(np.float32)
    ring = np.zeros((y1 - y0 - 2 * reach, x1 - x0 - 2 * reach), np.float32)
    beside = np.zeros_like(ring)
    for x, y, w, h in rects:
        left, top = x - x0 - reach, y - y0 - reach
        cv2.rectangle(ring, (left - 2, top - 2), (left + w + 1, top + h + 1), 1.0, 2)
        # Just inside and just outside the border should be paper: this keeps the ring off a
        # table rule or a digit's strokes, which are dark too but not in the shape of a box.
        for gap in (-5, 5):
            cv2.rectangle(beside, (left - gap, top - gap), (left + w - 1 + gap, top + h - 1 + gap), 1.0, 1)
    kernel = ring / ring.sum() - beside / beside.sum()
    score = cv2.matchTemplate(region, kernel, cv2.TM_CCORR)
    _, _, _, (bx, by) = cv2.minMaxLoc(score)
    return (bx - reach, by - reach)


def read_boxes(images: list[cells.Gray]) -> tuple[Probabilities, list[bool]]:
    """Digit probabilities per box, and whether each box is empty."""
    probs = digits.classify(images)
    empty = [img.size == 0 or cells.is_empty(img) for img in images]
    probs[np.array(empty)] = np.eye(10)[0]
    return probs, empty


BUBBLE_PITCH = (0.86, 1.1)
"""How much closer or further apart than on the blank form a printing's bubbles may be, on a
page placed by its corner marks."""
MIN_CONTRAST = 40
"""Grey levels between paper and ink below which a photo's darkness is taken as it is."""
RINGS_TO_COUNT = 15
"""Rings found (of the 30 printed) from which the bubbles are fitted to them one by one; with
fewer, to the columns' darkness (faint rings: 3 to 8 found on the c1_page2_crops photos whose
bubbles read a digit one too low)."""
MIN_RINGS = 3
"""Rings the darkness fit must put on bubbles to be taken."""


def read_bubbles(
    page: cells.Gray,
    columns: tuple[tuple[Rect, ...], ...],
    scale: float,
    shift: tuple[int, int],
    pitch: tuple[float, float] = BUBBLE_PITCH,
) -> list[int | None]:
    """The blackened bubble of each column, or ``None`` when none (or more than one) stands out.

    Printings space the bubbles differently (up to a tenth closer than the blank form on a
    whole page), so the columns' pitch and place are first fitted to the printed rings
    (``_bubble_rows``). Darkness is measured between the paper and the ink of the columns'
    own neighbourhood: a dim photo blackens nothing less clearly.
    """
    placed = _bubble_rows(page, [[_scaled(r, scale) for r in column] for column in columns], shift, pitch)
    # Each bubble's middle half, its grey once (``None``: outside the page).
    middles = [
        [
            _mean(page[max(0, y + h // 4) : y + h - h // 4, max(0, x + w // 4) : x + w - w // 4])
            for x, y, w, h in column
        ]
        for column in placed
    ]
    paper, ink = _paper_and_ink(page, placed, [m for column in middles for m in column if m is not None])
    out: list[int | None] = []
    for column, column_middles in zip(placed, middles, strict=True):
        fill = []
        for (x, y, w, h), middle in zip(column, column_middles, strict=True):
            # Against the paper beside the bubble, where that is darker than the paper's own
            # grey: a shadow or fold across a row darkens every bubble in it and the paper
            # between (3404072001001's row 9 read 9, 9, 9 with nothing blackened).
            local = min(paper, _beside(page, x, y, w, h))
            fill.append(0.0 if middle is None else float(np.clip((local - middle) / (paper - ink), 0, 1)))
        order = np.argsort(fill)[::-1]
        first, second = fill[order[0]], fill[order[1]]
        median = float(np.median(fill))
        out.append(int(order[0]) if first - median > 0.25 and first - second > 0.15 else None)
    return out


def _mean(area: cells.Gray) -> float | None:
    return float(area.mean()) if area.size else None


def _beside(page: cells.Gray, x: int, y: int, w: int, h: int) -> float:
    """The grey of the paper left and right of a bubble, in its middle half's rows (the
    brighter side: a blackened bubble may spill over one)."""
    rows = page[max(0, y + h // 4) : max(0, y + h - h // 4)]
    sides = [rows[:, max(0, x - w) : max(0, x - w // 4)], rows[:, x + w + w // 4 : x + 2 * w]]
    means = [float(side.mean()) for side in sides if side.size]
    return max(means) if means else 255.0


def _paper_and_ink(page: cells.Gray, columns: list[list[Rect]], inners: list[float]) -> tuple[float, float]:
    """The grey of the paper and of the darkest ink around the bubble columns. A blurred, dim
    photo's printing is hardly darker than its paper, and one blackened bubble is too small a
    share of the columns to set the ink: then the darkest bubble's middle does, where it stands
    out from the paper as ink does (TPS_174 and _265 of c1_page2_crops, each with one bubble
    blackened 60 grey levels under paper its rings are 25 under)."""
    xs = [x for column in columns for x, _, w, _ in column] + [
        x + w for column in columns for x, _, w, _ in column
    ]
    ys = [y for column in columns for _, y, _, h in column] + [
        y + h for column in columns for _, y, _, h in column
    ]
    area = page[max(0, min(ys)) : max(0, max(ys)), max(0, min(xs)) : max(0, max(xs))]
    if area.size == 0:
        return 255.0, 0.0
    paper, ink = (float(v) for v in np.percentile(area, [90, 1]))
    if paper - ink < MIN_CONTRAST and inners:
        ink = min(ink, min(inners))
    return (paper, ink) if paper - ink >= MIN_CONTRAST else (255.0, 0.0)


def _bubble_rows(
    page: cells.Gray, columns: list[list[Rect]], shift: tuple[int, int], pitch_range: tuple[float, float]
) -> list[list[Rect]]:
    """The columns' bubbles where the printed rings are: one pitch and one vertical offset for
    all columns (printed together), the pair that puts the most rings found in the photo (ring-
    or disc-shaped blobs the size of a bubble) on the bubbles' places."""
    moved = [[(x + shift[0], y + shift[1], w, h) for x, y, w, h in column] for column in columns]
    first_y = moved[0][0][1]
    count = len(moved[0])
    pitch = (moved[0][-1][1] - first_y) / (count - 1)
    side = moved[0][0][3]
    top, bottom = max(0, int(first_y - pitch)), min(page.shape[0], int(first_y + pitch * (count + 1)))
    centres: list[float] = []
    across: list[list[tuple[float, float]]] = []
    for column in moved:
        across.append([])
        x, _, w, _ = column[0]
        left, right = max(0, x - w // 3), min(page.shape[1], x + w + w // 3)
        strip = page[top:bottom, left:right]
        if strip.size < 16 or side < 4:
            return moved
        strip = cv2.normalize(strip, np.empty_like(strip), 0, 255, cv2.NORM_MINMAX)
        binary = cv2.adaptiveThreshold(strip, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 8)
        n, _, stats, found = cv2.connectedComponentsWithStats(binary)
        for k in range(1, n):
            bw, bh = stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT]
            if 0.6 * side <= bw <= 1.5 * side and 0.6 * side <= bh <= 1.5 * side:
                centres.append(top + float(found[k][1]))
                across[-1].append((top + float(found[k][1]), left + float(found[k][0])))
    stretches = np.linspace(*pitch_range, 49)
    offsets = np.arange(-pitch / 2, pitch / 2 + 0.25, 0.5)
    if len(centres) < RINGS_TO_COUNT:
        # Rings too faint to be found one by one: fitted to the columns' darkness instead.
        fitted = _fit_to_darkness(
            page, moved, (top, bottom), side, (pitch * stretches, offsets), np.array(centres)
        )
        if fitted is None:
            return moved
        step, offset = fitted
        # Only where rings were found and the fit puts at least three of them on bubbles: with
        # none, the darkness may be a cut edge or a border (TPS_140 and _264 read 0 so).
        places = first_y + offset + side / 2 + step * np.arange(count)
        near = np.abs(np.array(centres)[:, None] - places[None, :]).min(axis=1, initial=np.inf)
        if int((near < 0.15 * step).sum()) < MIN_RINGS:
            return moved
        return [
            [(x, round(first_y + offset + step * k), w, h) for k, (x, _, w, h) in enumerate(column)]
            for column in moved
        ]
    ys = np.array(centres)
    # Every stretch (rows of the grid) and offset (columns) at once: a ring hits a place when
    # it is within 0.15 of a pitch of the nearest of the evenly spaced places.
    steps = (pitch * stretches)[:, None, None]
    base = ((first_y + offsets) + side / 2)[None, :, None]
    nearest = np.clip(np.rint((ys - base) / steps), 0, count - 1)
    hits = (np.abs(ys - (base + steps * nearest)) < 0.15 * steps).sum(axis=2)
    # The most hits; of those, the least moved from the blank form (the first where equal).
    moved_by = np.abs(stretches - 1)[:, None] + np.abs(offsets)[None, :] / pitch
    chosen = np.unravel_index(np.argmin(np.where(hits == hits.max(), moved_by, np.inf)), hits.shape)
    step, offset = float(steps[chosen[0], 0, 0]), float(offsets[chosen[1]])
    step, offset = _refined(ys, first_y + side / 2, count, step, offset)
    placed = [
        [(x, round(first_y + offset + step * k), w, h) for k, (x, _, w, h) in enumerate(column)]
        for column in moved
    ]
    return [_leaning(column, rings, step) for column, rings in zip(placed, across, strict=True)]


def _leaning(column: list[Rect], rings: list[tuple[float, float]], step: float) -> list[Rect]:
    """A column's places moved sideways onto its rings (a line fitted by least squares to the
    rings' centres across, by place) where at least four places have a ring: a photo taken at a
    slant leans the columns (TPS_123 of c1_page2_crops, its 8 beside the place)."""
    if len(rings) < 4:
        return column
    ys = np.array([y for y, _ in rings])
    xs = np.array([x for _, x in rings])
    places = np.array([y + h / 2 for _, y, _, h in column])
    k = np.abs(ys[:, None] - places[None, :]).argmin(axis=1)
    near = np.abs(ys - places[k]) < 0.3 * step
    if len(np.unique(k[near])) < 4:
        return column
    slope, intercept = np.polyfit(k[near], xs[near], 1)
    return [(round(intercept + slope * i - w / 2), y, w, h) for i, (_, y, w, h) in enumerate(column)]


def _refined(
    rings: npt.NDArray[Any], first: float, count: int, step: float, offset: float
) -> tuple[float, float]:
    """The step and offset fitted by least squares to the rings within 0.3 of a step of their
    nearest place (the search's grid is coarse: a tenth of a pitch too wide puts the tenth
    bubble between two places)."""
    k = np.clip(np.rint((rings - first - offset) / step), 0, count - 1)
    near = np.abs(rings - (first + offset + step * k)) < 0.3 * step
    if len(np.unique(k[near])) < 4:
        return step, offset
    slope, intercept = np.polyfit(k[near], rings[near], 1)
    return float(slope), float(intercept - first)


def _fit_to_darkness(
    page: cells.Gray,
    columns: list[list[Rect]],
    span: tuple[int, int],
    side: int,
    tried: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    rings: npt.NDArray[np.float64],
) -> tuple[float, float] | None:
    """Of the steps and offsets ``tried``, of those that put the most of the few ``rings`` found
    on bubbles, the one whose bubble places are darkest against the gaps between them, in the
    columns' darkness summed across their width (each column's blackened bubble clipped to its
    printed rings' darkness, so that it does not decide the fit alone)."""
    steps, offsets = tried
    top, bottom = span
    profile = np.zeros(bottom - top, np.float64)
    for column in columns:
        x, _, w, _ = column[0]
        strip = page[top:bottom, max(0, x) : max(0, x + w)]
        if strip.size == 0:
            return None
        darkness = 255.0 - strip.mean(axis=1)
        profile += np.minimum(darkness, np.percentile(darkness, 80))
    # A printed line across the columns (the table's bottom rule, a box's lower border) is dark
    # between the columns too, where bubbles leave paper: it counts against a place put on it.
    between = np.zeros(bottom - top, np.float64)
    for left, right in itertools.pairwise(columns):
        x0, x1 = left[0][0] + left[0][2] + 2, right[0][0] - 2
        if x1 > x0 and x0 >= 0:
            between += 255.0 - page[top:bottom, x0:x1].mean(axis=1)
    profile -= len(columns) * between / max(1, len(columns) - 1)
    rows = np.arange(top, bottom, dtype=np.float64)
    first_y = columns[0][0][1] + side / 2
    count = len(columns[0])
    k = np.arange(count)
    # [step, offset, k]: the bubbles' centres, and the gaps half a step below all but the last.
    centres = first_y + offsets[None, :, None] + steps[:, None, None] * k
    gaps = centres[:, :, :-1] + steps[:, None, None] / 2
    score = np.interp(centres, rows, profile).mean(axis=2) - np.interp(gaps, rows, profile).mean(axis=2)
    if len(rings):
        near = np.abs(rings[None, None, :, None] - centres[:, :, None, :]).min(axis=3)
        hits = (near < 0.15 * steps[:, None, None]).sum(axis=2)
        score = np.where(hits == hits.max(), score, -np.inf)
    best = np.unravel_index(np.argmax(score), score.shape)
    return float(steps[best[0]]), float(offsets[best[1]])


def fuse_bubbles(probs: Probabilities, bubbles: list[int | None]) -> Probabilities:
    """Digits and bubbles are independent evidence of the same number (DOMAIN rule 8).

    KPPS blacken the digits they write: a leading column left untouched before blackened ones
    weighs as its 0 bubble would, "no digit" (TPS_275 of c1_page2_crops read 193 for 93 from a
    stroke in its first box; no crop there has a leading digit written whose column is
    untouched). A digit the box shows surely still wins (TPS_363's struck-out 8, read 9), and
    either way the boxes and bubbles do not agree: a person decides."""
    fused = probs.copy()
    first = next((i for i, bubble in enumerate(bubbles) if bubble is not None), 0)
    for i, bubble in enumerate(bubbles):
        if i < first:
            bubble = 0
        if bubble is None:
            continue
        weight = np.full(10, (1 - BUBBLE_AGREES) / 9)
        weight[bubble] = BUBBLE_AGREES
        fused[i] = fused[i] * weight
        fused[i] /= fused[i].sum()
    return fused


def value_probability(probs: Probabilities, value: int) -> float:
    """Probability that the three boxes read ``value`` (class 0 includes an empty/X box)."""
    if not 0 <= value <= MAX_COUNT:
        return 0.0
    return float(probs[0, value // 100] * probs[1, value // 10 % 10] * probs[2, value % 10])


def evidence(probs: Probabilities, bubbles: list[int | None] | None) -> Evidence | None:
    """How the bubbles bear on the boxes read alone (``probs``)."""
    if bubbles is None:
        return None
    pairs = list(zip(probs, bubbles, strict=True))
    if any(b is not None and row[b] < EXCLUDED for row, b in pairs):
        return Evidence.CONFLICT
    if pairs[-1][1] is None:
        return Evidence.SETTLED
    leading = True
    for row, b in pairs:
        # A leading box crossed out (or left blank) whose column no bubble is blackened in: many
        # KPPS blacken only the digits written, and the box and the untouched column both say
        # "no digit" (49 of the 49 such fields of c1_page2_crops read right).
        leading = leading and int(row.argmax()) == 0
        if b is None:
            if not (leading and row[0] >= LEADING_BLANK_SURE):
                return Evidence.SETTLED
        elif int(row.argmax()) != b or row[b] < AGREE_SURE:
            return Evidence.SETTLED
    return Evidence.AGREE


def field_reading(
    name: str, boxes: Probabilities, empty: list[bool], quad: Quad, bubbles: list[int | None] | None
) -> FieldReading:
    """The field from its boxes' digit probabilities, fused with its bubbles where it has them."""
    agreed = evidence(boxes, bubbles)
    alone = None if bubbles is None else [0 if empty[i] else int(row.argmax()) for i, row in enumerate(boxes)]
    probs = boxes if bubbles is None else fuse_bubbles(boxes, bubbles)
    top = [np.argsort(row)[::-1][:3] for row in probs]
    combos = sorted(
        (
            (float(probs[0, a] * probs[1, b] * probs[2, c]), 100 * int(a) + 10 * int(b) + int(c))
            for a, b, c in itertools.product(*top)
        ),
        reverse=True,
    )[:TOP]
    box_alternatives = [
        [Alternative(None, 1.0)] if empty[i] else [Alternative(int(d), float(row[d])) for d in top[i]]
        for i, row in enumerate(probs)
    ]
    if all(empty):
        return FieldReading(
            name, None, 1.0, [Alternative(None, 1.0)], box_alternatives, quad, bubbles, alone, agreed
        )
    return FieldReading(
        name,
        combos[0][1],
        combos[0][0],
        [Alternative(v, p) for p, v in combos],
        box_alternatives,
        quad,
        bubbles,
        alone,
        agreed,
    )
