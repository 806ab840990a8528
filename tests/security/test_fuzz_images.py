"""Malformed files through the OCR's entry points: ``inspect`` answers an ``ImageInfo`` or raises
``ocr.Unreadable``, ``read_page`` answers a ``PageReading`` or a ``Rejected``, ``crop_field``
answers a JPEG or raises ``ocr.Unreadable`` — never another exception, a crash or a hang.

The files: random bytes (bare or behind a real signature), real photos in the three accepted
formats cut short or with bits flipped or bytes overwritten, headers declaring zero or huge
sizes, and pictures of patterns. Each call runs in a process of its own (``Sandbox``), so that a
decoder's segfault or an endless search fails the test instead of taking pytest down or
stalling it.
"""

from __future__ import annotations

import multiprocessing
import struct
import traceback
import zlib
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocr.imagefile import MAX_PIXELS, MIN_PART_SIDE, MIN_SIDE

LIMIT_S = 30.0
"""Far above any real photo's reading (a quarter second for a page; seconds for 40 megapixels)."""
QUAD = ((100.0, 120.0), (280.0, 120.0), (280.0, 180.0), (100.0, 180.0))
FUZZ = settings(
    deadline=None,  # the sandbox's time limit fails a hang; a slow example is no failure
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,  # the same files every run (a gate); raise max_examples for a deeper search
)

Outcome = tuple[str, str]
"""("value", type name), ("unreadable", reason) or ("error", traceback)."""


def _call(name: str, data: bytes) -> object:
    import ocr

    if name == "inspect":
        return ocr.inspect(data)
    if name == "read_page":
        return ocr.read_page(data)
    return ocr.crop_field(data, QUAD)


def _serve(conn: Connection) -> None:
    """The sandbox's loop: one call at a time, its outcome sent back."""
    import ocr

    while True:
        try:
            name, data = conn.recv()
        except EOFError:
            return
        try:
            result = _call(name, data)
        except ocr.Unreadable as error:
            conn.send(("unreadable", error.reason.value))
        except Exception:  # noqa: BLE001 - any other exception is what the test reports
            conn.send(("error", traceback.format_exc()))
        else:
            conn.send(("value", type(result).__name__))


class Sandbox:
    """A process of its own for the calls, started anew after a crash or a hang."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")  # not a fork of pytest and its threads
        self._start()

    def _start(self) -> None:
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def _restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()
        self._start()

    def run(self, name: str, data: bytes) -> Outcome:
        self.conn.send((name, data))
        if not self.conn.poll(LIMIT_S):
            self._restart()
            pytest.fail(f"{name} did not return within {LIMIT_S:.0f} s on {describe(data)}")
        try:
            outcome: Outcome = self.conn.recv()
        except EOFError:
            self.process.join()
            code = self.process.exitcode
            self._restart()
            pytest.fail(f"{name} killed its process (exit code {code}) on {describe(data)}")
        return outcome

    def stop(self) -> None:
        self.conn.close()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def describe(data: bytes) -> str:
    return f"{len(data)} bytes starting {data[:32].hex()}"


ALLOWED: dict[str, set[Outcome]] = {
    "inspect": {("value", "ImageInfo")},
    "read_page": {("value", "PageReading"), ("value", "Rejected")},
    "crop_field": {("value", "bytes")},
}
UNREADABLE_ALLOWED = {"inspect", "crop_field"}
"""``read_page`` turns ``Unreadable`` into a ``Rejected`` itself: it raises nothing."""


def check(
    sandbox: Sandbox, data: bytes, calls: tuple[str, ...] = ("inspect", "read_page", "crop_field")
) -> dict[str, Outcome]:
    outcomes = {}
    for name in calls:
        outcome = sandbox.run(name, data)
        kind, detail = outcome
        allowed = outcome in ALLOWED[name] or (kind == "unreadable" and name in UNREADABLE_ALLOWED)
        assert allowed, f"{name} on {describe(data)}: {kind}\n{detail}"
        outcomes[name] = outcome
    return outcomes


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    yield box
    box.stop()


def encoded(image: np.ndarray, extension: str) -> bytes:
    ok, data = cv2.imencode(extension, image)
    assert ok
    return data.tobytes()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Files the reader reads through: a synthetic page (640 px wide, so that a reading takes a
    fifth of a second) in each accepted format, and a plain sheet of paper."""
    from ocr.synth.pages import generate
    from tests.conftest import forms_dir

    folder = tmp_path_factory.mktemp("fuzz-seeds")
    generate(forms_dir(), folder, 1, seed=11, strength=0.6)
    page = cv2.imread(str(next(folder.glob("*.jpg"))))
    small = cv2.resize(page, (640, round(640 * page.shape[0] / page.shape[1])), interpolation=cv2.INTER_AREA)
    paper = np.clip(np.random.default_rng(0).normal(225, 12, (900, 640)), 0, 255).astype(np.uint8)
    return {
        "page.jpg": encoded(small, ".jpg"),
        "page.png": encoded(small, ".png"),
        "page.webp": encoded(small, ".webp"),
        "paper.jpg": encoded(paper, ".jpg"),
    }


SIGNATURES = [
    b"",
    b"\xff\xd8",
    b"\xff\xd8\xff\xe0",
    b"\x89PNG\r\n\x1a\n",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"RIFF\x10\x00\x00\x00WEBPVP8X",
]


@given(signature=st.sampled_from(SIGNATURES), tail=st.binary(max_size=2048))
@settings(FUZZ, max_examples=150)
def test_random_bytes(sandbox: Sandbox, signature: bytes, tail: bytes) -> None:
    check(sandbox, signature + tail)


def _mutations(data: bytes) -> st.SearchStrategy[bytes]:
    size = len(data)
    cut = st.integers(0, size - 1).map(lambda n: data[:n])
    flips = st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 7)), min_size=1, max_size=20).map(
        lambda bits: _flipped(data, bits)
    )
    overwrite = st.tuples(st.integers(0, size - 1), st.binary(min_size=1, max_size=64)).map(
        lambda spot: data[: spot[0]] + spot[1] + data[spot[0] + len(spot[1]) :]
    )
    # Most damage is near the start, where the headers are.
    header = st.tuples(st.integers(0, min(size, 600) - 1), st.integers(0, 255)).map(
        lambda spot: data[: spot[0]] + bytes([spot[1]]) + data[spot[0] + 1 :]
    )
    return st.one_of(cut, flips, overwrite, header)


def _flipped(data: bytes, bits: list[tuple[int, int]]) -> bytes:
    damaged = bytearray(data)
    for offset, bit in bits:
        damaged[offset] ^= 1 << bit
    return bytes(damaged)


@given(data=st.data())
@settings(FUZZ, max_examples=30)
def test_damaged_photos(sandbox: Sandbox, seeds: dict[str, bytes], data: st.DataObject) -> None:
    seed = seeds[data.draw(st.sampled_from(sorted(seeds)), label="seed")]
    check(sandbox, data.draw(_mutations(seed), label="damaged"))


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int, *, first: bytes = b"") -> bytes:
    """A valid PNG structure (right CRCs) whose header declares the size, with a little data."""
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    pixels = _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + first + header + pixels + _png_chunk(b"IEND", b"")


def jpeg_declaring(width: int, height: int) -> bytes:
    """A real small JPEG whose start-of-frame declares the size."""
    data = bytearray(encoded(np.full((64, 64), 200, np.uint8), ".jpg"))
    i = 2
    while not (0xC0 <= data[i + 1] <= 0xC3):
        i += 2 + struct.unpack(">H", data[i + 2 : i + 4])[0]
    data[i + 5 : i + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """A real small lossless WebP whose bitstream header declares the size (14 bits a side)."""
    data = bytearray(encoded(np.full((64, 64, 3), 200, np.uint8), ".webp"))
    assert data[12:16] == b"VP8L"
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    data[21:25] = (bits | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    return bytes(data)


DECLARED: dict[str, tuple[Callable[[int, int], bytes], int]] = {
    "png": (png_declaring, 2**32 - 1),
    "jpeg": (jpeg_declaring, 65_535),
    "webp": (webp_declaring, 1 << 14),
}
"""How each format declares a size, and the largest side it can declare."""
SIDES = [0, 1, MIN_PART_SIDE - 1, MIN_SIDE - 1, MIN_SIDE, 16_384, 65_535, 2**31, 2**32 - 1]


@pytest.mark.parametrize(
    ("kind", "width", "height"),
    [
        (kind, w, h)
        for kind, (_, largest) in sorted(DECLARED.items())
        for w in SIDES
        for h in SIDES
        if (w <= h or h == 0) and max(w, h) <= largest and (kind != "webp" or min(w, h) > 0)
    ],
)
def test_declared_sizes_too_small_or_too_large_are_refused_from_the_header(
    sandbox: Sandbox, kind: str, width: int, height: int
) -> None:
    """Zero-sized and bomb-sized images are refused before any pixel is decoded; sizes in
    between go on to the decoder, which finds too little data."""
    data = DECLARED[kind][0](width, height)
    outcomes = check(sandbox, data)
    if width * height > MAX_PIXELS:
        assert outcomes["inspect"] == ("unreadable", "too_large")
    elif min(width, height) < MIN_PART_SIDE:
        assert outcomes["inspect"] == ("unreadable", "too_small")


def test_a_png_whose_size_is_not_in_its_first_chunk_is_damaged(sandbox: Sandbox) -> None:
    """The size is read where the decoder reads it: a chunk before the header, declaring a
    harmless size in its place, hides nothing."""
    decoy = _png_chunk(b"tEXt", struct.pack(">II", 1000, 1000) + b"rekap")
    assert check(sandbox, png_declaring(60_000, 60_000, first=decoy))["inspect"] == ("unreadable", "damaged")


def grid_of_boxes() -> np.ndarray:
    sheet = np.full((1200, 800), 230, np.uint8)
    for y in range(100, 1100, 60):
        for x in range(100, 700, 45):
            cv2.rectangle(sheet, (x, y), (x + 40, y + 44), 0, 2)
    return sheet


def grid_of_dots() -> np.ndarray:
    sheet = np.full((1200, 800), 230, np.uint8)
    for y in range(0, 1200, 14):
        for x in range(0, 800, 14):
            sheet[y : y + 7, x : x + 7] = 0
    return sheet


PATTERNS = {
    "grid of boxes": grid_of_boxes,  # searched for minutes as rows of digit boxes, before MAX_ROWS
    "grid of dots": grid_of_dots,  # paired as parted corner marks for minutes, before MAX_SQUARES
    "white": lambda: np.full((900, 640), 255, np.uint8),
    "black": lambda: np.zeros((900, 640), np.uint8),
    "noise": lambda: np.random.default_rng(1).integers(0, 256, (900, 640), dtype=np.uint8),
    "tall strip": lambda: np.full((20_000, 600), 230, np.uint8),
    "checkerboard": lambda: (np.indices((900, 640)).sum(0) // 8 % 2 * 255).astype(np.uint8),
}


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("extension", [".png", ".jpg"])
def test_pictures_of_patterns_are_refused_in_time(sandbox: Sandbox, pattern: str, extension: str) -> None:
    outcomes = check(sandbox, encoded(PATTERNS[pattern](), extension))
    assert outcomes["read_page"] == ("value", "Rejected")
