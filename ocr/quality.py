"""Is the photo good enough to read? Plain reasons when it is not.

Thresholds were set on the real photos (all readable), on the same re-photographed, and on them
blurred or darkened until the digit model failed; see ocr/README.md.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr.cells import Gray

MIN_PAPER = 70
"""Brightness (0–255) of the paper, the photo's 90th percentile, below which ink is lost."""
MIN_SHARPNESS = 0.28
"""The 152 real photos measure 0.55–0.96; the same re-photographed as a phone would (slant,
shadow, blur up to σ 1.2, JPEG; ``rekap ocr rephotograph``, 8 seeds) 0.31 and up, all legible;
the labelled photos blurred with σ = 2.5 px mostly 0.25–0.33, with σ = 3.5 px 0.21–0.26, where
the digit model began to accept wrong readings (2 photos, 4 fields, with the threshold at 0.15)."""


SOFT = 0.32
"""When the corner marks or the printed text were seen but no page's boxes fit, a page softer than
this is called blurry rather than another form: blur is what hid its boxes."""


def lighting(gray: Gray) -> str | None:
    paper = float(np.percentile(gray, 90))
    if paper < MIN_PAPER:
        return f"paper brightness {paper:.0f} of 255 (needs {MIN_PAPER})"
    return None


def sharpness_of(straight: Gray) -> float:
    """How steep the page's steepest edges are for the step they make: ``1 / (2.5 σ)`` of a step
    blurred by σ (straightened pixels), whatever the ink's contrast.

    The steepest 0.5 % of brightness steps (box borders, print, ink) are each divided by the
    brightness range around them (15 px). Dividing by the page's overall contrast instead called a
    dim, low-contrast but sharp page blurry (legible re-photographed pages measured under the
    blur of σ = 3 px); the local step does not depend on light, paper or ink.
    """
    h, w = straight.shape
    region = np.ascontiguousarray(straight[h // 10 : h - h // 10, w // 10 : w - w // 10])
    step = cv2.add(
        cv2.convertScaleAbs(cv2.Sobel(region, cv2.CV_16S, 1, 0, ksize=3), alpha=0.25),
        cv2.convertScaleAbs(cv2.Sobel(region, cv2.CV_16S, 0, 1, ksize=3), alpha=0.25),
    )
    steepest = step >= max(1, percentile(step, 99.5))
    around = np.ones((15, 15), np.uint8)
    span = cv2.subtract(cv2.dilate(region, around), cv2.erode(region, around))[steepest]
    edges = span > 20  # a step of under 20 grey levels is noise or a stain, not an edge
    if edges.sum() < 100:
        return 0.0
    return float(np.median(step[steepest][edges].astype(np.float32) / span[edges]))


def percentile(values: Gray, q: float) -> int:
    """The smallest 8-bit value with at least ``q`` % of ``values`` at or below it: from the
    histogram, at a tenth of the cost of sorting a photo's pixels."""
    counts = np.bincount(values.ravel(), minlength=256)
    return int(np.searchsorted(np.cumsum(counts), q / 100 * values.size))


def sharpness(straight: Gray, minimum: float = MIN_SHARPNESS) -> str | None:
    value = sharpness_of(straight)
    if value < minimum:
        return f"box edges sharpness {value:.2f} (needs {minimum})"
    return None
