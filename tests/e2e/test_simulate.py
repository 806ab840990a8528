"""``rekap simulate election-night`` end to end on a small registry: a real API and worker, uploads
that skip the OCR, readers, and the national totals equal to the sum of what was sent."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.conftest import forms_dir, rekap
from tests.registry_files import kpu_registry


def test_a_small_election_night_adds_up(tmp_path: Path) -> None:
    registry = kpu_registry(tmp_path)
    done = rekap(
        "simulate", "election-night", "--registry", str(registry), "--tps", "4", "--rate", "20",
        "--readers", "2", "--skip-ocr", "--ocr-processes", "1", "--json",
        timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = msgspec.json.decode(done.stdout)
    assert report["tps_registry"] == 4
    assert report["uploads"]["statuses"] == {"201": 12}
    assert report["published_tps"] == 4
    assert report["totals_match"] and report["national"] == report["expected"]
    assert report["expected"]["suara_sah"] > 0
    assert report["readers"]["count"] > 0 and set(report["readers"]["statuses"]) == {"200"}
    assert report["samples"], "the queue and publication are sampled while it runs"
    assert set(report["cpu_ms_per_photo"]) == {"api", "workers", "postgres"}
    assert report["cpu_ms_per_photo"]["api"] > 0 and report["cpu_ms_per_photo"]["workers"] > 0


def test_the_simulation_refuses_bad_options_in_words(tmp_path: Path) -> None:
    done = rekap("simulate", "election-night", "--tps", "0")
    assert done.returncode != 0 and "--tps must be 1 to 1,000,000" in done.stderr
    missing = rekap("simulate", "election-night", "--registry", str(tmp_path / "none.csv"))
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    assert "Traceback" not in done.stderr + missing.stderr


def test_with_the_ocr_the_photos_are_read_and_add_up(tmp_path: Path) -> None:
    forms_dir()  # the synthesiser draws the photos on the blank form
    done = rekap(
        "simulate", "election-night", "--registry", str(kpu_registry(tmp_path)), "--tps", "2",
        "--rate", "1", "--readers", "1", "--ocr-processes", "1", "--json",
        timeout=400,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = msgspec.json.decode(done.stdout)
    assert report["options"]["skip_ocr"] is False
    assert report["published_tps"] == 2 and report["totals_match"]
    assert report["cpu_ms_per_photo"]["workers"] > 50, "the OCR itself ran"
