"""Where the rows of boxes are on the printing photographed, not on the blank form.

Page 1 is printed in several versions whose tables differ in height: on one, the rows of the
voters' section sit 75 template pixels (one row) lower than on the blank form; on another the
header is taller and the rows are closer together. The page's corner marks place the page, not
its table, and a per-field shift of ±40 pixels then snaps to the neighbouring row (the rows are
77 pixels apart). A person finds the rows by their order: the first row of boxes under the
heading is the DPT's. So each section of the page (rows closer than ``SECTION_GAP``) is fitted
on its own: the rows of three boxes found on the straightened page, matched to the section's
rows by a vertical stretch and shift that explains the most of them; a section of one row takes
the found row nearest where the neighbouring section's fit puts it.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from ocr.cells import Gray
from ocr.register import boxes_in
from ocr.templates import PageTemplate, Rect

SECTION_GAP = 100.0
"""Template pixels between two rows of one section at most (page 1's rows are 77 apart)."""
ROW_TOLERANCE = 14.0
"""A found row within this many template pixels of a fitted row is that row."""
COLUMN_TOLERANCE = 30.0
STRETCH = (0.85, 1.2)
"""A printing's rows are at most this much closer together or further apart than the blank form's."""
ROW_REACH = 8
"""How far a field's boxes are then shifted to line up their borders (a tenth of a row): an X
across a box or a shadow pulls the borders' ring further, a row off."""
LONE_REACH = 40.0
"""A one-row section takes a found row this near the neighbouring section's prediction."""

Rows = dict[float, list[tuple[float, float]]]
"""Per column (the template x of a field's first box), the found first boxes of rows of three."""
Fit = tuple[float, float]
"""(stretch, shift): template y → photographed y on the straightened page, in template pixels."""


def placed(straight: Gray, template: PageTemplate, scale: float) -> dict[str, tuple[Rect, Rect, Rect]]:
    """The template's field rectangles moved to the rows found on this page (``scale``: pixels of
    ``straight`` per template pixel). A field whose row was not found goes where its section's
    fit puts it."""
    found = boxes_in(straight).astype(np.float64) / scale
    rows = _rows_of_three(found, template)
    sections = _sections(template)
    # The whole table first: a section whose few found rows fit two shifts a row apart equally
    # well (its other rows' outlines broken by X's) takes the one nearer the table's.
    table = _fit([place for section in sections for place in _expected(section, template)], rows)
    prior = table or (1.0, 0.0)
    fits = [_fit(_expected(section, template), rows, prior) for section in sections]
    for k, section in enumerate(sections):
        if fits[k] is None:
            fits[k] = _lone(_expected(section, template), rows, _neighbour(fits, k) or table)
    out = dict(template.fields)
    for section, fit in zip(sections, fits, strict=True):
        for name, (x, y) in zip(section, _expected(section, template), strict=True):
            fx, fy = _row_at(x, y, fit or (1.0, 0.0), rows)
            dx, dy = round(fx - x), round(fy - y)
            out[name] = tuple((rx + dx, ry + dy, rw, rh) for rx, ry, rw, rh in template.fields[name])  # type: ignore[assignment]
    return out


def _rows_of_three(found: npt.NDArray[Any], template: PageTemplate) -> Rows:
    """Per column of the template's fields (x of a field's first box): the centre of every found
    box there with a third box two pitches to its right, top to bottom."""
    out: Rows = {}
    for rects in template.fields.values():
        x = _centre(rects[0])[0]
        pitch = (rects[2][0] - rects[0][0]) / 2
        if x in out or not len(found):
            continue
        ys = []
        for cx, cy, _ in found:
            if abs(cx - x) > COLUMN_TOLERANCE:
                continue
            # The third box must be there (the middle one's outline may be broken by its digit):
            # a middle box with the third beside it would otherwise pass for a row's first.
            # Nor may a box stand one pitch to its left: then it is a middle box.
            third = np.hypot(found[:, 0] - (cx + 2 * pitch), found[:, 1] - cy).min()
            before = np.hypot(found[:, 0] - (cx - pitch), found[:, 1] - cy).min()
            if third < ROW_TOLERANCE and before > ROW_TOLERANCE:
                ys.append((float(cx), float(cy)))
        out[x] = sorted(ys, key=lambda c: c[1])
    return out


def _sections(template: PageTemplate) -> list[list[str]]:
    """Fields grouped by rows no more than ``SECTION_GAP`` apart, top to bottom."""
    by_y = sorted(template.fields, key=lambda name: template.fields[name][0][1])
    sections: list[list[str]] = []
    last = -np.inf
    for name in by_y:
        y = template.fields[name][0][1]
        if y - last > SECTION_GAP:
            sections.append([])
        sections[-1].append(name)
        last = y
    return sections


def _centre(rect: Rect) -> tuple[float, float]:
    return rect[0] + rect[2] / 2, rect[1] + rect[3] / 2


def _expected(section: list[str], template: PageTemplate) -> list[tuple[float, float]]:
    """(column x, row y) of each field of the section: the centre of its first box."""
    return [_centre(template.fields[name][0]) for name in section]


def _near(x: float, y: float, rows: Rows, reach: float) -> tuple[float, float] | None:
    """The found row's first box in column ``x`` nearest ``y``, if within ``reach``."""
    best = min(rows.get(x, []), key=lambda c: abs(c[1] - y), default=None)
    return best if best is not None and abs(best[1] - y) <= reach else None


def _fit(expected: list[tuple[float, float]], rows: Rows, prior: Fit = (1.0, 0.0)) -> Fit | None:
    """The stretch and shift under which most of the section's fields have a found row, on a tie
    the one nearest ``prior``; ``None`` for a section of one row or when fewer than two agree."""
    if len({y for _, y in expected}) < 2:
        return None
    pairs = [(y, f) for x, y in expected for _, f in rows.get(x, []) if abs(f - y) < 3 * SECTION_GAP]
    hypotheses = [(1.0, f - y) for y, f in pairs]
    for (y1, f1), (y2, f2) in combinations(pairs, 2):
        if abs(y2 - y1) > 1 and STRETCH[0] <= (a := (f2 - f1) / (y2 - y1)) <= STRETCH[1]:
            hypotheses.append((a, f1 - a * y1))
    best: tuple[int, float, Fit] | None = None
    for a, b in hypotheses:
        agree = sum(_near(x, a * y + b, rows, ROW_TOLERANCE) is not None for x, y in expected)
        moved = float(np.mean([abs(a * y + b - (prior[0] * y + prior[1])) for _, y in expected]))
        if best is None or (agree, -moved) > (best[0], -best[1]):
            best = (agree, moved, (a, b))
    return best[2] if best is not None and best[0] >= 2 else None


def _neighbour(fits: list[Fit | None], k: int) -> Fit | None:
    for step in (1, -1, 2, -2, 3, -3):
        if 0 <= k + step < len(fits) and fits[k + step] is not None:
            return fits[k + step]
    return None


def _lone(expected: list[tuple[float, float]], rows: Rows, guess: Fit | None) -> Fit | None:
    """A one-row section: the found row nearest where ``guess`` (a neighbour's fit) puts it, seen
    in the most columns; else the guess itself."""
    a, b = guess or (1.0, 0.0)
    y = expected[0][1]
    seen = [c[1] for x, _ in expected if (c := _near(x, a * y + b, rows, LONE_REACH)) is not None]
    if not seen:
        return guess
    votes = [(sum(abs(g - f) < ROW_TOLERANCE for g in seen), -abs(f - (a * y + b)), f) for f in seen]
    return (1.0, max(votes)[2] - y)


def _row_at(x: float, y: float, fit: Fit, rows: Rows) -> tuple[float, float]:
    """Where the first box of the field at template ``(x, y)`` is: the found box nearest the
    fit's place, or that place."""
    a, b = fit
    predicted = a * y + b
    found = _near(x, predicted, rows, ROW_TOLERANCE)
    return (x, predicted) if found is None else found
