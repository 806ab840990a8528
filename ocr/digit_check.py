"""The digit model on a folder or tarball of labelled box crops (``rekap ocr digits``).

Crops are read exactly as the reader reads a box cut from a page (``fields.read_boxes``: an empty
box is class 0, like an X), so the figures are the model's as the reader uses it. A crop counts as
accepted when its digit's probability reaches ``CONFIDENT``, the share of the probability the
decoder asks of a value before it accepts it without a person (``decode.ACCEPT``).
"""

from __future__ import annotations

import csv
import tarfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import msgspec
import numpy as np

from ocr import fields
from ocr.cells import Gray
from ocr.decode import ACCEPT
from ocr.digits import model


class UnseenWriters(msgspec.Struct, frozen=True):
    """The crops of TPS whose writers the model was never trained on (labels with ``kode_tps``)."""

    crops: int
    tps: int
    accuracy: float
    accepted_share: float
    accepted_accuracy: float
    calibration_error: float


class DigitCheck(msgspec.Struct, frozen=True):
    crops: int
    accuracy: float
    per_digit_accuracy: dict[str, float]
    confusion: list[list[int]]
    """Rows: the true digit 0–9; columns: the digit read."""
    confident: float
    accepted_share: float
    """Share of crops read at ``confident`` or more."""
    accepted_accuracy: float
    """Accuracy among those."""
    calibration_error: float
    """Expected calibration error: over ten bins of confidence, the crop-weighted gap between the
    mean confidence and the accuracy (0 when the model is exactly as sure as it is right)."""
    missing: int
    """Labelled files not found or not decodable."""
    model_version: str
    unseen_writers: UnseenWriters | None = None
    """Present when the labels name each crop's ``kode_tps``: the writer-disjoint figures."""


class CropError(ValueError):
    """A labels file or crop folder that does not say what this module expects."""


def check(images: Path, labels: Path) -> DigitCheck:
    wanted = labels_of(labels)
    tps = tps_of(labels)
    found: dict[str, Gray] = dict(crops_in(images, set(wanted)))
    names = sorted(found)
    truth = np.array([wanted[n] for n in names], int)
    probs, _ = fields.read_boxes([found[n] for n in names]) if names else (np.zeros((0, 10)), [])
    read, confidence = probs.argmax(axis=1), probs.max(axis=1)
    sure = confidence >= ACCEPT
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (truth, read), 1)
    right = read == truth
    return DigitCheck(
        crops=len(names),
        accuracy=_share(right),
        per_digit_accuracy={str(d): _share(right[truth == d]) for d in range(10)},
        confusion=confusion.tolist(),
        confident=ACCEPT,
        accepted_share=_share(sure),
        accepted_accuracy=_share(right[sure]),
        calibration_error=_calibration_error(confidence, right),
        missing=len(wanted) - len(names),
        model_version=model().version,
        unseen_writers=_unseen(names, tps, right, confidence) if tps else None,
    )


def _unseen(
    names: list[str], tps: dict[str, str], right: np.ndarray, confidence: np.ndarray
) -> UnseenWriters:
    card = model().card
    unseen = np.array([name in tps and card.unseen(tps[name]) for name in names], bool)
    sure = confidence >= ACCEPT
    return UnseenWriters(
        crops=int(unseen.sum()),
        tps=len({tps[name] for name, flag in zip(names, unseen, strict=True) if flag}),
        accuracy=_share(right[unseen]),
        accepted_share=_share(sure[unseen]),
        accepted_accuracy=_share(right[unseen & sure]),
        calibration_error=_calibration_error(confidence[unseen], right[unseen]),
    )


def _calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    if not confidence.size:
        return 0.0
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [
        abs(float(confidence[which == b].mean()) - float(right[which == b].mean())) * (which == b).sum()
        for b in range(bins)
        if (which == b).any()
    ]
    return round(float(sum(gaps)) / confidence.size, 4)


def _share(flags: np.ndarray) -> float:
    return round(float(flags.mean()), 4) if flags.size else 0.0


def labels_of(path: Path) -> dict[str, int]:
    """``file,label`` (other columns ignored); a label is a digit 0–9."""
    with path.open(newline="") as handle:
        rows = csv.DictReader(handle)
        if not {"file", "label"} <= set(rows.fieldnames or ()):
            raise CropError(f"{path}: needs the columns file,label")
        out = {}
        for line, row in enumerate(rows, start=2):
            if not row["label"].isdigit() or len(row["label"]) != 1:
                raise CropError(f"{path}:{line}: label {row['label']!r} is not a digit 0–9")
            out[Path(row["file"]).name] = int(row["label"])
    return out


def tps_of(path: Path) -> dict[str, str]:
    """File name → ``kode_tps``, when the labels have that column (else empty)."""
    with path.open(newline="") as handle:
        rows = csv.DictReader(handle)
        if "kode_tps" not in (rows.fieldnames or ()):
            return {}
        return {Path(row["file"]).name: row["kode_tps"] for row in rows if row["kode_tps"]}


def crops_in(images: Path, wanted: set[str]) -> Iterator[tuple[str, Gray]]:
    """(file name, grey image) of each labelled crop in a folder or a ``.tar.gz``, by file name."""
    if images.is_dir():
        for path in sorted(images.rglob("*")):
            if path.name in wanted and (image := _decoded(path.read_bytes())) is not None:
                yield path.name, image
        return
    if not tarfile.is_tarfile(images):
        raise CropError(f"{images}: neither a folder nor a tarball of crops")
    with tarfile.open(images) as archive:
        for member in archive:
            name = Path(member.name).name
            data = archive.extractfile(member) if member.isfile() and name in wanted else None
            if data is not None and (image := _decoded(data.read())) is not None:
                yield name, image


def _decoded(data: bytes) -> Gray | None:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    return None if image is None or image.size == 0 else image
