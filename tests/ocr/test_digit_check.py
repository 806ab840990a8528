"""``rekap ocr digits``: the digit model on labelled box crops, from a folder or a tarball."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import cv2
import numpy as np

from ocr.synth.handwriting import box_image
from tests.conftest import rekap, shared


def _crops(folder: Path, count: int) -> Path:
    """Synthetic boxes as JPEG files (digit i % 10, one crossed-out 0), with their labels."""
    rng = np.random.default_rng(7)
    folder.mkdir()
    lines = ["file,label,kode_tps"]
    for i in range(count):
        digit = i % 10
        ok, data = cv2.imencode(".jpg", box_image(None if i == 0 else digit, rng))
        assert ok
        (folder / f"{digit}_box_{i}.jpg").write_bytes(data.tobytes())
        lines.append(f"{digit}_box_{i}.jpg,{digit},990{i}")
    labels = folder.parent / "labels.csv"
    labels.write_text("\n".join(lines) + "\n")
    return labels


def _check(images: Path, labels: Path) -> dict[str, object]:
    done = rekap("ocr", "digits", "--images", str(images), "--labels", str(labels), "--json")
    assert done.returncode == 0, done.stderr
    out: dict[str, object] = json.loads(done.stdout)
    return out


def test_a_folder_and_the_same_crops_in_a_tarball_give_the_same_figures(tmp_path: Path) -> None:
    labels = _crops(tmp_path / "boxes", 40)
    tarball = tmp_path / "boxes.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted((tmp_path / "boxes").iterdir()):
            archive.add(path, arcname=f"boxes/{path.name}")
        archive.addfile(tarfile.TarInfo("boxes/notes.txt"), io.BytesIO(b""))
    from_folder, from_tarball = _check(tmp_path / "boxes", labels), _check(tarball, labels)
    assert from_folder == from_tarball
    assert from_folder["crops"] == 40 and from_folder["missing"] == 0
    confusion = np.array(from_folder["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 40
    assert list(confusion.sum(axis=1)) == [4] * 10, "rows are the true digits"
    assert from_folder["accuracy"] == round(np.trace(confusion) / 40, 4)
    assert 0 <= from_folder["accepted_share"] <= 1 and from_folder["confident"] == 0.97
    assert 0 <= from_folder["calibration_error"] <= 1


def test_a_label_that_is_no_digit_is_refused_with_its_line(tmp_path: Path) -> None:
    labels = _crops(tmp_path / "boxes", 3)
    labels.write_text(labels.read_text().replace("2_box_2.jpg,2", "2_box_2.jpg,X"))
    done = rekap("ocr", "digits", "--images", str(tmp_path / "boxes"), "--labels", str(labels))
    assert done.returncode != 0 and "labels.csv:4" in done.stderr and "not a digit" in done.stderr


def test_the_real_crops_of_other_provinces_are_read_on_writers_never_seen() -> None:
    """c1_digits_ds9: 6,820 boxes of 1,538 TPS (Bali, NTB, NTT, Kalimantan); the model was trained
    on four fifths of its TPS, the figures that count are on the other fifth (split by TPS)."""
    folder = shared("c1_digits_ds9")
    out = _check(folder / "DS-9.tar.gz", folder / "labels.csv")
    assert out["crops"] == 6820 and out["missing"] == 0
    unseen = out["unseen_writers"]
    assert unseen["tps"] > 300 and unseen["crops"] > 1300
    assert unseen["accuracy"] >= 0.995 and unseen["accepted_accuracy"] >= 0.995
    assert unseen["calibration_error"] < 0.02
