"""Train the digit model, reproducibly and offline (``rekap ocr train``).

Data: the labelled real crops of ``c1_handwritten_digits`` (read from the tarball as shipped)
plus synthetic boxes drawn by ``ocr.synth.handwriting`` (OpenCV's Hershey script and plain
fonts, and seven-segment strokes like the dotted guide invites), each cut and prepared exactly
like a box on a photographed page. A fixed seed makes two runs give the same weights.
Needs scikit-learn (the ``train`` extra); the reader itself needs only numpy.
"""

from __future__ import annotations

import csv
import tarfile
from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr import cells, digits
from ocr.synth.handwriting import box_image

HIDDEN = 256


class TrainingReport(msgspec.Struct):
    real_crops: int
    synthetic_boxes: int
    held_out: int
    held_out_accuracy: float
    held_out_real_accuracy: float
    model: str


def real_crops(folder: Path) -> tuple[list[cells.Gray], list[int]]:
    labels = {}
    with (folder / "labels.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            labels[row["file"]] = int(row["label"])
    images, targets = [], []
    with tarfile.open(folder / "DataSet_03.tar.gz") as archive:
        for member in archive:
            if member.name not in labels:
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None
            image = cv2.imdecode(np.frombuffer(extracted.read(), np.uint8), cv2.IMREAD_GRAYSCALE)
            if image is not None:
                images.append(image)
                targets.append(labels[member.name])
    return images, targets


def synthetic_boxes(count: int, seed: int) -> tuple[list[cells.Gray], list[int]]:
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for i in range(count):
        digit = i % 10
        crossed = digit == 0 and rng.random() < 0.4
        images.append(box_image(None if crossed else digit, rng))
        targets.append(digit)
    return images, targets


def train(
    digit_folder: Path | None, *, synthetic: int, seed: int, out: Path = digits.MODEL_FILE
) -> TrainingReport:
    from sklearn.neural_network import MLPClassifier  # training-only dependency

    images: list[cells.Gray] = []
    targets: list[int] = []
    real = 0
    if digit_folder is not None:
        images, targets = real_crops(digit_folder)
        real = len(images)
    extra, extra_targets = synthetic_boxes(synthetic, seed)
    images += extra
    targets += extra_targets
    x = np.asarray([cells.features(img) for img in images], np.float32)
    y = np.asarray(targets)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    held = order[: len(y) // 5]
    fit = order[len(y) // 5 :]
    mean, scale = x[fit].mean(axis=0), x[fit].std(axis=0) + 1e-3
    net = MLPClassifier((HIDDEN,), alpha=1e-2, max_iter=500, random_state=seed)
    net.fit((x[fit] - mean) / scale, y[fit])
    version = f"mlp{HIDDEN}-real{real}-synth{synthetic}-seed{seed}"
    weights: dict[str, npt.NDArray[Any] | int | str] = {
        "mean": mean,
        "scale": scale,
        "depth": len(net.coefs_),
        "version": version,
    }
    for i, (w, b) in enumerate(zip(net.coefs_, net.intercepts_, strict=True)):
        weights[f"w{i}"] = w.astype(np.float32)
        weights[f"b{i}"] = b.astype(np.float32)
    digits.save(out, weights)
    digits.model.cache_clear()
    trained = digits.model(out)
    predicted = trained.probabilities(x[held]).argmax(axis=1)
    is_real = held < real
    return TrainingReport(
        real_crops=real,
        synthetic_boxes=synthetic,
        held_out=len(held),
        held_out_accuracy=round(float((predicted == y[held]).mean()), 4),
        held_out_real_accuracy=round(float((predicted[is_real] == y[held][is_real]).mean()), 4)
        if is_real.any()
        else 0.0,
        model=version,
    )
