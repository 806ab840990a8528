"""``rekap bench ocr`` as a user runs it: the fields it promises, never its timings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ocr.bench import Spread, percentile, spread
from tests.conftest import BASE, REPO, forms_dir, rekap

FIELDS = {
    "pages",
    "synthetic_pages",
    "real_pages",
    "ms_per_page_mean",
    "ms_per_page_median",
    "ms_per_page_p90",
    "ms_per_page_p99",
    "ms_per_page_max",
    "stage_ms_mean",
    "rejected",
    "rejected_ms",
    "rejected_by_reason",
    "target_mean_ms",
    "target_p99_ms",
    "photos",
}
REAL = ("c1_form_images", "c1_form_images_unverified")


def bench_quick(env: dict[str, str] | None = None) -> dict[str, Any]:
    forms_dir()
    done = rekap("bench", "ocr", "--quick", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1, "--json prints one line"
    out: dict[str, Any] = json.loads(done.stdout)
    assert set(out) == FIELDS
    return out


def assert_consistent(out: dict[str, Any]) -> None:
    rows = out["photos"]
    assert len(rows) == out["pages"] == out["synthetic_pages"] + out["real_pages"]
    assert sum(r["source"] == "synthetic" for r in rows) == out["synthetic_pages"] == 6
    for row in rows:
        assert set(row) == {"file", "source", "page", "reason", "ms"}
        assert (row["page"] is None) != (row["reason"] is None), row
        assert row["ms"] > 0
    refused = [r for r in rows if r["reason"] is not None]
    assert out["rejected"] == len(refused) == sum(out["rejected_by_reason"].values())
    read = sorted(r["ms"] for r in rows if r["reason"] is None)
    assert out["ms_per_page_max"] == read[-1]
    assert 0 < out["ms_per_page_median"] <= out["ms_per_page_p90"] <= out["ms_per_page_p99"]
    assert out["ms_per_page_mean"] <= out["ms_per_page_max"] and out["ms_per_page_p99"] <= read[-1]
    assert {"decode", "locate", "rectify", "quality", "fields"} <= set(out["stage_ms_mean"])
    if refused:
        spread = out["rejected_ms"]
        assert spread["p99"] <= spread["max"] == max(r["ms"] for r in refused)
        assert spread["mean"] <= spread["max"]
    else:
        assert out["rejected_ms"] is None
    assert (out["target_mean_ms"], out["target_p99_ms"]) == (300, 1000)


def test_quick_times_synthetic_and_every_real_folder_present() -> None:
    out = bench_quick()
    assert_consistent(out)
    data = REPO / BASE.data_path  # as the command, run from the repository, finds it
    present = [name for name in REAL if (data / name / "images").is_dir()]
    sources = {r["source"] for r in out["photos"]} - {"synthetic"}
    assert sources == set(present)
    assert (out["real_pages"] > 0) == bool(present)


def test_without_real_photos_only_synthetic_ones_are_timed(tmp_path: Path) -> None:
    out = bench_quick({"REKAP_DATA_DIR": str(tmp_path)})
    assert_consistent(out)
    assert out["real_pages"] == 0 and out["pages"] == out["synthetic_pages"]


def test_percentiles_are_by_nearest_rank() -> None:
    hundred = [float(n) for n in range(1, 101)]
    assert (percentile(hundred, 50), percentile(hundred, 90), percentile(hundred, 99)) == (50, 90, 99)
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 90) == 3.0
    assert spread([3.0, 1.0, 2.0]) == Spread(mean=2.0, median=2.0, p90=3.0, p99=3.0, max=3.0)
