"""Photos for the chaos run: the project's synthetic phone photos of filled forms, each upload
made distinct by saving the page again at another JPEG quality (other bytes, the same page).

The generator needs the blank form's page renderings (``../shared/forms``). Without them the
photos are plain sheets of paper: the reader refuses them (``no_form``), which still shows
whether anything accepted is lost, but not which photo of a page is current.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ocr.synth.pages import generate

PAGES = (1, 2, 3)
QUALITIES = tuple(range(97, 60, -1))


class PhotoSource:
    """Hands out a photo never handed out before, of the page asked for."""

    def __init__(self, forms: Path, workdir: Path) -> None:
        self.readable = all((forms / f"page{p}.png").exists() for p in PAGES)
        if not self.readable:
            self.kind = f"plain paper, read as refused pages (the blank form's pages are not in {forms})"
            self._images = {p: [_paper(p)] for p in PAGES}
        else:
            self.kind = "synthetic photos of filled forms (ocr.synth)"
            folder = workdir / "synthetic"
            generate(forms, folder, 6, seed=11, strength=0.5)  # two TPS, three pages each
            self._images = {p: [_image(path) for path in sorted(folder.glob(f"*-p{p}-*.jpg"))] for p in PAGES}
        self._next: dict[int, Iterator[tuple[int, int]]] = {
            p: itertools.product(QUALITIES, range(len(self._images[p]))) for p in PAGES
        }

    def photo(self, page: int) -> bytes:
        quality, which = next(self._next[page])
        ok, data = cv2.imencode(".jpg", self._images[page][which], [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        return data.tobytes()


def _image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def _paper(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sheet: np.ndarray = np.clip(rng.normal(225, 12, (2000, 1500)), 0, 255).astype(np.uint8)
    return sheet
