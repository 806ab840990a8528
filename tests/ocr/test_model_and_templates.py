"""The committed artefacts can be rebuilt from their sources by the project's own scripts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ocr import digits, keypoints, templates
from ocr.training import train
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
    """Synthetic boxes only, so it runs anywhere; two runs with one seed give the same weights."""
    first = train(None, synthetic=600, seed=3, out=tmp_path / "a.npz")
    second = train(None, synthetic=600, seed=3, out=tmp_path / "b.npz")
    assert first.held_out_accuracy == second.held_out_accuracy > 0.6
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)
    digits.model.cache_clear()


def test_committed_model_reads_synthetic_boxes() -> None:
    from ocr import cells
    from ocr.training import synthetic_boxes

    images, labels = synthetic_boxes(200, seed=99)
    predicted = digits.classify([cells.features(i) for i in images]).argmax(axis=1)
    assert (predicted == np.asarray(labels)).mean() > 0.9
