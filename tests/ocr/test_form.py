"""The form's arithmetic, shared by the decoder and (later) the service's checks."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ocr.form import FIELDS, PAGE_OF, RULES, Page, expected_ballots, rules_over, violations
from ocr.synth.pages import tps_values

ALL = [n for names in FIELDS.values() for n in names]


@given(st.integers(0, 2**32 - 1))
def test_generated_tps_satisfy_every_rule(seed: int) -> None:
    values = tps_values(np.random.default_rng(seed))
    assert violations(values, rules_over(set(values))) == []


@given(st.integers(0, 2**32 - 1), st.sampled_from(ALL), st.integers(1, 50))
def test_changing_any_one_number_breaks_a_rule(seed: int, field: str, delta: int) -> None:
    values = tps_values(np.random.default_rng(seed))
    values[field] += delta
    assert violations(values), f"{field} + {delta} went unnoticed"


def test_every_field_is_in_an_equation_and_on_one_page() -> None:
    in_equations = {f for rule in RULES if rule.equation for f in rule.fields}
    assert set(ALL) <= in_equations
    assert len(ALL) == len(set(ALL)) == len(PAGE_OF) == 28
    assert FIELDS[Page.PASLON] == ("suara_paslon_1", "suara_paslon_2", "suara_paslon_3")


def test_the_2024_misread_is_caught() -> None:
    """152 shown as 652: the valid-vote sum no longer holds."""
    values = {"suara_paslon_1": 152, "suara_paslon_2": 80, "suara_paslon_3": 20, "suara_sah": 252}
    assert violations(values) == []
    values["suara_paslon_1"] = 652
    assert [v.rule for v in violations(values)] == ["suara_sah"]


def test_unknown_fields_are_not_judged() -> None:
    assert violations({"suara_sah": 10}) == []


def test_ballots_received_include_a_two_percent_reserve_rounded_up() -> None:
    assert expected_ballots(285) == 291
    assert expected_ballots(100) == 102
    assert expected_ballots(0) == 0
