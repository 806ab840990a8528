"""Open a photo safely: recognise its format and size from the header before decoding.

A decompression bomb (a small file that decodes to billions of pixels) is refused from its
header alone, before any pixel is allocated.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr.reading import Retake

MAX_PIXELS = 40_000_000
MIN_SIDE = 600
"""Below this the digit boxes are a few pixels wide."""


class Unreadable(Exception):
    def __init__(self, reason: Retake, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def sniff(data: bytes) -> tuple[str, int, int]:
    """Format and (width, height) from the file header."""
    if data.startswith(b"\xff\xd8"):
        return ("jpeg", *_jpeg_size(data))
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) < 24:
            raise Unreadable(Retake.DAMAGED, "PNG header is cut short")
        if data[12:16] != b"IHDR":  # the size is read where the decoder reads it, or not at all
            raise Unreadable(Retake.DAMAGED, "PNG does not begin with its header chunk")
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ("webp", *_webp_size(data))
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        raise Unreadable(
            Retake.NOT_AN_IMAGE, "HEIC photos are not accepted; set the camera to JPEG ('Most compatible')"
        )
    raise Unreadable(Retake.NOT_AN_IMAGE, "not a JPEG, PNG or WebP file")


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, offset, length) of each top-level JPEG segment that has a length, in order;
    ``Unreadable`` where the structure breaks."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise Unreadable(Retake.DAMAGED, "JPEG structure is broken")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        yield marker, i, length
        i += 2 + length


def _jpeg_size(data: bytes) -> tuple[int, int]:
    for marker, i, _ in _segments(data):
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and i + 9 < len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
    raise Unreadable(Retake.DAMAGED, "JPEG has no image header")


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
    kind, width, height = _sized(data, max_pixels)
    if kind == "jpeg" and not _jpeg_complete(data):
        raise Unreadable(Retake.DAMAGED, "the JPEG file is cut short (the upload did not finish)")
    return ImageInfo(f"image/{kind}", width, height)


def _sized(data: bytes, max_pixels: int) -> tuple[str, int, int]:
    kind, width, height = sniff(data)
    if width * height > max_pixels:
        raise Unreadable(Retake.TOO_LARGE, f"{width}×{height} pixels is more than {max_pixels:,}")
    if min(width, height) < MIN_SIDE:
        raise Unreadable(
            Retake.TOO_SMALL, f"{width}×{height} pixels; the shorter side needs at least {MIN_SIDE}"
        )
    return kind, width, height


def _jpeg_complete(data: bytes) -> bool:
    """Whether the end-of-image marker follows the main image's scan.

    Inside entropy-coded data a 0xFF byte is always stuffed (FF 00) or a restart marker, so
    FF D9 after the first top-level start-of-scan can only be the end of the image (an EXIF
    thumbnail's own FF D9 comes earlier, inside its APP1 segment).
    """
    try:
        for marker, i, length in _segments(data):
            if marker == 0xDA:
                return data.find(b"\xff\xd9", i + 2 + length) != -1
    except Unreadable:
        return False
    return False


def decode_gray(data: bytes, *, max_pixels: int = MAX_PIXELS) -> npt.NDArray[Any]:
    """The photo as 8-bit grey, or ``Unreadable`` with the reason."""
    return _decoded(data, cv2.IMREAD_GRAYSCALE, max_pixels)


def decode_colour(data: bytes, *, max_pixels: int = MAX_PIXELS) -> npt.NDArray[Any]:
    """The photo as 8-bit BGR, or ``Unreadable``: turned by its EXIF orientation exactly like
    ``decode_gray``, so that a reading's coordinates point at the same place in it."""
    return _decoded(data, cv2.IMREAD_COLOR, max_pixels)


def _decoded(data: bytes, flags: int, max_pixels: int) -> npt.NDArray[Any]:
    kind, width, height = _sized(data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or sorted(image.shape[:2]) != sorted((height, width)):
        raise Unreadable(Retake.DAMAGED, "the image data could not be decoded")
    if kind == "jpeg" and b"\xff\xd9" not in data[-64:] and _grey_tail(image):
        raise Unreadable(Retake.DAMAGED, "the JPEG file is cut short (the upload did not finish)")
    return image


def _grey_tail(image: npt.NDArray[Any]) -> bool:
    """A cut-short JPEG decodes with its missing rows filled in one flat grey."""
    tail = image[-max(2, image.shape[0] // 50) :]
    return bool(tail.min() == tail.max())
