"""Is the photo good enough to read? Plain reasons when it is not.

Thresholds were set on the 60 real photos (all readable) and on synthetic photos blurred or
darkened until the digit model failed; see ocr/README.md.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr.cells import Gray

MIN_PAPER = 70
"""Brightness (0–255) of the paper, the photo's 90th percentile, below which ink is lost."""
MIN_SHARPNESS = 0.24
"""Real photos measure 0.6–1.1; the same photos blurred with σ = 2 px fall to 0.30–0.41, and a small
synthetic page blurred with σ ≈ 1.9 px measures 0.25: below 0.24 the blur is past σ = 2 px, where
digits a person still reads begin to blur into each other (0.33 refused a legible σ 1.6 page)."""


SOFT = 0.33
"""When the corner marks were found but no page's boxes fit, a page softer than this is called
blurry rather than another form: blur is what hid its boxes (σ = 4 px on a synthetic page: 0.25,
its boxes no longer fit; σ = 3 px: 0.31, still read)."""


def lighting(gray: Gray) -> str | None:
    paper = float(np.percentile(gray, 90))
    if paper < MIN_PAPER:
        return f"paper brightness {paper:.0f} of 255 (needs {MIN_PAPER})"
    return None


def sharpness_of(straight: Gray) -> float:
    """Steepest brightness steps on the page, as a share of its paper–ink contrast.

    Percentiles are read from histograms of the 8-bit page and of the integer Sobel steps: the
    same figures as sorting the two million pixels, at a tenth of the cost.
    """
    h, w = straight.shape
    region = np.ascontiguousarray(straight[h // 10 : h - h // 10, w // 10 : w - w // 10])
    contrast = float(_percentile(region.ravel(), 95, 256) - _percentile(region.ravel(), 1, 256))
    if contrast < 20:
        return 0.0
    step = cv2.add(
        cv2.convertScaleAbs(cv2.Sobel(region, cv2.CV_16S, 1, 0, ksize=3), alpha=0.25),
        cv2.convertScaleAbs(cv2.Sobel(region, cv2.CV_16S, 0, 1, ksize=3), alpha=0.25),
    )
    return float(_percentile(step.ravel(), 99.5, 256)) / contrast


def _percentile(values: Gray, q: float, bins: int) -> int:
    """The smallest value with at least ``q`` % of ``values`` at or below it (8-bit values)."""
    counts = np.bincount(values, minlength=bins)
    return int(np.searchsorted(np.cumsum(counts), q / 100 * values.size))


def sharpness(straight: Gray, minimum: float = MIN_SHARPNESS) -> str | None:
    value = sharpness_of(straight)
    if value < minimum:
        return f"box edges sharpness {value:.2f} (needs {minimum})"
    return None
