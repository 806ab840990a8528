"""Train the digit model, reproducibly and offline (``rekap ocr train``).

Data: the labelled real crops of ``c1_handwritten_digits`` (read from the tarball as shipped)
plus synthetic boxes drawn by ``ocr.synth.handwriting`` (OpenCV's Hershey script and plain
fonts, and seven-segment strokes like the dotted guide invites), each cut and prepared exactly
like a box on a photographed page. A fixed seed makes two runs give the same weights.
Needs scikit-learn (the ``train`` extra); the reader itself needs only numpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr import cells, digits
from ocr.digit_check import crops_in, labels_of
from ocr.synth.handwriting import box_image

HIDDEN = 256


class TrainingReport(msgspec.Struct):
    real_crops: int
    synthetic_boxes: int
    held_out: int
    held_out_accuracy: float
    held_out_real_accuracy: float
    """On photographed copies of real crops the network never saw."""
    model: str
    temperature: float


def real_crops(folder: Path) -> tuple[list[cells.Gray], list[int]]:
    """The labelled crops of ``c1_handwritten_digits``, in the archive's order."""
    labels = labels_of(folder / "labels.csv")
    found = list(crops_in(folder / "DataSet_03.tar.gz", set(labels)))
    return [image for _, image in found], [labels[name] for name, _ in found]


def synthetic_boxes(count: int, seed: int) -> tuple[list[cells.Gray], list[int]]:
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for i in range(count):
        digit = i % 10
        crossed = digit == 0 and rng.random() < 0.4
        images.append(box_image(None if crossed else digit, rng))
        targets.append(digit)
    return images, targets


def photographed(image: cells.Gray, rng: np.random.Generator) -> cells.Gray:
    """The crop as a phone photo of the page would give it: resampled, soft, low in contrast,
    compressed, and cut a little off-centre."""
    h, w = image.shape
    m = rng.uniform(-0.1, 0.12, 4)
    sides = (h, h, w, w)
    pad_top, pad_bottom, pad_left, pad_right = (max(0, int(-v * s)) for v, s in zip(m, sides, strict=True))
    grown = cv2.copyMakeBorder(image, pad_top, pad_bottom, pad_left, pad_right, cv2.BORDER_REPLICATE)
    top, bottom, left, right = (max(0, int(v * s)) for v, s in zip(m, sides, strict=True))
    cut = grown[top : grown.shape[0] - bottom or None, left : grown.shape[1] - right or None]
    shrink = rng.uniform(0.45, 1.1)
    small = cv2.resize(cut, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    soft = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.1, 1.2))
    faded = soft.astype(np.float32) * rng.uniform(0.35, 1.0) + rng.uniform(0, 110)
    noisy = np.clip(faded + rng.normal(0, rng.uniform(0.5, 6), faded.shape), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE) if ok else None
    return noisy if decoded is None else decoded


def _temperature(logits: npt.NDArray[Any], labels: npt.NDArray[Any]) -> float:
    """The softening of the network's scores that makes held-out probabilities honest (least NLL)."""
    best, best_loss = 1.0, float("inf")
    for t in np.arange(0.5, 6.01, 0.1):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = float(-log_p[np.arange(len(labels)), labels].mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return round(best, 2)


def train(
    digit_folder: Path | None, *, synthetic: int, seed: int, out: Path = digits.MODEL_FILE, copies: int = 2
) -> TrainingReport:
    from sklearn.neural_network import MLPClassifier  # training-only dependency

    rng = np.random.default_rng(seed)
    images: list[cells.Gray] = []
    targets: list[int] = []
    if digit_folder is not None:
        images, targets = real_crops(digit_folder)
    real = len(images)
    order = rng.permutation(real)
    held_real = set(order[: real // 5].tolist())
    # Each real crop also goes in as photographed copies; a crop's copies stay on its side of the split.
    train_images = [images[i] for i in range(real) if i not in held_real]
    train_targets = [targets[i] for i in range(real) if i not in held_real]
    for _ in range(copies):
        train_images += [photographed(img, rng) for img in train_images[: real - len(held_real)]]
        train_targets += train_targets[: real - len(held_real)]
    held_images = [photographed(images[i], rng) for i in sorted(held_real)]
    held_targets = [targets[i] for i in sorted(held_real)]
    extra, extra_targets = synthetic_boxes(synthetic, seed)
    cut = len(extra) // 5
    train_images += extra[cut:]
    train_targets += extra_targets[cut:]
    x = np.asarray([cells.features(img) for img in train_images], np.float32)
    y = np.asarray(train_targets)
    x_held = np.asarray([cells.features(img) for img in held_images + extra[:cut]], np.float32).reshape(
        -1, x.shape[1]
    )
    y_held = np.asarray(held_targets + extra_targets[:cut])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-3
    net = MLPClassifier((HIDDEN,), alpha=1e-2, max_iter=300, random_state=seed)
    net.fit((x - mean) / scale, y)
    version = f"mlp{HIDDEN}-real{real}x{copies + 1}-synth{synthetic}-seed{seed}"
    weights: dict[str, npt.NDArray[Any] | int | str | float] = {
        "mean": mean,
        "scale": scale,
        "depth": len(net.coefs_),
        "version": version,
        "temperature": 1.0,
    }
    for i, (w, b) in enumerate(zip(net.coefs_, net.intercepts_, strict=True)):
        weights[f"w{i}"] = w.astype(np.float32)
        weights[f"b{i}"] = b.astype(np.float32)
    weights["temperature"] = _temperature(digits.DigitModel(weights).logits(x_held), y_held)  # type: ignore[arg-type]
    digits.save(out, weights)
    digits.model.cache_clear()
    predicted = digits.model(out).probabilities(x_held).argmax(axis=1)
    is_real = np.arange(len(y_held)) < len(held_targets)
    return TrainingReport(
        real_crops=real,
        synthetic_boxes=synthetic,
        held_out=len(y_held),
        held_out_accuracy=round(float((predicted == y_held).mean()), 4),
        held_out_real_accuracy=round(float((predicted[is_real] == y_held[is_real]).mean()), 4)
        if is_real.any()
        else 0.0,
        model=version,
        temperature=float(weights["temperature"]),
    )
