"""Open a photo safely: recognise its format, size and structure before decoding.

A decompression bomb (a small file that decodes to billions of pixels) is refused from its
header alone, before any pixel is allocated. So is a scan bomb: a progressive JPEG makes the
decoder pass over all its pixels once per scan, and a 481 KB file of 6000×6600 pixels whose
one scan is repeated 3,000 times kept a reader busy for 77 s. Its segments are walked (each
scan's entropy-coded data skipped by a search, not byte by byte) and counted against what
cameras write.
"""

from __future__ import annotations

import re
import struct
from typing import Any, NamedTuple

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr.reading import Retake

MAX_PIXELS = 40_000_000
MIN_SIDE = 600
"""Below this a whole page's digit boxes are a few pixels wide."""
MIN_PART_SIDE = 200
"""Below this even a photo of page 2's vote part alone is unreadable. Between it and
``MIN_SIDE`` only such a photo is read (``reader``): the 50 crops of c1_page2_crops of about
243×286 pixels have boxes of ~20 pixels, read right wherever boxes and bubbles agreed."""
MAX_SCANS = 64
"""A JPEG's scans (SOS segments). Measured on every JPEG of ../shared/data: the 657 photos of
forms (c1_form_images, c1_form_images_unverified, c1_page2_crops, c1_2019_ppwp_scans) have 1;
the 14,117 digit crops of c1_digits_ds9 and c1_handwritten_digits at most 10 (libjpeg's
standard progressive script). Each scan is a pass of the decoder over its pixels."""
MAX_SEGMENTS = 256
"""Markers from SOI to EOI, scans included: measured at most 11 on the photos of forms and 27
on the progressive digit crops (a DHT before each scan)."""
MAX_DECODE = 16 * MAX_PIXELS
"""Pixels × scans one decode may cost. The largest real photo costs 2.2 M (one scan); a
40-megapixel progressive photo of 10 scans would cost 400 M. At this limit (640 M) a 6000×6600
JPEG of 16 scans decodes in 0.4 s, against 0.13 s for one scan."""


class Unreadable(Exception):
    def __init__(self, reason: Retake, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Layout(NamedTuple):
    """What the header and structure say: the format, the size and how many passes a decoder
    makes over the pixels (a progressive JPEG's scans; one for everything else)."""

    kind: str
    width: int
    height: int
    scans: int = 1
    complete: bool = True
    """False for a JPEG whose structure ends before its end-of-image marker."""


def sniff(data: bytes) -> Layout:
    """Format, size and scans from the file's header and structure."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_layout(data)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24:
            raise Unreadable(Retake.DAMAGED, "PNG header is cut short")
        if data[12:16] != b"IHDR":  # the size is read where the decoder reads it, or not at all
            raise Unreadable(Retake.DAMAGED, "PNG does not begin with its header chunk")
        width, height = struct.unpack(">II", data[16:24])
        return Layout("png", width, height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Layout("webp", *_webp_size(data))
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        raise Unreadable(
            Retake.NOT_AN_IMAGE, "HEIC photos are not accepted; set the camera to JPEG ('Most compatible')"
        )
    raise Unreadable(Retake.NOT_AN_IMAGE, "not a JPEG, PNG or WebP file")


_MARKER = re.compile(rb"\xff+([^\xff])")
"""A marker where a segment begins, after any 0xFF fill bytes."""
_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
"""The first marker after a scan's entropy-coded data, in which 0xFF is always followed by 0x00
(a stuffed byte), a restart marker (0xD0–0xD7) or more 0xFF (fill)."""
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS, _EOI = 0xDA, 0xD9


def _jpeg_layout(data: bytes) -> Layout:
    """Every segment from SOI to EOI walked as a decoder walks them, each scan's entropy-coded
    data skipped by a search for the marker after it; ``Unreadable`` where the structure breaks or
    holds more segments or scans than a camera writes (counted as they come, so a file of
    thousands of scans is refused at scan ``MAX_SCANS + 1``)."""
    size: tuple[int, int] | None = None
    scans = segments = 0
    i = 2
    complete = False
    while True:
        found = _MARKER.match(data, i)
        if found is None:
            if i < len(data) and data[i] != 0xFF:
                raise Unreadable(Retake.DAMAGED, "JPEG structure is broken")
            break  # cut short
        marker, i = found.group(1)[0], found.end()
        segments += 1
        if segments > MAX_SEGMENTS:
            raise Unreadable(Retake.DAMAGED, f"the JPEG has more than {MAX_SEGMENTS} segments")
        if marker == _EOI:
            complete = scans > 0
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            continue
        if marker < 0xC0 or marker == 0xD8:  # reserved, or a second start of image
            raise Unreadable(Retake.DAMAGED, "JPEG structure is broken")
        if i + 2 > len(data):
            break
        (length,) = struct.unpack_from(">H", data, i)
        if length < 2:
            raise Unreadable(Retake.DAMAGED, "JPEG structure is broken")
        if marker in _SOF and size is None and i + 7 <= len(data):
            height, width = struct.unpack_from(">HH", data, i + 3)
            size = (width, height)
        i += length
        if marker == _SOS:
            scans += 1
            if scans > MAX_SCANS:
                raise Unreadable(Retake.DAMAGED, f"the JPEG has more than {MAX_SCANS} scans")
            after = _AFTER_SCAN.search(data, i)
            if after is None:
                break  # cut short inside the scan
            i = after.start()
    if size is None:
        raise Unreadable(Retake.DAMAGED, "JPEG has no image header")
    return Layout("jpeg", *size, scans=max(scans, 1), complete=complete)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise Unreadable(Retake.DAMAGED, "WebP header is cut short")


class ImageInfo(msgspec.Struct, frozen=True):
    media_type: str
    width: int
    height: int


def inspect(data: bytes, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """What an upload is, from its header and structure alone (no pixel decoded), or ``Unreadable``.

    Cheap enough for the upload request itself: a wrong format, a decompression bomb, a photo
    too small to read and a JPEG cut short by a dropped connection are refused at once.
    """
    layout = _sized(data, max_pixels)
    if not layout.complete:
        raise Unreadable(Retake.DAMAGED, "the JPEG file is cut short (the upload did not finish)")
    return ImageInfo(f"image/{layout.kind}", layout.width, layout.height)


def _sized(data: bytes, max_pixels: int) -> Layout:
    layout = sniff(data)
    width, height = layout.width, layout.height
    if width * height > max_pixels:
        raise Unreadable(Retake.TOO_LARGE, f"{width}×{height} pixels is more than {max_pixels:,}")
    if min(width, height) < MIN_PART_SIDE:
        raise too_small(width, height)
    if width * height * layout.scans > MAX_DECODE:
        raise Unreadable(
            Retake.TOO_LARGE,
            f"{width}×{height} pixels in {layout.scans} scans; a phone photo takes far fewer passes",
        )
    return layout


def too_small(width: int, height: int) -> Unreadable:
    return Unreadable(
        Retake.TOO_SMALL, f"{width}×{height} pixels; the shorter side needs at least {MIN_SIDE}"
    )


def decode_gray(data: bytes, *, max_pixels: int = MAX_PIXELS) -> npt.NDArray[Any]:
    """The photo as 8-bit grey, or ``Unreadable`` with the reason."""
    return _decoded(data, cv2.IMREAD_GRAYSCALE, max_pixels)


def decode_colour(data: bytes, *, max_pixels: int = MAX_PIXELS) -> npt.NDArray[Any]:
    """The photo as 8-bit BGR, or ``Unreadable``: turned by its EXIF orientation exactly like
    ``decode_gray``, so that a reading's coordinates point at the same place in it."""
    return _decoded(data, cv2.IMREAD_COLOR, max_pixels)


def _decoded(data: bytes, flags: int, max_pixels: int) -> npt.NDArray[Any]:
    layout = _sized(data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or sorted(image.shape[:2]) != sorted((layout.height, layout.width)):
        raise Unreadable(Retake.DAMAGED, "the image data could not be decoded")
    if not layout.complete and _grey_tail(image):
        raise Unreadable(Retake.DAMAGED, "the JPEG file is cut short (the upload did not finish)")
    return image


def _grey_tail(image: npt.NDArray[Any]) -> bool:
    """A cut-short JPEG decodes with its missing rows filled in one flat grey."""
    tail = image[-max(2, image.shape[0] // 50) :]
    return bool(tail.min() == tail.max())
