"""The printed header: which form, which page, which way up — evidence beside the box layout.

Each page carries, top right, the box "MODEL C.HASIL-PPWP", the line "Halaman N dari 3", and a 2D
code with the page code (101/102/103) printed beside it. The 2D code is an AprilTag of the 36h10
family whose number *is* the page code, so OpenCV's ArUco detector decodes it: the number names
the page and, by its series, the form (501 was found on a real photo of C.HASIL-DPRD KAB/KOTA, taken
the same night), and the order of its corners tells which way up it is. The title and the Halaman
line are read by Tesseract (``ocr.tesseract``), one call on a small crop, when the code is not
found or does not say PPWP: it then names the other form for the refusal.

Measured on the 153 real photos (``../shared/data/c1_form_images`` and ``_unverified``), taking
the page ``ocr.reader.read_page`` identifies as the truth: 136 photos have corner marks to straighten
with (``locate.locate``, both ways up), 134 of them with a page identified by the reader.

- 2D code on the straightened page (its place plus 40 template px): the right page on 133 of 134,
  none wrong; on the same pages straightened upside down it is found at the opposite corner, turned
  180°, on the same 133, so it tells the orientation too. The miss is a page the corner marks
  straightened wrongly. 3.3 ms mean, 5.9 ms p90. ``cv2.QRCodeDetector`` (~10 ms) and
  ``cv2.QRCodeDetectorAruco`` (~1 ms) decode nothing: it is no QR code.
- 2D code on the whole photo, not straightened (``read_code``; ~1000×1780 px, 42 ms mean, 61 ms
  p90): the right page on all 150 photos the reader identifies (16 of them have no usable corner
  marks), turned as the reader turns them (one photo a quarter turn); also 101 and 102 on two real
  PPWP pages the reader refuses as ``other_form``, and 501 on a page of C.HASIL-DPRD KAB/KOTA (its
  printed title says so) that the reader refuses as ``cut_off``.
- Tesseract 5.3 on the title and Halaman crop, one call (243 ms mean, 293 ms p90 on a loaded
  2-core machine with one OpenMP thread, 878 ms with its default): "Halaman N" read on 57 of 134 pages,
  56 right and one wrong (2 on page 3); the title PPWP on 60; another form's name never. Its
  orientation check: the header read on 67 of 136 upright crops and on none of the 136 crops of
  the upside-down straightening. The page code beside the 2D code, printed turned a quarter, was
  read right on 49 and wrong on 7 in a trial (its "1" with a foot reads as "3"): not read at all.
  Tesseract identified no page the 2D code missed. Beside the code it does not earn its cost
  (~70 times the time, under half the pages, one wrong), so by default it runs only when the code
  gives no PPWP page (``Text.WHEN_NEEDED``): to name the other form in the refusal.
"""

from __future__ import annotations

import re
import time
from enum import Enum
from functools import cache

import cv2
import msgspec
import numpy as np

from ocr import tesseract
from ocr.cells import Gray
from ocr.form import FORM, Page
from ocr.templates import PageTemplate, Point

Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 in template pixels."""

SERIES = {1: "PPWP", 2: "DPR", 3: "DPD", 4: "DPRD PROV", 5: "DPRD KAB/KOTA"}
"""The 2D code's hundreds → the form. 1 (101–103) and 5 (501) are seen on real photos; 2–4
follow the five ballots' own order (PPWP, DPR, DPD, DPRD provinsi, DPRD kabupaten/kota)."""
CODE_MARGIN = 40
"""Template pixels around the 2D code searched for it (a photo's curl moves it ~10)."""
TITLE: Box = (1595, 248, 1772, 354)
"""The box "MODEL C.HASIL-PPWP" and the line "Halaman N dari 3"."""
TEXT_SCALE = 2.25
"""Template → crop scale for Tesseract: capitals ~27 px high."""
TIMEOUT_S = 3.0
WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-/ "
PSM_BLOCK = 6
"""Tesseract: one block of lines."""


class Text(Enum):
    """When ``read_header`` starts Tesseract."""

    NEVER = "never"
    WHEN_NEEDED = "when_needed"
    """Only when the 2D code gives no page of C.HASIL-PPWP."""
    ALWAYS = "always"


class Code(msgspec.Struct, frozen=True):
    """The page's 2D code (AprilTag 36h10) as decoded in an image."""

    number: int
    """101, 102, 103 on C.HASIL-PPWP."""
    corners: tuple[Point, Point, Point, Point]
    """In the image: the tag's own top-left, top-right, bottom-right, bottom-left."""

    @property
    def form(self) -> str | None:
        return SERIES.get(self.number // 100)

    @property
    def page(self) -> Page | None:
        if self.form != "PPWP" or self.number % 100 not in (1, 2, 3):
            return None
        return Page(self.number % 100)

    @property
    def turned(self) -> int:
        """Degrees the page is turned in the image (0, 90, 180, 270), like ``PageReading.rotated``.

        The tag is printed upside down: on an upright page its own top edge runs right to left.
        """
        (x0, y0), (x1, y1) = self.corners[0], self.corners[1]
        degrees = float(np.degrees(np.arctan2(y1 - y0, x1 - x0))) - 180.0
        return round(degrees / 90) % 4 * 90


class Header(msgspec.Struct, frozen=True):
    code: Code | None
    """The 2D code at its place on the straightened page, or at the opposite corner."""
    title: str | None = None
    """The form the printed title names, as Tesseract read it ("PPWP", "DPR", "DPD", "DPRD PROV",
    "DPRD KAB/KOTA"); ``None`` when not read."""
    halaman: Page | None = None
    """From "Halaman N dari 3", as Tesseract read it."""
    text: str = ""
    """All Tesseract read ("" when it did not run)."""
    text_ms: float = 0.0
    """Milliseconds Tesseract took (0 when it did not run)."""
    timed_out: bool = False
    """Tesseract was stopped after ``TIMEOUT_S``: its evidence is missing, not negative."""

    @property
    def ppwp(self) -> bool | None:
        """Whether the header shows C.HASIL-PPWP: by the 2D code (never misread in the measurement)
        before the title; ``None`` when neither was read."""
        if self.code is not None:
            return self.code.form == "PPWP"
        return None if self.title is None else self.title == "PPWP"

    @property
    def form(self) -> str | None:
        """The form's name after "C.HASIL-", by the code (``None`` for a series not known) or the title."""
        return self.code.form if self.code is not None else self.title

    @property
    def page(self) -> Page | None:
        """By the code; without it by "Halaman N" (wrong on 1 of the 57 real pages where it was read)."""
        if self.ppwp is False:
            return None
        return self.code.page if self.code is not None else self.halaman

    @property
    def upright(self) -> bool | None:
        """Whether the straightened page stands upright, by the 2D code (``None``: not found)."""
        return None if self.code is None else self.code.turned == 0


def read_header(
    straight: Gray, template: PageTemplate, scale: float, *, text: Text = Text.WHEN_NEEDED
) -> Header:
    """The header of ``straight``, the page straightened onto ``template`` (its pixels × ``scale``),
    upright or upside down (its corner marks taken the other way round, as ``locate.rotations``)."""
    code, upright = _find_code(straight, template, scale)
    wanted = text is Text.ALWAYS or (text is Text.WHEN_NEEDED and (code is None or code.page is None))
    if not wanted:
        return Header(code)
    start = time.perf_counter()
    try:
        read = tesseract.read_text(
            title_crop(straight, _place(TITLE, template, upright), scale, upright=upright),
            whitelist=WHITELIST,
            psm=PSM_BLOCK,
            timeout_s=TIMEOUT_S,
        )
    except tesseract.TesseractTimeout:
        return Header(code, text_ms=_ms(start), timed_out=True)
    return Header(code, title_form(read), halaman_page(read), read, _ms(start))


def other_form(header: Header) -> str | None:
    """The refusal, in Indonesian for the KPPS, when the header shows a form other than C.HASIL-PPWP."""
    if header.ppwp is not False:
        return None
    if header.form is not None:
        seen = f"formulir C.HASIL-{header.form}"
    else:
        assert header.code is not None  # only a code of an unknown series names no form
        seen = f"formulir lain (kode {header.code.number})"
    return f"Ini halaman {seen}, bukan {FORM} (presiden). Foto formulir {FORM} yang benar."


@cache
def _detector() -> cv2.aruco.ArucoDetector:
    parameters = cv2.aruco.DetectorParameters()
    # Blur spreads the black border into the cells: read each cell's middle only (133 of 134
    # straightened pages instead of 131, none wrong).
    parameters.perspectiveRemoveIgnoredMarginPerCell = 0.3
    family = cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_APRILTAG_36h10)
    return cv2.aruco.ArucoDetector(family, parameters)


def read_code(image: Gray) -> Code | None:
    """The 2D code in ``image`` (a crop or a whole photo, 8-bit grey), the largest if several."""
    corners, ids, _ = _detector().detectMarkers(image)
    if ids is None:
        return None
    found = [
        (float(cv2.contourArea(c.reshape(4, 2))), c.reshape(4, 2), int(i))
        for c, i in zip(corners, ids.ravel(), strict=True)
    ]
    _, quad, number = max(found, key=lambda f: f[0])
    a, b, c, d = ((float(x), float(y)) for x, y in quad)
    return Code(number, (a, b, c, d))


def _find_code(straight: Gray, template: PageTemplate, scale: float) -> tuple[Code | None, bool]:
    """The 2D code where it belongs on the page upright, else upside down, turned as its place says;
    and whether the page is upright (assumed when no code is found)."""
    x, y, w, h = template.code
    for upright in (True, False):
        code = _code_at(straight, _place((x, y, x + w, y + h), template, upright), scale)
        if code is not None and code.turned == (0 if upright else 180):
            return code, upright
    return None, True


def _place(box: Box, template: PageTemplate, upright: bool) -> Box:
    """Where ``box`` (template pixels) lies on the page straightened upright or upside down.

    Upside down, the page is turned about its corner marks' centre, which is not the image's: the
    marks lie 216 px below the top edge and 84 px above the bottom one.
    """
    if upright:
        return box
    (ax, ay), (bx, by) = template.fiducials[0], template.fiducials[3]
    x0, y0, x1, y1 = box
    return (ax + bx - x1, ay + by - y1, ax + bx - x0, ay + by - y0)


def _code_at(straight: Gray, box: Box, scale: float) -> Code | None:
    bx0, by0, bx1, by1 = box
    x0, y0 = max(0, round((bx0 - CODE_MARGIN) * scale)), max(0, round((by0 - CODE_MARGIN) * scale))
    x1, y1 = round((bx1 + CODE_MARGIN) * scale), round((by1 + CODE_MARGIN) * scale)
    code = read_code(straight[y0:y1, x0:x1])
    if code is None:
        return None
    a, b, c, d = ((px + x0, py + y0) for px, py in code.corners)
    return Code(code.number, (a, b, c, d))


def title_crop(straight: Gray, box: Box, scale: float, *, upright: bool) -> Gray:
    """The title and Halaman line at ``box``, upright, enlarged for Tesseract, its paper evened out."""
    x0, y0, x1, y1 = (max(0, round(v * scale)) for v in box)
    cut = straight[y0:y1, x0:x1]
    crop = cv2.resize(
        cut if upright else cv2.rotate(cut, cv2.ROTATE_180),
        None,
        fx=TEXT_SCALE / scale,
        fy=TEXT_SCALE / scale,
        interpolation=cv2.INTER_CUBIC,
    )
    paper = cv2.morphologyEx(crop, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    even = cv2.divide(crop, paper, scale=255)
    blurred = cv2.GaussianBlur(even, (0, 0), 1.5)
    sharp = cv2.addWeighted(even, 1.8, blurred, -0.8, 0)
    return cv2.copyMakeBorder(sharp, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)


_HASIL = re.compile(r"[HMN]A(?:S[I1L|]{0,2}|L)[-.~_,]*(?P<rest>[A-Z0-9/]*)")
"""After "C.HASIL-", spaces removed: "CHASL-", "CMASIL", "CHAL" as Tesseract reads it."""
_FORMS = (
    ("DPRD KAB/KOTA", re.compile(r"^[DO0]PR[DO0]K")),
    ("DPRD PROV", re.compile(r"^[DO0]PR[DO0]PR")),
    ("DPD", re.compile(r"^[DO0]P[DO0]$")),
    ("DPR", re.compile(r"^[DO0]PR$")),
    ("PPWP", re.compile(r"^[PRF][A-Z]{0,3}?(W|VV|YY|VY|YV)")),
)
"""The other forms' names must be read whole; PPWP is known by a P and a W-like letter or two
("PRPWP", "PPYYP", "PPVVP"): on the real PPWP pages no other form was ever read."""


def title_form(read: str) -> str | None:
    """The form named after "C.HASIL-" (tolerant of "C.HASlL", "PPVVP"); ``None`` if unclear."""
    for line in read.upper().splitlines():
        for match in _HASIL.finditer(re.sub(r"\s", "", line)):
            for name, pattern in _FORMS:
                if pattern.search(match["rest"]):
                    return name
    return None


_HALAMAN = re.compile(
    r"H\w{0,4}(?:M|RN|NN)\w{0,2}N\s*([123])(?!\d)|(?<!\d)([123])\s*D\s*[AO]\s*[RN]", re.IGNORECASE
)


def halaman_page(read: str) -> Page | None:
    """N of "Halaman N dari 3" (tolerant of "Halarnan", "dan"); ``None`` if unread or contradictory."""
    numbers = {int(a or b) for a, b in _HALAMAN.findall(read)}
    return Page(numbers.pop()) if len(numbers) == 1 else None


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
