"""Which page is this, and is this map right? Decided by where the printed digit boxes are.

The three pages share their corner marks but not their boxes: page 1 has 66 boxes in its lower
half, pages 2 and 3 nine each at different heights. A candidate map (photo → template) is judged
by how much darker the expected box outlines are than the paper around them, sampled straight
from the photo through the map: no page is warped to judge a map, so many maps can be tried
(about 1 ms each). The best-fitting page of the best map wins; a page whose boxes fit no layout
under any map is another form.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.cells import Gray
from ocr.form import Page
from ocr.templates import templates

MIN_MARGIN = 0.5
"""The best page must beat the runner-up by this share of its score."""
MIN_LAYOUT = 0.02
"""Median outline contrast below which no page fits (real photos: the right page ≥ 0.05 under the
map finally chosen, the wrong ones ≤ 0.01)."""
SURE = 0.06
"""A map whose page scores this much, with the margin, needs no other hypothesis tried."""
REACH = 12
"""Template pixels on either side of a border searched for its printed line (a map's local error)."""
STEP = 2
ALONG = 8
"""Samples along each edge of a box."""


@cache
def _samples(page: Page) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Template points across each edge of each box, (boxes, 4 edges, offsets, ALONG, 2), and the
    boxes' centres."""
    offsets = np.arange(-REACH, REACH + 1, STEP, dtype=np.float32)
    along = (np.arange(ALONG, dtype=np.float32) + 0.5) / ALONG
    grids, centres = [], []
    for triple in templates()[page].fields.values():
        for x, y, w, h in triple:
            xs, ys = x + along * w, y + along * h
            edges = []
            for fixed, horizontal in ((y, True), (y + h, True), (x, False), (x + w, False)):
                line = fixed + offsets[:, None]
                if horizontal:
                    edges.append(np.stack(np.broadcast_arrays(xs[None, :], line), axis=-1))
                else:
                    edges.append(np.stack(np.broadcast_arrays(line, ys[None, :]), axis=-1))
            grids.append(np.stack(edges))
            centres.append((x + w / 2, y + h / 2))
    return np.stack(grids).astype(np.float32), np.array(centres, np.float32)


def page_scores(gray: Gray, to_template: npt.NDArray[Any]) -> dict[Page, float]:
    """Each page's layout score under the map ``to_template`` (photo → template pixels at scale 1)."""
    to_photo = np.linalg.inv(to_template)
    return {page: _score(gray, page, to_photo) for page in Page}


def _score(gray: Gray, page: Page, to_photo: npt.NDArray[Any]) -> float:
    """Median over the boxes inside the photo of their weakest edge's contrast.

    The weakest edge, because a table rule passing where a box should be gives two edges, not
    four. Boxes outside the photo are left out: a page cut off is reported as such later.
    """
    grid, centres = _samples(page)
    h, w = gray.shape
    mapped_centres = cv2.perspectiveTransform(centres[None], to_photo)[0]
    inside = (
        (mapped_centres[:, 0] >= 0)
        & (mapped_centres[:, 0] < w)
        & (mapped_centres[:, 1] >= 0)
        & (mapped_centres[:, 1] < h)
    )
    if inside.sum() < 3:
        return 0.0
    chosen = grid[inside]
    points = cv2.perspectiveTransform(chosen.reshape(1, -1, 2), to_photo)[0]
    values = cv2.remap(
        gray,
        points[:, 0].reshape(-1, 1).astype(np.float32),
        points[:, 1].reshape(-1, 1).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    ink = 1.0 - values.reshape(chosen.shape[:-1]).astype(np.float32) / 255.0
    profiles = ink.mean(axis=-1)  # (boxes, 4, offsets)
    contrast = profiles.max(axis=-1) - np.median(profiles, axis=-1)
    return float(np.median(contrast.min(axis=-1)))


def best_page(scores: dict[Page, float]) -> tuple[Page, float, float]:
    """The best-fitting page, its score and a confidence from its margin over the runner-up."""
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (page, first), (_, second) = ranked[0], ranked[1]
    margin = first - max(second, 0.0)
    return page, first, float(min(1.0, max(0.0, margin / max(first, 1e-6))))


def fits(score: float, confidence: float) -> bool:
    return score >= MIN_LAYOUT and confidence >= MIN_MARGIN
