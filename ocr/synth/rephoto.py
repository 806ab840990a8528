"""Real page photos photographed again as a phone would (``rekap ocr rephotograph``).

The held-out measure of the reader includes real uploads "re-photographed": lying on a
background, perspective up to ~25°, uneven light, a shadow, blur, noise, JPEG 45–85. This makes
such copies of our own real photos, under their own names, so that ``rekap ocr eval`` scores them
with the originals' labels and ``tests/resources/real_pages.csv``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

SLANT = 0.12
"""How far each corner of the photo may move, as a share of its shorter side (~25° of tilt)."""


def rephotograph(image: npt.NDArray[Any], rng: np.random.Generator) -> bytes:
    """A JPEG of ``image`` (BGR) lying on a coloured table, slanted, lit unevenly, soft and noisy."""
    h, w = image.shape[:2]
    height, width = int(h * 1.25), int(w * 1.35)
    colour = np.full((height, width, 3), rng.integers(40, 160, 3), np.uint8)
    table: npt.NDArray[Any] = cv2.add(colour, rng.integers(0, 40, (height, width, 3), dtype=np.uint8))
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    reach = SLANT * min(w, h)
    middle = np.array([(width - w) / 2, (height - h) / 2], np.float32)
    placed = (corners + middle + rng.uniform(-reach, reach, (4, 2))).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, placed)
    out = cv2.warpPerspective(image, matrix, (width, height), dst=table, borderMode=cv2.BORDER_TRANSPARENT)
    gy, gx = np.mgrid[0:height, 0:width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 - rng.uniform(0.1, 0.4) * np.clip(np.cos(angle) * gx + np.sin(angle) * gy, 0, 1)
    out = (out * light[..., None]).clip(0, 255).astype(np.uint8)
    if rng.random() < 0.5:  # the shadow of the phone or a hand: a band a quarter of the photo wide
        x0 = int(rng.uniform(0, width))
        out[:, x0 : x0 + width // 4] = (out[:, x0 : x0 + width // 4] * 0.7).astype(np.uint8)
    if (sigma := rng.uniform(0, 1.2)) > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    out = np.clip(out + rng.normal(0, 4, out.shape), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(45, 86))])
    if not ok:
        raise ValueError("the photo could not be encoded")
    return data.tobytes()


def rephotograph_folder(source: Path, out: Path, seed: int) -> int:
    """Every ``*.jpg`` of ``source`` photographed again into ``out`` under its own name."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    count = 0
    for path in sorted(source.glob("*.jpg")):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None:
            (out / path.name).write_bytes(rephotograph(image, rng))
            count += 1
    return count
