"""What the reader returns: readings and refusals are values, not exceptions."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from ocr.form import Page

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
"""Corners of a region in the original photo: top-left, top-right, bottom-right, bottom-left."""


class Retake(StrEnum):
    """Why a photo cannot be read; each has a message for the officer holding the phone."""

    NOT_AN_IMAGE = "not_an_image"
    DAMAGED = "damaged"
    TOO_LARGE = "too_large"
    TOO_SMALL = "too_small"
    NO_FORM = "no_form"
    OTHER_FORM = "other_form"
    CUT_OFF = "cut_off"
    BLURRY = "blurry"
    DARK = "dark"
    UNCLEAR = "unclear"
    """The search for the page ran out of its time budget before any map fitted a page."""

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def pesan(self) -> str:
        """The same, in Indonesian, for the officer's phone."""
        return _PESAN[self]


_MESSAGES = {
    Retake.NOT_AN_IMAGE: "This file is not a photo (JPEG, PNG or WebP). Photograph the page and upload that.",
    Retake.DAMAGED: "The photo file is damaged or incomplete. Upload it again or take a new photo.",
    Retake.TOO_LARGE: "The photo is too large. Use the phone camera's normal setting and take it again.",
    Retake.TOO_SMALL: "Too small to read the numbers. Take the photo again with the page filling the screen.",
    Retake.NO_FORM: "No C.Hasil form found in the photo. Photograph the whole page, all four black corners.",
    Retake.OTHER_FORM: "This is not a page of form C.Hasil-PPWP (president). Photograph the right form.",
    Retake.CUT_OFF: "Part of the page is outside the photo. Step back so that all four black corners show.",
    Retake.BLURRY: "The photo is too blurry to read the numbers. Hold the phone still and take it again.",
    Retake.DARK: "The photo is too dark. Take it again in better light, without shadow on the page.",
    Retake.UNCLEAR: "The page could not be made out in this photo. Photograph the whole page, flat, "
    "with all four black corners showing.",
}


_PESAN = {
    Retake.NOT_AN_IMAGE: "Berkas ini bukan foto (JPEG, PNG atau WebP). Foto halamannya lalu unggah foto itu.",
    Retake.DAMAGED: "Berkas foto rusak atau tidak lengkap. Unggah lagi atau ambil foto baru.",
    Retake.TOO_LARGE: "Foto terlalu besar. Gunakan pengaturan kamera biasa lalu foto ulang.",
    Retake.TOO_SMALL: "Foto terlalu kecil untuk membaca angka. Foto ulang dengan halaman memenuhi layar.",
    Retake.NO_FORM: "Formulir C.Hasil tidak terlihat. Foto seluruh halaman, keempat sudut hitam tampak.",
    Retake.OTHER_FORM: "Ini bukan halaman formulir C.Hasil-PPWP (presiden). Foto formulir yang benar.",
    Retake.CUT_OFF: "Sebagian halaman terpotong. Mundur sedikit agar keempat sudut hitam tampak.",
    Retake.BLURRY: "Foto buram, angka tidak terbaca. Pegang ponsel dengan tenang lalu foto ulang.",
    Retake.DARK: "Foto terlalu gelap. Foto ulang di tempat yang lebih terang, tanpa bayangan di halaman.",
    Retake.UNCLEAR: "Halaman tidak dapat dikenali di foto ini. Foto ulang seluruh halaman, rata, "
    "dengan keempat sudut hitam tampak.",
}


class Evidence(StrEnum):
    """Page 2: the digit boxes against the bubbles blackened under them."""

    AGREE = "agree"
    """Every column's bubble is clear and is its box's digit, read surely: two independent
    readings of the number."""
    SETTLED = "settled"
    """The bubbles chose among digits the boxes allow (3 or 8, 1 or 7) or some are not clear."""
    CONFLICT = "conflict"
    """A clear bubble names a digit its box, read alone, excludes: a person must look."""


class Alternative(msgspec.Struct, frozen=True, array_like=True):
    value: int | None
    probability: float


class FieldReading(msgspec.Struct, frozen=True):
    name: str
    value: int | None
    """The most probable value; ``None`` when every box is empty."""
    confidence: float
    alternatives: list[Alternative]
    """The most probable values, best first (the first is ``value``)."""
    digits: list[list[Alternative]]
    """Per box (hundreds, tens, ones): the most probable digits; ``None`` = empty or crossed out."""
    quad: Quad
    """The field's three boxes in the original photo, for a reviewer's crop."""
    bubbles: list[int | None] | None = None
    """Page 2: the blackened bubble per column (``None``: none or several)."""
    boxes_alone: list[int] | None = None
    """Page 2: each box's most probable digit read alone, before the bubbles were fused in."""
    evidence: Evidence | None = None
    """Page 2: how the bubbles bear on the boxes (``None``: no bubbles)."""

    @property
    def agreement(self) -> bool:
        return self.evidence is Evidence.AGREE

    def bubbles_differ(self) -> tuple[int, int] | None:
        """(the boxes' number, the bubbles' number) when a clear bubble names a digit its box
        excludes (DOMAIN rule 8); a column without a clear bubble takes the box's digit."""
        if self.evidence is not Evidence.CONFLICT or self.bubbles is None or self.boxes_alone is None:
            return None
        spelled = [d if b is None else b for b, d in zip(self.bubbles, self.boxes_alone, strict=True)]
        return _number(self.boxes_alone), _number(spelled)


def _number(digits: list[int]) -> int:
    return 100 * digits[0] + 10 * digits[1] + digits[2]


class PageReading(msgspec.Struct, frozen=True, tag="page"):
    page: Page
    page_confidence: float
    rotated: int
    """Degrees the photo was turned to stand upright (0, 90, 180, 270)."""
    fields: list[FieldReading]
    corners_inferred: int
    timings_ms: dict[str, float]
    reader_version: str

    def field(self, name: str) -> FieldReading:
        return next(f for f in self.fields if f.name == name)


class Rejected(msgspec.Struct, frozen=True, tag="rejected"):
    reason: Retake
    message: str
    detail: str = ""


Outcome = PageReading | Rejected
