"""Which page is this, and which way up? Decided by where the printed digit boxes are.

The three pages share their fiducials but not their boxes: page 1 has 66 boxes in its lower
half, pages 2 and 3 nine each at different heights. A page is scored by how much darker the
expected box outlines are than the paper around them; the layout that fits best wins. A page
whose fiducials were found but whose boxes fit no layout is another form.

Tesseract reading "Halaman N dari 3" was measured on the real photos and left out of this
path: at their resolution the line is ~6 px high and it read 1 of 6 pages, at 90–500 ms.
"""

from __future__ import annotations

import numpy as np

from ocr.cells import Gray
from ocr.form import Page
from ocr.templates import PageTemplate, Rect

MIN_MARGIN = 0.5
"""The best page must beat the runner-up by this share of its score (real photos: ≥ 0.88)."""
MIN_LAYOUT = 0.015
"""On the real photos the right page scores 0.029 or more; a box needs all four edges."""


def layout_score(page: Gray, template: PageTemplate, scale: float, seen: Gray | None = None) -> float:
    """Median strength of the printed outlines where this page has its boxes.

    ``seen`` marks the part of the straightened page that was inside the photo; boxes outside it
    are left out (a page cut off is reported as such later, not as another form).
    """
    ink = 1.0 - page.astype(np.float32) / 255.0
    scores = []
    for boxes in template.fields.values():
        for rect in boxes:
            x, y, w, h = (round(v * scale) for v in rect)
            if seen is None or seen[min(y + h // 2, seen.shape[0] - 1), min(x + w // 2, seen.shape[1] - 1)]:
                scores.append(_outline_contrast(ink, rect, scale))
    return float(np.median(scores)) if len(scores) >= 3 else 0.0


def _outline_contrast(ink: np.ndarray, rect: Rect, scale: float) -> float:
    """How strongly a printed line runs along the box's weakest edge, allowing a few pixels' shift.

    The weakest edge, because a table rule passing where a box should be gives two edges, not four.
    """
    x, y, w, h = (round(v * scale) for v in rect)
    reach = max(4, round(12 * scale))
    if y - reach < 0 or x - reach < 0 or y + h + reach > ink.shape[0] or x + w + reach > ink.shape[1]:
        return 0.0
    profiles = [
        ink[y - reach : y + reach, x : x + w].mean(axis=1),
        ink[y + h - reach : y + h + reach, x : x + w].mean(axis=1),
        ink[y : y + h, x - reach : x + reach].mean(axis=0),
        ink[y : y + h, x + w - reach : x + w + reach].mean(axis=0),
    ]
    return float(min(p.max() - np.median(p) for p in profiles))


def best_page(scores: dict[Page, float]) -> tuple[Page, float]:
    """The best-fitting page and a confidence from its margin over the runner-up."""
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (page, first), (_, second) = ranked[0], ranked[1]
    margin = first - max(second, 0.0)
    return page, float(min(1.0, max(0.0, margin / max(first, 1e-6))))
