"""Time the reader on one core, end to end per page, and where the time goes (``rekap bench ocr``)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2
import msgspec

from ocr.reader import read_page
from ocr.reading import PageReading
from ocr.synth.pages import generate


class OcrBench(msgspec.Struct):
    pages: int
    synthetic_pages: int
    real_pages: int
    ms_per_page_median: float
    ms_per_page_p90: float
    stage_ms_median: dict[str, float]
    rejected: int
    target_ms: float
    ratio_to_target: float


TARGET_MS = 400.0


def bench(forms: Path, real: Path | None, *, quick: bool, seed: int = 2024) -> OcrBench:
    cv2.setNumThreads(1)
    photos: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp:
        generate(forms, Path(tmp), 6 if quick else 30, seed)
        photos += [p.read_bytes() for p in sorted(Path(tmp).glob("*.jpg"))]
    synthetic = len(photos)
    if real is not None and real.is_dir():
        photos += [p.read_bytes() for p in sorted(real.glob("*.jpg"))[: 6 if quick else 60]]
    read_page(photos[0])  # load the model and templates outside the timing
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    rejected = 0
    for data in photos:
        start = time.perf_counter()
        outcome = read_page(data)
        totals.append((time.perf_counter() - start) * 1000)
        if isinstance(outcome, PageReading):
            for stage, ms in outcome.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
        else:
            rejected += 1
    median = statistics.median(totals)
    return OcrBench(
        pages=len(photos),
        synthetic_pages=synthetic,
        real_pages=len(photos) - synthetic,
        ms_per_page_median=round(median, 1),
        ms_per_page_p90=round(sorted(totals)[int(0.9 * (len(totals) - 1))], 1),
        stage_ms_median={k: round(statistics.median(v), 1) for k, v in stages.items()},
        rejected=rejected,
        target_ms=TARGET_MS,
        ratio_to_target=round(median / TARGET_MS, 3),
    )
