"""Synthetic handwritten digits, drawn the ways officers write them in the dotted boxes.

Styles: OpenCV's Hershey fonts (script and plain, slanted and jittered) and seven-segment
strokes following the printed "8" guide, each with random pen width, size, offset and wobble.
Used by the page synthesiser and, as extra training data, by the digit model's trainer.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Canvas = npt.NDArray[Any]
Colour = tuple[int, int, int]

FONTS = (
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
INKS: tuple[Colour, ...] = ((140, 40, 20), (160, 60, 30), (40, 30, 30), (20, 20, 20), (120, 50, 60))
"""BGR: blue ballpoint (two shades), black, dark grey, purple-ish."""

# Seven segments: a top, b top-right, c bottom-right, d bottom, e bottom-left, f top-left, g middle.
_SEGMENTS = {
    "a": ((0, 0), (1, 0)),
    "b": ((1, 0), (1, 1)),
    "c": ((1, 1), (1, 2)),
    "d": ((0, 2), (1, 2)),
    "e": ((0, 1), (0, 2)),
    "f": ((0, 0), (0, 1)),
    "g": ((0, 1), (1, 1)),
}
_DIGIT_SEGMENTS = ("abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg")


def draw_digit(
    canvas: Canvas, rect: tuple[int, int, int, int], digit: int, rng: np.random.Generator, ink: Colour
) -> None:
    """Write ``digit`` by hand inside ``rect`` (x, y, w, h) of a BGR canvas."""
    if rng.random() < 0.45:
        _seven_segment(canvas, rect, digit, rng, ink)
    else:
        _font_digit(canvas, rect, digit, rng, ink)


def draw_cross(
    canvas: Canvas, rect: tuple[int, int, int, int], rng: np.random.Generator, ink: Colour
) -> None:
    """The X that crosses out an unused leading box."""
    x, y, w, h = rect
    m = [int(v * w) for v in rng.uniform(0.05, 0.2, 8)]
    pen = max(1, int(w * rng.uniform(0.04, 0.08)))
    cv2.line(canvas, (x + m[0], y + m[1]), (x + w - m[2], y + h - m[3]), ink, pen, cv2.LINE_AA)
    cv2.line(canvas, (x + w - m[4], y + m[5]), (x + m[6], y + h - m[7]), ink, pen, cv2.LINE_AA)


def _seven_segment(
    canvas: Canvas, rect: tuple[int, int, int, int], digit: int, rng: np.random.Generator, ink: Colour
) -> None:
    x, y, w, h = rect
    gw, gh = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.6, 0.8)
    ox = x + (w - gw) / 2 + rng.normal(0, w * 0.04)
    oy = y + (h - gh) / 2 + rng.normal(0, h * 0.04)
    slant = rng.normal(0.08, 0.08)
    pen = max(1, int(w * rng.uniform(0.05, 0.1)))

    def point(px: float, py: float) -> tuple[int, int]:
        jx, jy = rng.normal(0, w * 0.025, 2)
        return (int(ox + px * gw + (2 - py) * gh / 2 * slant + jx), int(oy + py * gh / 2 + jy))

    for name in _DIGIT_SEGMENTS[digit]:
        start, end = _SEGMENTS[name]
        cv2.line(canvas, point(*start), point(*end), ink, pen, cv2.LINE_AA)


def _font_digit(
    canvas: Canvas, rect: tuple[int, int, int, int], digit: int, rng: np.random.Generator, ink: Colour
) -> None:
    x, y, w, h = rect
    font = FONTS[int(rng.integers(len(FONTS)))]
    pen = max(1, int(w * rng.uniform(0.04, 0.09)))
    text = str(digit)
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, pen)
    scale = h * rng.uniform(0.5, 0.75) / max(th, 1)
    glyph = np.zeros((h * 2, w * 2), np.uint8)
    (tw, th), _ = cv2.getTextSize(text, font, scale, pen)
    org = (w - tw // 2, h + th // 2)
    cv2.putText(glyph, text, org, font, scale, 255, pen, cv2.LINE_AA)
    shear = rng.normal(-0.1, 0.1)
    angle = rng.normal(0, 5)
    matrix = cv2.getRotationMatrix2D((w, h), angle, 1.0)
    matrix[0, 1] += shear
    matrix[0, 2] -= shear * h + rng.normal(0, w * 0.05)
    matrix[1, 2] += rng.normal(0, h * 0.05)
    turned = cv2.warpAffine(glyph, matrix, (w * 2, h * 2))
    crop = turned[h // 2 : h // 2 + h, w // 2 : w // 2 + w]
    _blend(canvas, (x, y), crop, ink)


def _blend(canvas: Canvas, origin: tuple[int, int], alpha: npt.NDArray[Any], ink: Colour) -> None:
    x, y = origin
    h, w = alpha.shape
    region = canvas[y : y + h, x : x + w]
    a = (alpha[: region.shape[0], : region.shape[1]].astype(np.float32) / 255.0)[..., None]
    region[:] = (region * (1 - a) + np.array(ink, np.float32) * a).astype(np.uint8)


def draw_guide(canvas: Canvas, rect: tuple[int, int, int, int]) -> None:
    """The printed dotted "8" inside each box."""
    x, y, w, h = rect
    gx0, gx1 = x + int(w * 0.3), x + int(w * 0.7)
    gy0, gy1, gy2 = y + int(h * 0.15), y + h // 2, y + int(h * 0.85)
    for gx in (gx0, gx1):
        for gy in range(gy0, gy2, 4):
            canvas[gy, gx] = (180, 180, 180)
    for gy in (gy0, gy1, gy2):
        for gx in range(gx0, gx1, 4):
            canvas[gy, gx] = (180, 180, 180)


def draw_dash(canvas: Canvas, rect: tuple[int, int, int, int], rng: np.random.Generator, ink: Colour) -> None:
    """The dash some officers draw instead of an X in an unused leading box."""
    x, y, w, h = rect
    left, right = (int(v * w) for v in rng.uniform(0.1, 0.35, 2))
    mid = y + int(h * rng.uniform(0.4, 0.6))
    lean = int(h * rng.uniform(-0.06, 0.06))
    pen = max(1, int(w * rng.uniform(0.04, 0.08)))
    cv2.line(canvas, (x + left, mid - lean), (x + w - right, mid + lean), ink, pen, cv2.LINE_AA)


def box_image(
    digit: int | None, rng: np.random.Generator, *, dash: bool = False, crossed: bool = False
) -> npt.NDArray[Any]:
    """A grey crop of one printed box holding ``digit`` (``None``: crossed out, or a dash), like a
    real crop; ``crossed``: the digit written and then crossed out with an X (officers write a 0
    in an unused box and cross it, which a reader must not take for an 8)."""
    inner = int(rng.integers(34, 60))
    border = max(2, inner // 14)
    pad = int(rng.integers(1, 5))
    side = inner + 2 * (border + pad)
    paper = int(rng.integers(170, 250))
    canvas = np.full((side, side, 3), paper, np.uint8)
    cv2.rectangle(canvas, (pad, pad), (side - pad - 1, side - pad - 1), (30, 30, 30), border)
    rect = (pad + border, pad + border, inner, inner)
    draw_guide(canvas, rect)
    ink = INKS[int(rng.integers(len(INKS)))]
    if digit is None:
        (draw_dash if dash else draw_cross)(canvas, rect, rng, ink)
    else:
        draw_digit(canvas, rect, digit, rng, ink)
        if crossed:
            draw_cross(canvas, rect, rng, ink)
    soft = cv2.GaussianBlur(canvas, (3, 3), rng.uniform(0.3, 1.2)) if rng.random() < 0.5 else canvas
    gray = np.asarray(cv2.cvtColor(soft, cv2.COLOR_BGR2GRAY), np.float32)
    noise = rng.normal(0, rng.uniform(1, 8), gray.shape)
    return np.clip(gray + noise, 0, 255).astype(np.uint8)
