"""How ``rekap ocr eval`` reads a labels file's DPT column."""

from __future__ import annotations

from ocr.evaluate import _dpt


def test_a_dpt_of_zero_is_sirekaps_missing_value_not_a_registry_of_no_voters() -> None:
    assert _dpt({"dpt": "0"}) is None
    assert _dpt({"dpt": ""}) is None
    assert _dpt({"dpt": "null"}) is None
    assert _dpt({"dpt": "255"}) == 255
