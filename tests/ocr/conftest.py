"""Synthetic photos made by the project's own generator, and the blank form they need."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocr.synth.pages import generate
from tests.conftest import REPO

FORMS = REPO.parent / "shared" / "forms" / "c-hasil-ppwp-2024"


def forms_dir() -> Path:
    if not (FORMS / "page1.png").exists():
        pytest.skip(
            "needs ../shared/forms/c-hasil-ppwp-2024 (the blank form), which is not present in this checkout"
        )
    return FORMS


class Synthetic:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.labels = folder / "labels.csv"
        self.values: dict[str, dict[str, int]] = json.loads((folder / "values.json").read_text())

    def photos(self, tps: str) -> list[Path]:
        return sorted(self.folder.glob(f"{tps}-p*.jpg"))

    def page(self, tps: str, page: int) -> Path:
        return next(self.folder.glob(f"{tps}-p{page}-*.jpg"))


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """Two TPS (six photos) with moderate phone distortion; fixed seed, so the same photos every run."""
    folder = tmp_path_factory.mktemp("synthetic")
    generate(forms_dir(), folder, 6, seed=5, strength=0.6)
    return Synthetic(folder)
