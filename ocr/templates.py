"""Where everything is on each page, measured once from the blank form's renderings.

``build`` reads ``page1.png``…``page3.png`` (2000×3000) and finds the corner fiducials, every
digit box (rows of three, in the order of ``form.FIELDS``) and the page-2 bubble columns; the
result is committed as ``data/templates.json`` so the reader needs nothing but this package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import msgspec
import numpy as np

from ocr.form import BUBBLE_FIELDS, FIELDS, Page

TEMPLATES_FILE = Path(__file__).parent / "data" / "templates.json"
WIDTH, HEIGHT = 2000, 3000

Rect = tuple[int, int, int, int]
"""x, y, width, height in template pixels."""
Point = tuple[float, float]


class PageTemplate(msgspec.Struct, frozen=True):
    page: Page
    fiducials: tuple[Point, Point, Point, Point]
    """Centres of the corner marks: top-left, top-right, bottom-left, bottom-right."""
    fields: dict[str, tuple[Rect, Rect, Rect]]
    """Inner rectangle of each digit box: hundreds, tens, ones."""
    bubbles: dict[str, tuple[tuple[Rect, ...], ...]]
    """Per field, per digit column, the bubbles 0–9."""
    halaman: Rect
    """The printed "Halaman N dari 3"."""
    code: Rect
    """The page's 2D mark."""
    squares: tuple[Point, ...] = ()
    """Centres of other printed squares the size of a digit box (page 2's tally grid): a box
    found there in a photo is neither evidence for this page nor against it."""


class TemplateError(Exception):
    """The blank form does not have the layout this module expects."""


@cache
def templates() -> dict[Page, PageTemplate]:
    raw = msgspec.json.decode(TEMPLATES_FILE.read_bytes(), type=list[PageTemplate])
    return {t.page: t for t in raw}


def build(forms_dir: Path) -> list[PageTemplate]:
    out = []
    for page in Page:
        path = forms_dir / f"page{page.value}.png"
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is None or gray.shape != (HEIGHT, WIDTH):
            raise TemplateError(f"{path}: expected a {WIDTH}×{HEIGHT} rendering of the blank page")
        out.append(_page_template(page, gray))
    return out


def write(pages: list[PageTemplate], path: Path = TEMPLATES_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(pages), indent=1) + b"\n")


def _page_template(page: Page, gray: np.ndarray) -> PageTemplate:
    ink = (gray < 160).astype(np.uint8)
    code = _code_mark(ink)
    x, y, w, _ = code
    fields = _digit_boxes(page, ink)
    return PageTemplate(
        page=page,
        fiducials=_fiducials(ink),
        fields=fields,
        bubbles=_bubbles(ink, fields) if page == Page.PASLON else {},
        halaman=(x - 47, y - 30, w + 63, 30),
        code=code,
        squares=_other_squares(gray, fields),
    )


def _other_squares(gray: np.ndarray, fields: dict[str, tuple[Rect, Rect, Rect]]) -> tuple[Point, ...]:
    """Box-like cells the photo detector finds on the blank page that are not digit boxes."""
    from ocr.register import boxes_in  # register needs PageTemplate from here

    digit = [(x + w / 2, y + h / 2) for triple in fields.values() for x, y, w, h in triple]
    found = boxes_in(gray)
    return tuple(
        (round(float(cx), 1), round(float(cy), 1))
        for cx, cy, side in found
        if min(np.hypot(cx - dx, cy - dy) for dx, dy in digit) > side
    )


def _fiducials(ink: np.ndarray) -> tuple[Point, Point, Point, Point]:
    _, _, stats, centres = cv2.connectedComponentsWithStats(ink)
    marks = [
        (float(cx), float(cy))
        for (bx, by, bw, bh, area), (cx, cy) in zip(stats[1:], centres[1:], strict=True)
        if 30 < bw < 70 and abs(bw - bh) <= 2 and 0.4 < area / (bw * bh) < 0.6
    ]
    if len(marks) != 4:
        raise TemplateError(f"expected 4 corner marks, found {len(marks)}")
    top = sorted(sorted(marks, key=lambda p: p[1])[:2])
    bottom = sorted(sorted(marks, key=lambda p: p[1])[2:])
    return (top[0], top[1], bottom[0], bottom[1])


def _code_mark(ink: np.ndarray) -> Rect:
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink)
    for bx, by, bw, bh, area in stats[1:]:
        if (
            90 < bw < 130
            and 90 < bh < 130
            and bx > WIDTH * 0.75
            and by < HEIGHT * 0.2
            and area / (bw * bh) > 0.5
        ):
            return (int(bx), int(by), int(bw), int(bh))
    raise TemplateError("the page's 2D mark was not found")


def _digit_boxes(page: Page, ink: np.ndarray) -> dict[str, tuple[Rect, Rect, Rect]]:
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    holes = set()
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        x, y, w, h = cv2.boundingRect(contour)
        if parent >= 0 and 56 <= w <= 70 and abs(w - h) <= 3 and cv2.contourArea(contour) > 0.85 * w * h:
            holes.add((int(x), int(y), int(w), int(h)))
    rows: list[list[Rect]] = []
    for box in sorted(holes, key=lambda r: (r[1], r[0])):
        if rows and abs(rows[-1][0][1] - box[1]) < 12:
            rows[-1].append(box)
        else:
            rows.append([box])
    triples = [tuple(sorted(row)[i : i + 3]) for row in rows for i in range(0, len(row), 3)]
    names = FIELDS[page]
    if len(triples) != len(names) or any(len(t) != 3 for t in triples):
        raise TemplateError(
            f"page {page.value}: expected {len(names)} rows of three boxes, found {len(triples)}"
        )
    return {name: (t[0], t[1], t[2]) for name, t in zip(names, triples, strict=True)}


def _bubbles(
    ink: np.ndarray, fields: dict[str, tuple[Rect, Rect, Rect]]
) -> dict[str, tuple[tuple[Rect, ...], ...]]:
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    circles: dict[tuple[int, int], Rect] = {}
    for contour in contours:
        x, y, w, h = (int(v) for v in cv2.boundingRect(contour))
        if (
            24 <= w <= 34
            and 24 <= h <= 34
            and not any(abs(x - cx) < 6 and abs(y - cy) < 6 for cx, cy in circles)
        ):
            circles[(x, y)] = (x, y, w, h)
    out = {}
    for name in BUBBLE_FIELDS:
        columns = []
        for bx, by, bw, bh in fields[name]:
            column = sorted(
                (
                    c
                    for c in circles.values()
                    if bx <= c[0] + c[2] / 2 <= bx + bw and by + bh < c[1] < by + bh + 450
                ),
                key=lambda c: c[1],
            )
            if len(column) != 10:
                raise TemplateError(f"{name}: expected 10 bubbles under a box, found {len(column)}")
            columns.append(tuple(column))
        out[name] = tuple(columns)
    return out
