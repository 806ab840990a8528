"""The digit model: a small convolutional network, run by OpenCV's ``cv2.dnn`` from ONNX.

Trained by ``ocr/training.py`` (``rekap ocr train``, which alone needs PyTorch); the network is
committed as ``data/digits.onnx`` and what the reader needs to know of it (its version, the
softening that makes its probabilities honest, which writers it never saw) as
``data/digits.json``. Class 0 also stands for an empty or crossed-out box, as in the real
training crops: both mean "no digit here", which contributes 0 to the number.
"""

from __future__ import annotations

import threading
import zlib
from pathlib import Path
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr import cells

MODEL_FILE = Path(__file__).parent / "data" / "digits.onnx"


class ModelCard(msgspec.Struct, frozen=True):
    """``digits.json``, beside the network."""

    version: str
    temperature: float
    """Logits are divided by it before the softmax (fitted on writers not trained on)."""
    held_out_share: int
    """The crops of a TPS are kept out of training when ``crc32(kode_tps) % held_out_share == 0``."""

    def unseen(self, kode_tps: str) -> bool:
        """Whether the model was trained without this TPS's writers."""
        return zlib.crc32(kode_tps.encode()) % self.held_out_share == 0


def card_path(model_file: Path) -> Path:
    return model_file.with_suffix(".json")


class DigitModel:
    def __init__(self, path: Path = MODEL_FILE) -> None:
        self.card = msgspec.json.decode(card_path(path).read_bytes(), type=ModelCard)
        self.version = self.card.version
        self._path = path
        self._local = threading.local()

    def _net(self) -> Any:
        # A cv2.dnn network keeps per-call state: one per thread.
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = cv2.dnn.readNetFromONNX(str(self._path))
        return net

    def logits(self, boxes: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Rows of ``cells.planes`` → rows of ten scores."""
        if not len(boxes):
            return np.zeros((0, 10), np.float32)
        net = self._net()
        net.setInput(np.ascontiguousarray(boxes, np.float32))
        return np.asarray(net.forward(), np.float32).reshape(len(boxes), 10)

    def probabilities(self, boxes: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Rows of planes → rows of ten probabilities (digits 0–9), softened to be honest."""
        x = self.logits(boxes).astype(np.float64) / self.card.temperature
        x = x - x.max(axis=1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


_models: dict[Path, DigitModel] = {}
_lock = threading.Lock()


def model(path: Path = MODEL_FILE) -> DigitModel:
    with _lock:
        if path not in _models:
            _models[path] = DigitModel(path)
        return _models[path]


def forget(path: Path = MODEL_FILE) -> None:
    """Drop the loaded model (after training wrote a new one)."""
    with _lock:
        _models.pop(path, None)


def classify(images: list[cells.Gray]) -> npt.NDArray[Any]:
    """Ten probabilities for each box image."""
    planes = np.stack([cells.planes(img) for img in images]) if images else np.zeros((0, 2, 32, 32))
    return model().probabilities(planes)
