"""``rekap ocr`` and ``rekap bench ocr`` as a user runs them."""

from __future__ import annotations

import json

from tests.conftest import Synthetic, forms_dir, rekap


def test_read_decodes_the_pages_of_one_tps_together(synthetic: Synthetic) -> None:
    tps = sorted(synthetic.values)[0]
    done = rekap("ocr", "read", *map(str, synthetic.photos(tps)), "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert sorted(p["page"] for p in out["photos"].values()) == [1, 2, 3]
    assert out["decoded"]["fields"]["suara_sah"]["value"] == synthetic.values[tps]["suara_sah"]


def test_read_explains_a_retake_and_a_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    note = tmp_path / "note.txt"
    note.write_text("not a photo")
    done = rekap("ocr", "read", str(note))
    assert done.returncode == 1 and "retake (not_an_image)" in done.stdout
    missing = rekap("ocr", "read", str(tmp_path / "nope.jpg"))
    assert (
        missing.returncode == 1 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    )


def test_eval_prints_the_agreed_json(synthetic: Synthetic) -> None:
    done = rekap(
        "ocr", "eval", "--images", str(synthetic.folder), "--labels", str(synthetic.labels), "--json"
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for key in (
        "photos",
        "page_id_accuracy",
        "field_accuracy",
        "auto_accept_rate",
        "auto_accepted_wrong",
        "ms_per_page_median",
        "disagreements",
    ):
        assert key in out
    assert out["photos"] == 6 and out["page_id_accuracy"] == 1.0


def test_synth_writes_photos_and_labels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = rekap(
        "ocr",
        "synth",
        "--out",
        str(tmp_path),
        "--count",
        "3",
        "--seed",
        "4",
        env={"REKAP_FORMS_DIR": str(forms_dir())},
    )
    assert done.returncode == 0, done.stderr
    assert len(list(tmp_path.glob("*.jpg"))) == 3
    assert (tmp_path / "labels.csv").read_text().startswith("kode_tps,page_order_in_sirekap,file,")


def test_bench_prints_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    forms_dir()
    done = rekap("bench", "ocr", "--quick", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ms_per_page_median"] > 0 and out["pages"] >= 6
    assert {"locate", "identify", "fields"} <= set(out["stage_ms_median"])
