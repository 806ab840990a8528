"""The committed artefacts can be rebuilt from their sources by the project's own scripts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ocr import cells, digits, keypoints, templates
from ocr.training import synthetic_boxes, train
from tests.conftest import forms_dir


def test_templates_rebuild_from_the_blank_form_to_the_committed_file() -> None:
    built = templates.build(forms_dir())
    assert {t.page: t for t in built} == templates.templates()
    page1 = templates.templates()[templates.Page.ADMINISTRASI]
    assert len(page1.fields) == 22 and all(len(boxes) == 3 for boxes in page1.fields.values())
    assert all(
        len(col) == 10
        for cols in templates.templates()[templates.Page.PASLON].bubbles.values()
        for col in cols
    )


def test_keypoints_rebuild_from_the_blank_form_to_the_committed_file() -> None:
    built, committed = keypoints.build(forms_dir()), keypoints.committed()
    assert built.keys() == committed.keys()
    assert all(np.array_equal(built[k], committed[k]) for k in built)
    assert all(len(committed[f"points{p.value}"]) >= 500 for p in templates.Page)


def test_training_is_reproducible(tmp_path: Path) -> None:
    """Synthetic boxes only, so it runs without the data; two runs with one seed give the same
    network (the same scores from cv2.dnn)."""
    pytest.importorskip(
        "torch", reason="training needs PyTorch, the train extra that rekap ocr train installs"
    )
    first = train(None, synthetic=400, seed=3, out=tmp_path / "a.onnx", epochs=1)
    second = train(None, synthetic=400, seed=3, out=tmp_path / "b.onnx", epochs=1)
    assert first.model == second.model and first.temperature == second.temperature
    boxes = np.stack([cells.planes(image) for image in synthetic_boxes(30, seed=5)[0]])
    a, b = digits.model(tmp_path / "a.onnx").logits(boxes), digits.model(tmp_path / "b.onnx").logits(boxes)
    assert np.array_equal(a, b)


def test_committed_model_runs_in_cv2_dnn_and_reads_synthetic_boxes() -> None:
    model = digits.model()
    assert isinstance(model._net(), cv2.dnn.Net)
    assert model.version.startswith("cnn") and model.card.held_out_share == 5
    images, labels = synthetic_boxes(200, seed=99)
    predicted = digits.classify(images).argmax(axis=1)
    assert (predicted == np.asarray(labels)).mean() > 0.9
