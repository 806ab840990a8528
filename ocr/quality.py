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
MIN_SHARPNESS = 0.33
"""Real photos measure 0.6–1.1; the same photos blurred with σ = 2 px fall to 0.30–0.41."""


def lighting(gray: Gray) -> str | None:
    paper = float(np.percentile(gray, 90))
    if paper < MIN_PAPER:
        return f"paper brightness {paper:.0f} of 255 (needs {MIN_PAPER})"
    return None


def sharpness_of(straight: Gray) -> float:
    """Steepest brightness steps on the page, as a share of its paper–ink contrast."""
    h, w = straight.shape
    region = straight[h // 10 : h - h // 10, w // 10 : w - w // 10].astype(np.float32)
    contrast = float(np.percentile(region, 95) - np.percentile(region, 1))
    if contrast < 20:
        return 0.0
    step = np.abs(cv2.Sobel(region, cv2.CV_32F, 1, 0, ksize=3)) + np.abs(
        cv2.Sobel(region, cv2.CV_32F, 0, 1, ksize=3)
    )
    return float(np.percentile(step, 99.5)) / (4 * contrast)


def sharpness(straight: Gray) -> str | None:
    value = sharpness_of(straight)
    if value < MIN_SHARPNESS:
        return f"box edges sharpness {value:.2f} (needs {MIN_SHARPNESS})"
    return None
