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
from ocr.reading import Alternative, FieldReading, Quad
from ocr.templates import Rect

SHIFT = 40
"""Largest shift, in template pixels at scale 1, searched to line a field's boxes up."""
BUBBLE_AGREES = 0.9
"""Weight of a digit that matches the blackened bubble (the rest is spread over the others)."""
TOP = 5

Probabilities = npt.NDArray[Any]


class BoxCut:
    """Three box images of one field and where they are on the straightened page."""

    def __init__(self, images: list[cells.Gray], rects: list[Rect]) -> None:
        self.images = images
        self.rects = rects


def cut_field(page: cells.Gray, boxes: tuple[Rect, ...], scale: float) -> BoxCut:
    rects = [_scaled(r, scale) for r in boxes]
    dx, dy = _alignment(page, rects, round(SHIFT * scale))
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


def box_features(image: cells.Gray) -> cells.Features:
    return cells.features(image)


def read_boxes(images: list[cells.Gray]) -> tuple[Probabilities, list[bool]]:
    """Digit probabilities per box, and whether each box is empty."""
    rows = [
        box_features(img) if img.size else np.zeros_like(box_features(np.full((8, 8), 255, np.uint8)))
        for img in images
    ]
    probs = digits.classify(rows)
    empty = [img.size == 0 or cells.is_empty(img) for img in images]
    probs[np.array(empty)] = np.eye(10)[0]
    return probs, empty


def read_bubbles(
    page: cells.Gray, columns: tuple[tuple[Rect, ...], ...], scale: float, shift: tuple[int, int]
) -> list[int | None]:
    """The blackened bubble of each column, or ``None`` when none (or more than one) stands out."""
    out: list[int | None] = []
    for column in columns:
        fill = []
        for rect in column:
            x, y, w, h = _scaled(rect, scale)
            x, y = x + shift[0], y + shift[1]
            inner = page[y + h // 4 : y + h - h // 4, x + w // 4 : x + w - w // 4]
            fill.append(1.0 - float(inner.mean()) / 255.0 if inner.size else 0.0)
        order = np.argsort(fill)[::-1]
        first, second = fill[order[0]], fill[order[1]]
        median = float(np.median(fill))
        out.append(int(order[0]) if first - median > 0.25 and first - second > 0.15 else None)
    return out


def fuse_bubbles(probs: Probabilities, bubbles: list[int | None]) -> Probabilities:
    """Digits and bubbles are independent evidence of the same number (DOMAIN rule 8)."""
    fused = probs.copy()
    for i, bubble in enumerate(bubbles):
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


def field_reading(
    name: str, probs: Probabilities, empty: list[bool], quad: Quad, bubbles: list[int | None] | None
) -> FieldReading:
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
        return FieldReading(name, None, 1.0, [Alternative(None, 1.0)], box_alternatives, quad, bubbles)
    return FieldReading(
        name,
        combos[0][1],
        combos[0][0],
        [Alternative(v, p) for p, v in combos],
        box_alternatives,
        quad,
        bubbles,
    )
