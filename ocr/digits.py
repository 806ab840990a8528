"""The digit model: a small neural network over ``cells.features``, run with numpy.

Trained by ``ocr/training.py`` (``rekap ocr train``); its weights are committed in
``data/digits.npz``. Class 0 also stands for an empty or crossed-out box, as in the real
training crops: both mean "no digit here", which contributes 0 to the number.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ocr.cells import Features

MODEL_FILE = Path(__file__).parent / "data" / "digits.npz"


class DigitModel:
    def __init__(self, weights: dict[str, npt.NDArray[Any]]) -> None:
        self.mean = weights["mean"]
        self.scale = weights["scale"]
        self.layers = [(weights[f"w{i}"], weights[f"b{i}"]) for i in range(int(weights["depth"]))]
        self.version = str(weights["version"])
        self.temperature = float(weights.get("temperature", 1.0))

    def logits(self, features: npt.NDArray[Any]) -> npt.NDArray[Any]:
        x = (np.atleast_2d(features) - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0)
        return x  # type: ignore[no-any-return]

    def probabilities(self, features: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Rows of features → rows of ten probabilities (digits 0–9), softened to be honest."""
        x = self.logits(features) / self.temperature
        x = x - x.max(axis=1, keepdims=True)
        e = np.exp(x.astype(np.float64))
        return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def save(path: Path, weights: dict[str, npt.NDArray[Any] | int | str | float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **weights)  # type: ignore[arg-type]


@cache
def model(path: Path = MODEL_FILE) -> DigitModel:
    with np.load(path) as data:
        return DigitModel({k: data[k] for k in data.files})


def classify(rows: list[Features]) -> npt.NDArray[Any]:
    return model().probabilities(np.asarray(rows, np.float32))
