"""Page 2's vote fields read from a photo of that part of the page alone, without corner marks.

A KPPS (or a data set) may photograph only the right part of page 2: the three pairs' digit
boxes with their columns of bubbles. No corner mark, header or printed text places such a photo,
so each pair is found by what a person sees: a row of three boxes with, under each box, a column
of ten bubbles of which one is blackened. Each such row fixes a similarity map (the row's first
and third box) from the blank form's field to the photo, through which the field is cut and read
exactly as on a whole page. Three rows down one column, at the spacing the form's printings
have, are the three pairs in ballot order; anything less is not read (``None``).
"""

from __future__ import annotations

from itertools import combinations, pairwise
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr import fields
from ocr.cells import Gray
from ocr.form import PAIRS, Page
from ocr.reading import FieldReading, Quad
from ocr.register import boxes_in, rows_of_three
from ocr.templates import PageTemplate, templates

HEIGHT = 1000
"""Pixels the photo is brought to before the boxes are looked for (crops come at 286 to 1600)."""
SCALE = 0.75
"""Pixels per template pixel of the field's straightened neighbourhood, as ``reader.SCALE``."""
MAX_TURN = 0.3
"""Radians a row may lean."""
PAIR_GAP = (4.5, 8.5)
"""Rows of two pairs are this many box pitches apart (507 template pixels on the blank form,
about 460 on a printing with shorter tally tables)."""
CLEAR_COLUMNS = 2
"""Bubble columns with one clearly blackened bubble a row of boxes needs to be a field."""


class _Row:
    def __init__(self, at: npt.NDArray[Any], pitch: float, reading: FieldReading, clear: int) -> None:
        self.x, self.y = float(at[0]), float(at[1])
        """The first box's centre in the photo."""
        self.pitch = pitch
        """Pixels from one box to the next in the photo."""
        self.reading = reading
        self.clear = clear


def read_part(gray: Gray) -> list[FieldReading] | None:
    """The three pairs' fields, or ``None`` when three such rows are not found."""
    template = templates()[Page.PASLON]
    factor = HEIGHT / gray.shape[0]
    resized = cv2.resize(
        gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    )
    boxes = boxes_in(resized)
    if len(boxes) < 3 or len(boxes) > 400:
        return None
    rows = [
        row
        for i, j in rows_of_three(boxes)
        if (row := _field_row(resized, boxes, i, j, template)) is not None
    ]
    chosen = _three_pairs(rows)
    if chosen is None:
        return None
    out = []
    for name, row in zip(PAIRS, chosen, strict=True):
        quad = tuple((x / factor, y / factor) for x, y in row.reading.quad)
        out.append(_renamed(row.reading, name, quad))  # type: ignore[arg-type]
    return out


def _field_row(
    photo: Gray, boxes: npt.NDArray[Any], first: int, third: int, template: PageTemplate
) -> _Row | None:
    """The row of boxes (first, third) read as the first pair's field, if bubbles are under it."""
    name = PAIRS[0]
    rects = template.fields[name]
    source = np.array([[r[0] + r[2] / 2, r[1] + r[3] / 2] for r in (rects[0], rects[2])], np.float32)
    target = boxes[[first, third], :2].astype(np.float32)
    if target[1, 0] <= target[0, 0]:
        return None
    to_photo, _ = cv2.estimateAffinePartial2D(source, target)
    if to_photo is None or abs(np.arctan2(to_photo[1, 0], to_photo[0, 0])) > MAX_TURN:
        return None
    # The field's neighbourhood (boxes and bubbles) straightened at SCALE, as the reader does.
    x1 = rects[2][0] + rects[2][2] + 60
    y1 = max(b[1] + b[3] for column in template.bubbles[name] for b in column) + 60
    # Straight pixel (u, v) is template (u, v) / SCALE, which ``to_photo`` puts in the photo.
    from_straight = np.vstack([to_photo, [0, 0, 1]]) @ np.diag([1 / SCALE, 1 / SCALE, 1.0])
    size = (round(x1 * SCALE) + 1, round(y1 * SCALE) + 1)
    straight = cv2.warpAffine(
        photo,
        from_straight[:2],
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    cut = fields.cut_field(straight, rects, SCALE)
    probs, empty = fields.read_boxes(cut.images)
    shift = (cut.rects[0][0] - round(rects[0][0] * SCALE), cut.rects[0][1] - round(rects[0][1] * SCALE))
    bubbles = fields.read_bubbles(straight, template.bubbles[name], SCALE, shift)
    clear = sum(b is not None for b in bubbles)
    if clear < CLEAR_COLUMNS:
        return None
    quad = _quad(cut.rects, to_photo)
    reading = fields.field_reading(name, probs, empty, quad, bubbles)
    pitch = float(np.hypot(*(target[1] - target[0]))) / 2
    return _Row(target[0], pitch, reading, clear)


def _quad(rects: list[tuple[int, int, int, int]], to_photo: npt.NDArray[Any]) -> Quad:
    x0, y0 = rects[0][0] / SCALE, rects[0][1] / SCALE
    x1, y1 = (rects[-1][0] + rects[-1][2]) / SCALE, (rects[-1][1] + rects[-1][3]) / SCALE
    corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
    mapped = corners @ to_photo[:, :2].T + to_photo[:, 2]
    a, b, c, d = ((round(float(x), 1), round(float(y), 1)) for x, y in mapped)
    return (a, b, c, d)


def _three_pairs(rows: list[_Row]) -> list[_Row] | None:
    """Three rows down one column at one pitch, the pairs' spacing apart, in order (the three
    with the most clear bubbles); the row with the clearest bubbles where two candidates overlap."""
    kept: list[_Row] = []
    for row in sorted(rows, key=lambda r: -r.clear):
        if all(np.hypot(row.x - k.x, row.y - k.y) > row.pitch for k in kept):
            kept.append(row)
    kept.sort(key=lambda r: r.y)
    best: tuple[int, list[_Row]] | None = None
    for trio in map(list, combinations(kept, 3)):
        pitch = trio[0].pitch
        gaps = [(b.y - a.y) / pitch for a, b in pairwise(trio)]
        aligned = all(abs(r.x - trio[0].x) < pitch and abs(r.pitch / pitch - 1) < 0.15 for r in trio)
        if aligned and all(PAIR_GAP[0] <= g <= PAIR_GAP[1] for g in gaps):
            clear = sum(r.clear for r in trio)
            if best is None or clear > best[0]:
                best = (clear, trio)
    return None if best is None else best[1]


def _renamed(reading: FieldReading, name: str, quad: Quad) -> FieldReading:
    return msgspec.structs.replace(reading, name=name, quad=quad)
