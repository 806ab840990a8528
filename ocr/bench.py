"""Time the reader on one core, end to end per photo, and where the time goes (``rekap bench ocr``).

The cost of a page must be bounded, not only small on average, so the figures are the mean and
the tail (nearest-rank p90 and p99, and the maximum). Photos the reader refuses are timed apart:
an early refusal (a dark photo) would flatter the mean, a long fruitless search would hide among
the pages read. Every photo gets its own row (page found or reason refused, milliseconds), so a
slow one can be named. One process, one OpenCV thread; the first read, which loads the digit
model and the page templates, is not timed.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import msgspec

from ocr.evaluate import timed_read
from ocr.reader import read_page
from ocr.reading import PageReading, Retake
from ocr.synth.pages import generate
from ocr.threads import single_threaded

TARGET_MEAN_MS = 300.0
TARGET_P99_MS = 1000.0
SYNTHETIC = "synthetic"
"""The ``source`` of photos made by ``ocr.synth.pages.generate`` for this run."""


class Spread(msgspec.Struct, frozen=True):
    """Milliseconds per photo over a set of photos; percentiles by nearest rank."""

    mean: float
    median: float
    p90: float
    p99: float
    max: float


class PhotoTime(msgspec.Struct, frozen=True):
    file: str
    source: str
    """The folder's name (``c1_form_images``) or ``synthetic``."""
    page: int | None
    """The page found; ``None`` when refused."""
    reason: Retake | None
    """Why it was refused; ``None`` when read."""
    ms: float


class OcrBench(msgspec.Struct, frozen=True):
    pages: int
    """Photos timed: synthetic and real, read and refused."""
    synthetic_pages: int
    real_pages: int
    ms_per_page_mean: float
    """This and the other ``ms_per_page_*`` are over the photos read as a page."""
    ms_per_page_median: float
    ms_per_page_p90: float
    ms_per_page_p99: float
    ms_per_page_max: float
    stage_ms_mean: dict[str, float]
    """Per stage of ``PageReading.timings_ms``, over the photos read as a page."""
    rejected: int
    rejected_ms: Spread | None
    """Over the refused photos; ``None`` when none was refused."""
    rejected_by_reason: dict[str, int]
    target_mean_ms: float
    target_p99_ms: float
    photos: list[PhotoTime]


def bench(forms: Path, real: Mapping[str, Path], *, quick: bool, seed: int = 2024) -> OcrBench:
    """Times 30 generated photos and every ``*.jpg`` in each folder of ``real``.

    ``real`` maps a source name to a folder of photos of whole pages (crops of part of a page
    say nothing of a page's cost); ``quick`` takes 6 of each source.
    """
    single_threaded()  # one core, as each of the worker's OCR processes
    take = 6 if quick else None
    with tempfile.TemporaryDirectory() as tmp:
        generate(forms, Path(tmp), take or 30, seed)
        files = [(SYNTHETIC, p) for p in sorted(Path(tmp).glob("*.jpg"))]
        for source, folder in real.items():
            files += [(source, p) for p in sorted(folder.glob("*.jpg"))[:take]]
        read_page(files[0][1].read_bytes())  # load the model and templates outside the timing
        timed = [_time(source, path) for source, path in files]
    return _summary([row for row, _ in timed], [stages for _, stages in timed if stages is not None])


def _time(source: str, path: Path) -> tuple[PhotoTime, dict[str, float] | None]:
    """One photo's row, and its stage timings when it was read as a page."""
    outcome, took = timed_read(path)
    ms = round(took, 1)
    if isinstance(outcome, PageReading):
        return PhotoTime(path.name, source, int(outcome.page), None, ms), outcome.timings_ms
    return PhotoTime(path.name, source, None, outcome.reason, ms), None


def _summary(rows: list[PhotoTime], stages: list[dict[str, float]]) -> OcrBench:
    read = [r.ms for r in rows if r.reason is None]
    if not read:
        raise RuntimeError("no photo was read as a page, not even a synthetic one: the reader is broken")
    refused = [r for r in rows if r.reason is not None]
    pages = spread(read)
    synthetic = sum(r.source == SYNTHETIC for r in rows)
    return OcrBench(
        pages=len(rows),
        synthetic_pages=synthetic,
        real_pages=len(rows) - synthetic,
        ms_per_page_mean=pages.mean,
        ms_per_page_median=pages.median,
        ms_per_page_p90=pages.p90,
        ms_per_page_p99=pages.p99,
        ms_per_page_max=pages.max,
        stage_ms_mean={
            stage: round(sum(s.get(stage, 0.0) for s in stages) / len(stages), 1)
            for stage in dict.fromkeys(k for s in stages for k in s)
        },
        rejected=len(refused),
        rejected_ms=spread([r.ms for r in refused]) if refused else None,
        rejected_by_reason=dict(Counter(str(r.reason) for r in refused).most_common()),
        target_mean_ms=TARGET_MEAN_MS,
        target_p99_ms=TARGET_P99_MS,
        photos=rows,
    )


def spread(ms: list[float]) -> Spread:
    ordered = sorted(ms)
    return Spread(
        mean=round(statistics.fmean(ordered), 1),
        median=round(statistics.median(ordered), 1),
        p90=percentile(ordered, 90),
        p99=percentile(ordered, 99),
        max=ordered[-1],
    )


def percentile(ordered: list[float], p: int) -> float:
    """Nearest rank: the smallest value with at least ``p`` % of the values at or below it."""
    rank = -(-p * len(ordered) // 100)  # ceil in integers, so that 99 % of 100 is rank 99
    return ordered[max(rank, 1) - 1]
