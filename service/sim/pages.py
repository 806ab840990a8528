"""Pages for a simulated election: real JPEGs that carry their own numbers, so that the workers can
skip the OCR (``REKAP_SIMULATED_OCR=1``) and the rest of the system is measured alone.

The numbers ride in the JPEG's comment segment. A worker started without the setting reads such a
page like any photo (and refuses it: there is no form on it), so the setting cannot leak into a
real count unnoticed.
"""

from __future__ import annotations

import functools
import struct

import cv2
import msgspec
import numpy as np

from ocr.form import FIELDS, PAIRS, Page
from ocr.reading import Alternative, FieldReading, PageReading

MARK = b"rekap-sim "
READER = "rekap-sim 1"
_NO_PLACE = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0))


class SimulatedPage(msgspec.Struct, frozen=True):
    tps: str
    page: int
    numbers: dict[str, int]


@functools.cache
def _blank() -> bytes:
    """A plain grey page, large enough to pass the upload's size check."""
    ok, data = cv2.imencode(".jpg", np.full((1200, 800), 200, np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 50])
    assert ok
    return data.tobytes()


def photo(tps: str, page: Page, numbers: dict[str, int]) -> bytes:
    """A JPEG of one page of the TPS's form whose comment segment holds the page's numbers."""
    return stamp(_blank(), tps, page, numbers)


def stamp(jpeg: bytes, tps: str, page: Page, numbers: dict[str, int]) -> bytes:
    """Any JPEG (a real photo's size, for a benchmark) carrying the page's numbers the same way."""
    own = {name: numbers[name] for name in FIELDS[page]}
    payload = MARK + msgspec.json.encode(SimulatedPage(tps, int(page), own))
    segment = b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]  # right after the start-of-image marker


def _digits(value: int) -> list[list[Alternative]]:
    return [[Alternative(int(d), 1.0)] for d in f"{value:03d}"]


def reading(data: bytes) -> PageReading | None:
    """The page a simulated photo carries, as the OCR would have read it perfectly; ``None`` for a
    photo that is not one of these."""
    if data[2:4] != b"\xff\xfe":
        return None
    (length,) = struct.unpack(">H", data[4:6])
    payload = data[6 : 4 + length]
    if not payload.startswith(MARK):
        return None
    page = msgspec.json.decode(payload[len(MARK) :], type=SimulatedPage)
    fields = [
        FieldReading(
            name,
            value,
            1.0,
            [Alternative(value, 1.0)],
            _digits(value),
            _NO_PLACE,
            [int(d) for d in f"{value:03d}"] if name in PAIRS else None,
        )
        for name, value in page.numbers.items()
    ]
    return PageReading(Page(page.page), 1.0, 0, fields, 0, {}, READER)
