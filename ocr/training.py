"""Train the digit model, reproducibly and offline (``rekap ocr train``).

Data: every real writer we have — the crops of ``c1_handwritten_digits`` (source unknown: a
random fifth held out) and of ``c1_digits_ds9`` (1,538 TPS: the TPS with
``crc32(kode_tps) % 5 == 0`` held out, so the held-out figure is on writers never seen) and the
boxes the reader cuts from the labelled pages of ``c1_form_images`` — each also as photographed
copies, plus synthetic boxes from ``ocr.synth.handwriting``. Every image is
prepared by ``cells.planes``, exactly as a box cut from a page. A small convolutional network is
trained with PyTorch (the ``train`` extra, installed by the command; the reader never imports
it), its scores softened on the held-out crops, and exported to ONNX for ``cv2.dnn``. A fixed
seed and one thread make two runs give the same weights.
"""

from __future__ import annotations

import csv
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr import cells, digits
from ocr.digit_check import crops_in, labels_of, tps_of
from ocr.synth.handwriting import box_image

HELD_OUT_SHARE = 5
WIDTH = 24
"""Channels of the first convolution (doubled at each of three stages)."""
EPOCHS = 12
BATCH = 128


class TrainingReport(msgspec.Struct):
    train_crops: int
    """Real crops trained on (before their photographed copies)."""
    synthetic_boxes: int
    held_out_unseen_tps: int
    """Crops of ``c1_digits_ds9`` from TPS the model never saw."""
    held_out_unseen_tps_accuracy: float
    held_out_random: int
    held_out_random_accuracy: float
    """``c1_handwritten_digits`` split at random: its writers may be on both sides."""
    temperature: float
    seconds: float
    model: str


def synthetic_boxes(count: int, seed: int) -> tuple[list[cells.Gray], list[int]]:
    rng = np.random.default_rng(seed)
    images, targets = [], []
    for i in range(count):
        digit = i % 10
        kind = rng.random() if digit == 0 else 1.0
        # Class 0 is a zero or no digit: a written 0, an X or a dash, or a 0 crossed out.
        if kind < 0.5:
            images.append(box_image(None, rng, dash=rng.random() < 0.4))
        else:
            images.append(box_image(digit, rng, crossed=kind < 0.7))
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


class _Split(msgspec.Struct):
    train: list[tuple[cells.Gray, int]]
    unseen_tps: list[tuple[cells.Gray, int]]
    random: list[tuple[cells.Gray, int]]


def _real(handwritten: Path, ds9: Path, rng: np.random.Generator, card: digits.ModelCard) -> _Split:
    split = _Split([], [], [])
    labels = labels_of(handwritten / "labels.csv")
    crops = [
        (image, labels[name]) for name, image in crops_in(handwritten / "DataSet_03.tar.gz", set(labels))
    ]
    held = set(rng.permutation(len(crops))[: len(crops) // HELD_OUT_SHARE].tolist())
    for i, crop in enumerate(crops):
        (split.random if i in held else split.train).append(crop)
    labels = labels_of(ds9 / "labels.csv")
    tps = tps_of(ds9 / "labels.csv")
    for name, image in crops_in(ds9 / "DS-9.tar.gz", set(labels)):
        (split.unseen_tps if card.unseen(tps[name]) else split.train).append((image, labels[name]))
    return split


def page_crops(
    folder: Path, page1: Path | None, *, votes: bool = True, seen: Callable[[str], bool] = lambda _: True
) -> list[tuple[cells.Gray, int]]:
    """The boxes the reader itself cuts from the labelled photos of ``folder`` (``images_index.csv``
    with the vote fields unless ``votes`` is false, as for Sirekap's unverified numbers; page 1's
    fields from ``page1``, read by eye) of the TPS ``seen`` lets in, each box labelled with its
    digit of the known number (a leading position, X or empty, is class 0)."""
    from ocr.evaluate import LABEL_COLUMNS, load_page1
    from ocr.reader import page_boxes

    known_page1 = load_page1(page1) if page1 is not None else {}
    out: list[tuple[cells.Gray, int]] = []
    with (folder / "images_index.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if not seen(row["kode_tps"]):
            continue
        cut = page_boxes((folder / "images" / row["file"]).read_bytes())
        if cut is None:
            continue
        truth = {name: row.get(column, "") for name, column in LABEL_COLUMNS.items()}
        numbers = {n: int(v) for n, v in truth.items() if votes and v.strip().isdigit()}
        numbers |= known_page1.get(row["kode_tps"], {})
        for name, images in cut[1].items():
            if (value := numbers.get(name)) is not None and 0 <= value <= 999:
                digits = (value // 100, value // 10 % 10, value % 10)
                out += [(image, digit) for image, digit in zip(images, digits, strict=True) if image.size]
    return out


def _network(torch: Any) -> Any:
    nn = torch.nn

    def stage(into: int, out: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(into, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)
        )

    side = cells.SIZE // 8
    return nn.Sequential(
        stage(cells.PLANES, WIDTH),
        stage(WIDTH, 2 * WIDTH),
        stage(2 * WIDTH, 4 * WIDTH),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Linear(4 * WIDTH * side * side, 128),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, 10),
    )


def _jitter(torch: Any, x: Any) -> Any:
    """Each batch moved, turned and scaled a little: a box is never cut at the same place twice."""
    n = x.shape[0]
    scale = 1 + (torch.rand(n) - 0.5) * 0.2
    turn = (torch.rand(n) - 0.5) * 0.2
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = scale * torch.cos(turn)
    theta[:, 0, 1] = -scale * torch.sin(turn)
    theta[:, 1, 0] = scale * torch.sin(turn)
    theta[:, :, 2] = (torch.rand(n, 2) - 0.5) * 0.16
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, align_corners=False)


def _temperature(logits: npt.NDArray[Any], labels: npt.NDArray[Any]) -> float:
    """The softening of the network's scores that makes held-out probabilities honest (least NLL)."""
    best, best_loss = 1.0, float("inf")
    for t in np.arange(0.5, 6.01, 0.05):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = float(-log_p[np.arange(len(labels)), labels].mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return round(best, 2)


def _planes(crops: list[tuple[cells.Gray, int]]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    x = np.stack([cells.planes(image) for image, _ in crops]) if crops else np.zeros((0, 2, 32, 32))
    return x.astype(np.float32), np.array([label for _, label in crops], np.int64)


def part_crops(folder: Path, card: digits.ModelCard) -> list[tuple[cells.Gray, int]]:
    """The boxes the part reader cuts from ``c1_page2_crops`` (labels ``tps,suara_paslon_1..3``),
    of the TPS the model may see (``card.unseen`` keeps a fifth out, to measure), each labelled
    with its digit of the known number. A row counts only where every blackened bubble is the
    label's digit: the row is then surely that pair's, its boxes what the hand wrote there."""
    from ocr.imagefile import Unreadable, decode_gray
    from ocr.part import part_boxes

    out: list[tuple[cells.Gray, int]] = []
    with (folder / "labels.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if card.unseen(row["tps"]):
            continue
        try:
            found = part_boxes(decode_gray((folder / "images" / f"{row['tps']}.jpg").read_bytes()))
        except Unreadable:
            continue
        for name, (reading, images) in (found or {}).items():
            value = int(row[name])
            digits_of = (value // 100, value // 10 % 10, value % 10)
            bubbles = reading.bubbles or [None, None, None]
            marked = list(zip(bubbles, digits_of, strict=True))
            if bubbles[-1] is None or any(b is not None and b != d for b, d in marked):
                continue
            out += [(image, digit) for image, digit in zip(images, digits_of, strict=True) if image.size]
    return out


def train(
    data: Path | None,
    page1: Path | None = None,
    *,
    synthetic: int,
    seed: int,
    out: Path = digits.MODEL_FILE,
    copies: int = 2,
    epochs: int = EPOCHS,
) -> TrainingReport:
    """``data``: the shared data folder (``c1_handwritten_digits``, ``c1_digits_ds9``,
    ``c1_form_images``); ``None`` trains on synthetic boxes alone (the reproducibility test).
    ``page1``: page 1's numbers of real TPS read by eye (``tests/resources/page1_labels.csv``)."""
    # Training-only dependency (the ``train`` extra), untyped here whether installed or not.
    torch: Any = importlib.import_module("torch")

    started = time.monotonic()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    card = digits.ModelCard(version="", temperature=1.0, held_out_share=HELD_OUT_SHARE)
    split = (
        _real(data / "c1_handwritten_digits", data / "c1_digits_ds9", rng, card)
        if data is not None
        else _Split([], [], [])
    )
    if data is not None:
        # Real pages: the 20 TPS of c1_form_images, and page 1 (read by eye) of four fifths of the
        # TPS of c1_form_images_unverified (the fifth that card.unseen names stays unseen).
        split.train += page_crops(data / "c1_form_images", page1)
        if (data / "c1_form_images_unverified").is_dir():
            split.train += page_crops(
                data / "c1_form_images_unverified",
                page1,
                votes=False,
                seen=lambda tps: not card.unseen(tps),
            )
        # Page 2's vote part of four fifths of the 500 TPS of c1_page2_crops (a fifth unseen).
        if (data / "c1_page2_crops").is_dir():
            split.train += part_crops(data / "c1_page2_crops", card)
    real = len(split.train)
    crops = list(split.train)
    for _ in range(copies):
        crops += [(photographed(image, rng), label) for image, label in split.train]
    drawn = list(zip(*synthetic_boxes(synthetic, seed), strict=True))
    cut = len(drawn) // HELD_OUT_SHARE
    crops += drawn[cut:]
    x, y = (torch.from_numpy(a) for a in _planes(crops))
    net = _network(torch)
    steps = epochs * -(-len(x) // BATCH)
    optimiser = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, 3e-3, total_steps=steps)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), BATCH):
            batch = order[start : start + BATCH]
            loss = torch.nn.functional.cross_entropy(
                net(_jitter(torch, x[batch])), y[batch], label_smoothing=0.05
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        torch.zeros(1, cells.PLANES, cells.SIZE, cells.SIZE),
        str(out),
        input_names=["boxes"],
        output_names=["logits"],
        dynamic_axes={"boxes": {0: "n"}, "logits": {0: "n"}},
        dynamo=False,
        opset_version=13,
    )
    held_x, held_y = _planes(split.unseen_tps + split.random + drawn[:cut])
    with torch.no_grad():
        held_logits = net(torch.from_numpy(held_x)).numpy()
    version = f"cnn{WIDTH}-real{real}x{copies + 1}-synth{synthetic}-seed{seed}"
    card = digits.ModelCard(version, _temperature(held_logits, held_y), HELD_OUT_SHARE)
    digits.card_path(out).write_bytes(msgspec.json.format(msgspec.json.encode(card)) + b"\n")
    digits.forget(out)
    read = digits.model(out).probabilities(held_x).argmax(axis=1) == held_y
    unseen = len(split.unseen_tps)
    return TrainingReport(
        train_crops=real,
        synthetic_boxes=synthetic,
        held_out_unseen_tps=unseen,
        held_out_unseen_tps_accuracy=round(float(read[:unseen].mean()), 4) if unseen else 0.0,
        held_out_random=len(split.random),
        held_out_random_accuracy=round(float(read[unseen : unseen + len(split.random)].mean()), 4)
        if split.random
        else 0.0,
        temperature=card.temperature,
        seconds=round(time.monotonic() - started, 1),
        model=version,
    )
