"""Find the page by its printed content: keypoints of the blank form matched in the photo.

The corner marks are often cut off or hidden (the phone app crops the page to its edges, a thumb
covers one, a fold hides another), and a dark square inside the page can pass for one. The
printed form itself — its text, rules and boxes — is in every photo of it, so ORB keypoints of
each blank page, matched to the photo's and filtered by a RANSAC homography, place the page
without any mark (KawalC1 aligns its photos the same way, with AKAZE). On the 152 real PPWP page
photos the right page had the most RANSAC inliers in every one (14 or more; the other pages 18 at
most; at least 2.1 times the runner-up). Their positions come from a coarse image pyramid, so the
reader fits each placement again to the boxes near it (``register.refine``, ``register.by_rows``).

The blank pages' keypoints are computed once by ``rekap ocr templates`` and committed in
``data/keypoints.npz``, so the reader needs nothing but this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.cells import Gray
from ocr.form import Page
from ocr.templates import templates

KEYPOINTS_FILE = Path(__file__).parent / "data" / "keypoints.npz"
TEMPLATE_SCALE = 0.5
"""The blank pages are described at half their 2000×3000 rendering: about the size of a page in a
phone photo, so that ORB's few pyramid levels cover the rest."""
FEATURES = 1000
WORK_SIDE = 1700
"""Photos are described with their longer side at most this long (real uploads: 1,500–1,800)."""
RATIO = 0.8
"""Lowe's ratio test: a match is kept when clearly better than the second best."""
REPROJECTION = 12.0
"""Template pixels (scale 1) within which a matched keypoint counts as an inlier."""
MIN_INLIERS = 12
"""Fewer inliers than this is no placement (the wrong pages of real photos reach 9)."""
SURE_INLIERS = 30
SURE_RATIO = 2.5
"""Keypoints alone name the page, when no map makes a layout fit, only with this many inliers and
this many times the runner-up's (real photos: the right page 14–150+, the others at most 18)."""
FIELDS_MARGIN = 400
"""Template pixels of printed context kept around a page's digit boxes for its local fit."""


@dataclass(frozen=True)
class Placement:
    page: Page
    matrix: npt.NDArray[Any]
    """3×3 photo → template pixels at scale 1."""
    inliers: int


def _orb() -> Any:
    return cv2.ORB.create(nfeatures=FEATURES, scaleFactor=1.3, nlevels=5, fastThreshold=10)


def describe_template(blank: Gray) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Keypoints (template pixels at scale 1) and ORB descriptors of a blank 2000×3000 page."""
    small = cv2.resize(blank, None, fx=TEMPLATE_SCALE, fy=TEMPLATE_SCALE, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0)  # a photo is never as crisp as the rendering
    found, descriptors = _orb().detectAndCompute(small, None)
    points = np.array([k.pt for k in found], np.float32) / TEMPLATE_SCALE
    return points, descriptors


def build(forms_dir: Path) -> dict[str, npt.NDArray[Any]]:
    """Each blank page's keypoints and descriptors, from ``page1.png``…``page3.png`` (2000×3000)."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    for page in Page:
        blank = cv2.imread(str(forms_dir / f"page{page.value}.png"), cv2.IMREAD_GRAYSCALE)
        if blank is None:
            raise FileNotFoundError(forms_dir / f"page{page.value}.png")
        arrays[f"points{page.value}"], arrays[f"descriptors{page.value}"] = describe_template(blank)
    return arrays


def write(arrays: dict[str, npt.NDArray[Any]], path: Path = KEYPOINTS_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def committed(path: Path = KEYPOINTS_FILE) -> dict[str, npt.NDArray[Any]]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@cache
def _templates() -> dict[Page, tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
    arrays = committed()
    return {p: (arrays[f"points{p.value}"], arrays[f"descriptors{p.value}"]) for p in Page}


def place(gray: Gray) -> list[Placement]:
    """Each page's homography from the photo's keypoints, most inliers first (too few left out)."""
    shrink = min(1.0, WORK_SIDE / max(gray.shape))
    work = (
        gray if shrink == 1.0 else cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    )
    found, descriptors = _orb().detectAndCompute(work, None)
    if descriptors is None or len(found) < MIN_INLIERS:
        return []
    points = np.array([k.pt for k in found], np.float32) / shrink
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    out = []
    for page, (template_points, template_descriptors) in _templates().items():
        pairs = matcher.knnMatch(descriptors, template_descriptors, k=2)
        good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < RATIO * m[1].distance]
        if len(good) < MIN_INLIERS:
            continue
        source = points[[m.queryIdx for m in good]]
        target = template_points[[m.trainIdx for m in good]]
        out += _fitted(page, source, target)
        # A page printed on longer paper, or folded, is not one plane: fit its fields' part alone.
        x0, y0, x1, y1 = _fields_region(page)
        near = (target[:, 0] > x0) & (target[:, 0] < x1) & (target[:, 1] > y0) & (target[:, 1] < y1)
        if MIN_INLIERS <= near.sum() < len(target):
            out += _fitted(page, source[near], target[near])
    return sorted(out, key=lambda p: p.inliers, reverse=True)


def _fitted(page: Page, source: npt.NDArray[Any], target: npt.NDArray[Any]) -> list[Placement]:
    """A homography and a similarity, each by RANSAC: with matches bunched in a band (the header's
    text) a homography can stretch the page out of shape, while a similarity cannot, and a phone's
    app-straightened photo is close to one."""
    out = []
    matrix, mask = cv2.findHomography(source, target, cv2.USAC_DEFAULT, REPROJECTION)
    if matrix is not None and int(mask.sum()) >= MIN_INLIERS:
        out.append(Placement(page, matrix, int(mask.sum())))
    similar, kept = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=REPROJECTION
    )
    if similar is not None and int(kept.sum()) >= MIN_INLIERS:
        out.append(Placement(page, np.vstack([similar, [0.0, 0.0, 1.0]]), int(kept.sum())))
    return out


@cache
def _fields_region(page: Page) -> tuple[float, float, float, float]:
    """The part of the page that holds its digit boxes, with a margin of printed context around."""
    rects = [r for triple in templates()[page].fields.values() for r in triple]
    x0, y0 = min(r[0] for r in rects) - FIELDS_MARGIN, min(r[1] for r in rects) - FIELDS_MARGIN
    x1 = max(r[0] + r[2] for r in rects) + FIELDS_MARGIN
    y1 = max(r[1] + r[3] for r in rects) + FIELDS_MARGIN
    return (x0, y0, x1, y1)
