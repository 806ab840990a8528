"""Turn the image of one printed digit box into what the digit model reads.

The same function prepares the training crops and the boxes cut from a photo, so the model
never sees a difference between the two that the preparation introduced.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

SIZE = 32
INSET = 0.14
"""Share of the box cut away on each side so that the printed border is not read as ink."""

Gray = npt.NDArray[Any]


def ink_map(box: Gray) -> npt.NDArray[Any]:
    """Ink strength 0..1 inside the box, independent of lighting and ink colour."""
    h, w = box.shape
    dy, dx = int(h * INSET), int(w * INSET)
    inner = box[dy : h - dy, dx : w - dx].astype(np.float32)
    if inner.size == 0:
        return np.zeros((1, 1), np.float32)
    paper = float(np.percentile(inner, 90))
    darkest = float(np.percentile(inner, 1))
    ink = np.clip((paper - inner) / max(paper - darkest, 45.0), 0.0, 1.0)
    ink[ink < 0.3] = 0.0
    return _drop_border_lines(ink)


def _drop_border_lines(ink: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Remove straight rules left of the printed border (long thin horizontal/vertical runs)."""
    h, w = ink.shape
    binary = (ink > 0).astype(np.uint8)
    horizontal = cv2.morphologyEx(
        binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(w * 0.8)), 1))
    )
    vertical = cv2.morphologyEx(
        binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(h * 0.8))))
    )
    rules = (np.asarray(horizontal) > 0) | (np.asarray(vertical) > 0)
    edge = np.zeros_like(rules)
    band_y, band_x = max(1, h // 6), max(1, w // 6)
    edge[:band_y, :] = edge[-band_y:, :] = True
    edge[:, :band_x] = edge[:, -band_x:] = True
    out = ink.copy()
    out[rules & edge] = 0.0
    return out


def is_empty(box: Gray) -> bool:
    """No writing in the box: almost nothing inside is a quarter as dark as its printed border."""
    h, w = box.shape
    if h < 8 or w < 8:
        return True
    dy, dx = int(h * 0.2), int(w * 0.2)
    inner = box[dy : h - dy, dx : w - dx].astype(np.float32)
    paper = float(np.percentile(inner, 75))
    border = paper - float(np.percentile(box, 3))
    written = (paper - inner) > max(0.25 * border, 15.0)
    return float(written.mean()) < 0.004


def ink_share(ink: npt.NDArray[Any]) -> float:
    """Share of the box covered by ink: near zero for an empty box."""
    return float((ink > 0.3).mean()) if ink.size else 0.0


def centred(ink: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The ink scaled into a SIZE×SIZE square, keeping its aspect ratio, centred by its box."""
    ys, xs = np.nonzero(ink > 0.3)
    out = np.zeros((SIZE, SIZE), np.float32)
    if len(ys) < 3:
        return out
    glyph = ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    gh, gw = glyph.shape
    scale = (SIZE - 6) / max(gh, gw)
    nh, nw = max(1, round(gh * scale)), max(1, round(gw * scale))
    glyph = cv2.resize(glyph, (nw, nh), interpolation=cv2.INTER_AREA)
    y0, x0 = (SIZE - nh) // 2, (SIZE - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = glyph
    return out


PLANES = 2


def planes(box: Gray) -> npt.NDArray[Any]:
    """What the digit model sees, two SIZE×SIZE planes in 0..1 (ink high): the whole box as cut,
    border included and contrast stretched (how a person sees it: an X across the box, a digit
    over its border), and the ink alone, borders removed, scaled and centred (the digit's shape
    whatever its size or place in the box)."""
    if box.size == 0:
        return np.zeros((PLANES, SIZE, SIZE), np.float32)
    small = cv2.resize(box, (SIZE, SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    lo, hi = float(np.percentile(small, 2)), float(np.percentile(small, 98))
    whole = 1.0 - np.clip((small - lo) / max(hi - lo, 1.0), 0.0, 1.0)
    return np.stack([whole, centred(ink_map(box))]).astype(np.float32)
