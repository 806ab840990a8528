"""Synthetic filled C.Hasil-PPWP pages photographed by a phone (``rekap ocr synth``).

Each synthetic TPS gets a consistent set of numbers (every rule of ``ocr.form`` holds), written
by hand into the blank renderings (unused leading boxes crossed out or left empty, page-2
bubbles blackened, tally strokes), then photographed: perspective up to ~30°, a table behind
the paper, uneven light, blur, sensor noise and JPEG compression. The labels file has the
columns of ``images_index.csv`` so ``rekap ocr eval`` reads it as it reads the real photos, and
after them the truth of each photo (``TRUTH_HEADER``), worked out from the camera's own geometry,
against which a refusal's reason can be checked.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ocr.form import FIELDS, Page, expected_ballots, rules_over, violations
from ocr.synth.handwriting import INKS, Canvas, draw_cross, draw_digit
from ocr.templates import PageTemplate, templates

LABEL_HEADER = [
    "kode_tps", "page_order_in_sirekap", "file", "paslon_01", "paslon_02", "paslon_03",
    "suara_sah", "suara_tidak_sah", "total_suara", "dpt", "sirekap_status",
]  # fmt: skip
TRUTH_HEADER = ["page", "blur_sigma", "fields_outside", "corners_visible"]
"""The true page (1–3); the Gaussian blur applied, in photo pixels (0: none); how many fields have
a box beyond the photo's edge by more than ``EDGE_ALLOWANCE``; how many corner marks' centres
are inside the photo."""
EDGE_ALLOWANCE = 1 / 3
"""Share of a digit box's width that may lie beyond the photo's edge with the field still in
the photo: the digit is written in the box's middle."""


def tps_values(rng: np.random.Generator, dpt: tuple[int, int] | None = None) -> dict[str, int]:
    """Numbers of one TPS that satisfy every rule of the form; ``dpt`` its registered voters
    (men, women) when they are known."""
    v: dict[str, int] = {}
    for i, sex in enumerate(("l", "p")):
        drawn = int(rng.integers(60, 150))
        v[f"pemilih_dpt_{sex}"] = drawn if dpt is None else dpt[i]
        v[f"pengguna_dpt_{sex}"] = int(v[f"pemilih_dpt_{sex}"] * rng.uniform(0.6, 0.95))
        v[f"pengguna_dptb_{sex}"] = int(rng.integers(0, 8))
        v[f"pengguna_non_dpt_{sex}"] = int(rng.integers(0, 5))
        v[f"pengguna_total_{sex}"] = sum(v[f"pengguna_{s}_{sex}"] for s in ("dpt", "dptb", "non_dpt"))
        v[f"disabilitas_{sex}"] = int(rng.integers(0, 4))
    for stem in (
        "pemilih_dpt",
        "pengguna_dpt",
        "pengguna_dptb",
        "pengguna_non_dpt",
        "pengguna_total",
        "disabilitas",
    ):
        v[f"{stem}_j"] = v[f"{stem}_l"] + v[f"{stem}_p"]
    total = v["pengguna_total_j"]
    v["surat_suara_diterima"] = max(expected_ballots(v["pemilih_dpt_j"]), total + 3)
    v["surat_suara_digunakan"] = total
    v["surat_suara_rusak"] = int(rng.integers(0, 3))
    v["surat_suara_sisa"] = v["surat_suara_diterima"] - total - v["surat_suara_rusak"]
    v["suara_tidak_sah"] = int(rng.integers(0, 12))
    v["suara_sah"] = total - v["suara_tidak_sah"]
    split = rng.dirichlet([2.0, 3.0, 2.0]) * v["suara_sah"]
    v["suara_paslon_1"], v["suara_paslon_2"] = int(split[0]), int(split[1])
    v["suara_paslon_3"] = v["suara_sah"] - v["suara_paslon_1"] - v["suara_paslon_2"]
    v["suara_total"] = total
    assert not violations(v, rules_over(set(v))), violations(v)
    return v


def fill_page(
    blank: Canvas, template: PageTemplate, values: dict[str, int], rng: np.random.Generator
) -> Canvas:
    page = blank.copy()
    ink = INKS[int(rng.integers(len(INKS)))]
    leading = "cross" if rng.random() < 0.7 else "blank"
    for name, boxes in template.fields.items():
        value = values[name]
        digits = [value // 100, value // 10 % 10, value % 10]
        significant = False
        for i, (digit, rect) in enumerate(zip(digits, boxes, strict=True)):
            significant = significant or digit != 0 or i == 2
            x, y, w, h = rect
            inner = (x + 3, y + 3, w - 6, h - 6)
            if significant:
                draw_digit(page, inner, digit, rng, ink)
            elif leading == "cross":
                draw_cross(page, inner, rng, ink)
        if name in template.bubbles:
            for i, column in enumerate(template.bubbles[name]):
                if digits[i] or i == 2 or any(digits[:i]):
                    bx, by, bw, bh = column[digits[i]]
                    cv2.ellipse(
                        page,
                        (bx + bw // 2, by + bh // 2),
                        (bw // 2 - 1, bh // 2 - 1),
                        0,
                        0,
                        360,
                        ink,
                        -1,
                        cv2.LINE_AA,
                    )
    if template.page == Page.PASLON:
        _tally_strokes(page, template, rng, ink)
    return page


def _tally_strokes(
    page: Canvas, template: PageTemplate, rng: np.random.Generator, ink: tuple[int, int, int]
) -> None:
    """A few rows of turus in the tally grid left of each number."""
    for boxes in template.fields.values():
        top = boxes[0][1] - 40
        for row in range(int(rng.integers(1, 4))):
            y = top + row * 30
            for k in range(int(rng.integers(3, 12))):
                x = 640 + k * 68
                for s in range(5):
                    cv2.line(page, (x + s * 9, y), (x + s * 9 + 2, y + 22), ink, 2, cv2.LINE_AA)


@dataclass(frozen=True)
class Photo:
    image: npt.NDArray[Any]
    """BGR, as decoded from the camera's JPEG."""
    matrix: npt.NDArray[Any]
    """Page (template) pixels → photo pixels."""
    blur_sigma: float
    """The Gaussian blur applied, in photo pixels; 0 when none."""

    def fields_outside(self, template: PageTemplate) -> int:
        """Fields with a box more than ``EDGE_ALLOWANCE`` of its width beyond the photo's edge."""
        h, w = self.image.shape[:2]
        outside = 0
        for boxes in template.fields.values():
            for x, y, bw, bh in boxes:
                corners = np.array([[(x, y), (x + bw, y), (x + bw, y + bh), (x, y + bh)]], np.float64)
                mapped = cv2.perspectiveTransform(corners, self.matrix)[0]
                slack = EDGE_ALLOWANCE * float(np.linalg.norm(mapped[1] - mapped[0]))
                beyond = (mapped < -slack).any() or (mapped[:, 0] > w + slack).any()
                if beyond or (mapped[:, 1] > h + slack).any():
                    outside += 1
                    break
        return outside

    def corners_visible(self, template: PageTemplate) -> int:
        h, w = self.image.shape[:2]
        centres = cv2.perspectiveTransform(np.array([template.fiducials], np.float64), self.matrix)[0]
        inside = (centres[:, 0] >= 0) & (centres[:, 0] < w) & (centres[:, 1] >= 0) & (centres[:, 1] < h)
        return int(inside.sum())


def photograph(page: Canvas, rng: np.random.Generator, strength: float = 1.0) -> Photo:
    """The filled page as a phone would capture it, with the camera's geometry and blur."""
    h, w = page.shape[:2]
    out_w = int(rng.integers(1100, 1600))
    out_h = int(out_w * rng.uniform(1.45, 1.6))
    margin = 0.04 + 0.1 * rng.random()
    tilt = strength * 0.16
    src = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float32)
    dst = []
    for cx, cy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        jx, jy = rng.uniform(-tilt, tilt, 2) * 0.5 + margin * np.array([1 - 2 * cx, 1 - 2 * cy])
        dst.append([(cx + jx) * out_w, (cy + jy) * out_h])
    matrix = cv2.getPerspectiveTransform(src, np.array(dst, np.float32))
    table = np.array(rng.integers(40, 160, 3), np.uint8)
    photo = cv2.warpPerspective(
        page, matrix, (out_w, out_h), flags=cv2.INTER_AREA, borderValue=tuple(int(c) for c in table)
    )
    shaded: npt.NDArray[Any] = photo.astype(np.float32)
    gx, gy = np.meshgrid(np.linspace(0, 1, out_w), np.linspace(0, 1, out_h))
    angle = rng.uniform(0, 2 * np.pi)
    light = 1.0 - strength * rng.uniform(0.1, 0.45) * np.clip(np.cos(angle) * gx + np.sin(angle) * gy, 0, 1)
    shaded *= light[..., None] * rng.uniform(0.75, 1.0)
    sigma = strength * rng.uniform(0.0, 1.3)
    blurred = sigma > 0.2
    if blurred:
        shaded = cv2.GaussianBlur(shaded, (0, 0), sigma)
    shaded += rng.normal(0, 2 + 4 * strength, shaded.shape)
    quality = int(rng.integers(40, 91))
    ok, encoded = cv2.imencode(
        ".jpg", np.clip(shaded, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    assert ok and decoded is not None
    return Photo(decoded, matrix, sigma if blurred else 0.0)


def blank_pages(forms: Path) -> dict[Page, Canvas]:
    """The blank form's renderings, ``page1.png``…``page3.png``."""
    blanks: dict[Page, Canvas] = {}
    for p in Page:
        image = cv2.imread(str(forms / f"page{p.value}.png"), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"blank rendering of page {p.value} not found in {forms}")
        blanks[p] = image
    return blanks


def tps_photos(
    blanks: dict[Page, Canvas], values: dict[str, int], rng: np.random.Generator, *, strength: float
) -> list[bytes]:
    """The three pages of one TPS with these numbers written in, as JPEGs a phone would send."""
    out = []
    for _, template in sorted(templates().items()):
        photo = photograph(fill_page(blanks[template.page], template, values, rng), rng, strength)
        ok, data = cv2.imencode(".jpg", photo.image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        out.append(data.tobytes())
    return out


def generate(forms: Path, out: Path, count: int, seed: int, *, strength: float = 1.0) -> Path:
    """``count`` photos (whole TPS of three pages, the last one partial if need be) and labels.csv."""
    rng = np.random.default_rng(seed)
    pages = templates()
    blanks = blank_pages(forms)
    out.mkdir(parents=True, exist_ok=True)
    rows, truth = [], {}
    for n in range(count):
        tps_index, page = divmod(n, len(Page))
        kode = f"99{seed % 100:02d}{tps_index:09d}"
        if page == 0:
            values = tps_values(rng)
            truth[kode] = values
        template = pages[Page(page + 1)]
        filled = fill_page(blanks[template.page], template, values, rng)
        name = f"{kode}-p{page + 1}-{n:05d}.jpg"
        photo = photograph(filled, rng, strength)
        cv2.imwrite(str(out / name), photo.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        numbers = [values[f] for f in (*FIELDS[Page.PASLON], *FIELDS[Page.SUARA], "pemilih_dpt_j")]
        truth_of_photo = [
            template.page.value,
            round(photo.blur_sigma, 3),
            photo.fields_outside(template),
            photo.corners_visible(template),
        ]
        rows.append([kode, page + 1, name, *numbers, "SYNTHETIC", *truth_of_photo])
    labels = out / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LABEL_HEADER + TRUTH_HEADER)
        writer.writerows(rows)
    (out / "values.json").write_text(json.dumps(truth, indent=1))
    return labels
