"""Score the reader against labelled photos (``rekap ocr eval``).

Labels follow ``images_index.csv``: one row per photo with its TPS's numbers. The page of each
photo is not given (the reader must find it); photos of one TPS are decoded together.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections import defaultdict
from pathlib import Path

import msgspec

from ocr.decode import TpsDecoding, decode
from ocr.form import PAGE_OF, VOTE_FIELDS
from ocr.reader import read_page
from ocr.reading import PageReading, Rejected

LABEL_COLUMNS = {
    "suara_paslon_1": "paslon_01",
    "suara_paslon_2": "paslon_02",
    "suara_paslon_3": "paslon_03",
    "suara_sah": "suara_sah",
    "suara_tidak_sah": "suara_tidak_sah",
    "suara_total": "total_suara",
}


class Disagreement(msgspec.Struct, frozen=True):
    tps: str
    file: str
    field: str
    label: int | None
    value: int | None
    """The decoder's choice."""
    read: int | None
    """What the field's own boxes read."""
    accepted: bool
    reason: str


class Evaluation(msgspec.Struct):
    photos: int
    tps: int
    page_id_accuracy: float
    rejected: dict[str, str]
    field_accuracy: float
    """Share of the labelled vote fields whose decoded value equals the label."""
    read_accuracy: float
    """The same for the boxes' own reading, before the arithmetic was used."""
    fields_compared: int
    auto_accept_rate: float
    auto_accepted_wrong: int
    ms_per_page_median: float
    disagreements: list[Disagreement]


def load_labels(path: Path) -> dict[str, list[dict[str, str]]]:
    by_tps: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            by_tps[row["kode_tps"]].append(row)
    return by_tps


def _label(row: dict[str, str], field: str) -> int | None:
    raw = row.get(LABEL_COLUMNS[field], "").strip()
    return int(raw) if raw.isdigit() else None


def evaluate(images: Path, labels: Path) -> Evaluation:
    by_tps = load_labels(labels)
    times: list[float] = []
    rejected: dict[str, str] = {}
    identified = photos = compared = right = read_right = wrong_accepts = accepted_tps = 0
    disagreements: list[Disagreement] = []
    for tps, rows in sorted(by_tps.items()):
        pages: list[PageReading] = []
        source: dict[str, str] = {}
        for row in rows:
            photos += 1
            start = time.perf_counter()
            outcome = read_page((images / row["file"]).read_bytes())
            times.append((time.perf_counter() - start) * 1000)
            if isinstance(outcome, Rejected):
                rejected[row["file"]] = f"{outcome.reason}: {outcome.detail or outcome.message}"
                continue
            identified += 1
            pages.append(outcome)
            for f in outcome.fields:
                source[f.name] = row["file"]
        decoded = decode(pages)
        accepted_tps += _score_tps(tps, rows[0], decoded, source, disagreements)
        for field in VOTE_FIELDS:
            label = _label(rows[0], field)
            if label is None:
                continue
            compared += 1
            got = decoded.fields.get(field)
            read_right += got is not None and (got.read or 0) == label
            if got is not None and got.value == label:
                right += 1
            elif got is not None and got.accepted:
                wrong_accepts += 1
    return Evaluation(
        photos=photos,
        tps=len(by_tps),
        page_id_accuracy=round(identified / photos, 4) if photos else 0.0,
        rejected=rejected,
        field_accuracy=round(right / compared, 4) if compared else 0.0,
        read_accuracy=round(read_right / compared, 4) if compared else 0.0,
        fields_compared=compared,
        auto_accept_rate=round(accepted_tps / len(by_tps), 4) if by_tps else 0.0,
        auto_accepted_wrong=wrong_accepts,
        ms_per_page_median=round(statistics.median(times), 1) if times else 0.0,
        disagreements=disagreements,
    )


def _score_tps(
    tps: str, row: dict[str, str], decoded: TpsDecoding, source: dict[str, str], out: list[Disagreement]
) -> int:
    """Record the TPS's disagreements; 1 when every labelled field was accepted automatically."""
    all_accepted = True
    for field in VOTE_FIELDS:
        label = _label(row, field)
        got = decoded.fields.get(field)
        if got is None or not got.accepted:
            all_accepted = False
        if got is None:
            out.append(
                Disagreement(
                    tps, "", field, label, None, None, False, f"page {PAGE_OF[field].value} not read"
                )
            )
        elif got.value != label:
            out.append(
                Disagreement(
                    tps, source.get(field, ""), field, label, got.value, got.read, got.accepted, got.reason
                )
            )
    return int(all_accepted)
