"""The C.Hasil-PPWP 2024 form: its pages, its fields and its arithmetic, defined once.

The reader uses the fields to know what to cut from a page, the decoder and the service's
checks use the rules (DOMAIN.md 1–7) to decide whether a set of values is consistent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum

import msgspec

FORM = "C.HASIL-PPWP"
MAX_COUNT = 999
"""Three boxes per number."""
BALLOT_RESERVE = 0.02
"""Ballots received = DPT plus a 2 % reserve, rounded up."""


class Page(IntEnum):
    ADMINISTRASI = 1
    PASLON = 2
    SUARA = 3

    @property
    def code(self) -> str:
        """The code printed beside the page's 2D mark (101, 102, 103)."""
        return f"10{self.value}"


def _lpj(stem: str) -> tuple[str, ...]:
    return (f"{stem}_l", f"{stem}_p", f"{stem}_j")


FIELDS: Mapping[Page, tuple[str, ...]] = {
    # Order is the order of the rows of boxes on the page, top to bottom, left to right.
    Page.ADMINISTRASI: (
        *_lpj("pemilih_dpt"),
        *_lpj("pengguna_dpt"),
        *_lpj("pengguna_dptb"),
        *_lpj("pengguna_non_dpt"),
        *_lpj("pengguna_total"),
        "surat_suara_diterima",
        "surat_suara_digunakan",
        "surat_suara_rusak",
        "surat_suara_sisa",
        *_lpj("disabilitas"),
    ),
    Page.PASLON: ("suara_paslon_1", "suara_paslon_2", "suara_paslon_3"),
    Page.SUARA: ("suara_sah", "suara_tidak_sah", "suara_total"),
}
PAGE_OF: Mapping[str, Page] = {name: page for page, names in FIELDS.items() for name in names}
VOTE_FIELDS = (*FIELDS[Page.PASLON], *FIELDS[Page.SUARA])
BUBBLE_FIELDS = FIELDS[Page.PASLON]
"""Fields whose digits are also marked as OMR bubbles (page 2)."""


class Rule(msgspec.Struct, frozen=True):
    """``sum(left) == sum(right)``, or ``sum(left) <= sum(right)`` when ``at_most``."""

    name: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    at_most: bool = False
    explanation: str = ""

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.left, *self.right)


def _rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for stem in (
        "pemilih_dpt",
        "pengguna_dpt",
        "pengguna_dptb",
        "pengguna_non_dpt",
        "pengguna_total",
        "disabilitas",
    ):
        men, women, both = _lpj(stem)
        rules.append(
            Rule(f"{stem}_j", (both,), (men, women), explanation=f"{both} must equal {men} + {women}")
        )
    for suffix in ("l", "p", "j"):
        total = f"pengguna_total_{suffix}"
        parts = tuple(f"pengguna_{s}_{suffix}" for s in ("dpt", "dptb", "non_dpt"))
        rules.append(
            Rule(f"{total}_sum", (total,), parts, explanation=f"{total} must equal DPT + DPTb + DPK voters")
        )
    rules += [
        Rule(
            "suara_sah",
            ("suara_sah",),
            FIELDS[Page.PASLON],
            explanation="valid votes (A) must equal IV.1 + IV.2 + IV.3",
        ),
        Rule(
            "suara_total",
            ("suara_total",),
            ("suara_sah", "suara_tidak_sah"),
            explanation="C must equal A + B",
        ),
        Rule(
            "pengguna_total",
            ("suara_total",),
            ("pengguna_total_j",),
            explanation="votes cast must equal voters who voted",
        ),
        Rule(
            "surat_suara_digunakan",
            ("suara_total",),
            ("surat_suara_digunakan",),
            explanation="votes cast must equal ballots used",
        ),
        Rule(
            "surat_suara_diterima",
            ("surat_suara_diterima",),
            ("surat_suara_digunakan", "surat_suara_rusak", "surat_suara_sisa"),
            explanation="ballots received must equal used + damaged + unused",
        ),
        Rule(
            "pengguna_dpt",
            ("pengguna_dpt_j",),
            ("pemilih_dpt_j",),
            at_most=True,
            explanation="more DPT voters voted than are registered",
        ),
        Rule(
            "disabilitas",
            ("disabilitas_j",),
            ("pengguna_total_j",),
            at_most=True,
            explanation="more disabled voters than voters",
        ),
    ]
    return tuple(rules)


RULES = _rules()


class Violation(msgspec.Struct, frozen=True):
    rule: str
    explanation: str
    left: int
    right: int
    fields: tuple[str, ...]


def holds(rule: Rule, values: Mapping[str, int]) -> bool | None:
    """Whether the rule holds; ``None`` when one of its fields is unknown."""
    if any(values.get(name) is None for name in rule.fields):
        return None
    left = sum(values[name] for name in rule.left)
    right = sum(values[name] for name in rule.right)
    return left <= right if rule.at_most else left == right


def violations(values: Mapping[str, int], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every rule that the known values break (rules with an unknown field are skipped)."""
    out = []
    for rule in rules:
        if holds(rule, values) is False:
            left = sum(values[name] for name in rule.left)
            right = sum(values[name] for name in rule.right)
            out.append(Violation(rule.name, rule.explanation, left, right, rule.fields))
    return out


def rules_over(fields: set[str] | frozenset[str]) -> list[Rule]:
    """The rules whose every field is among ``fields``."""
    return [rule for rule in RULES if set(rule.fields) <= fields]


def expected_ballots(dpt: int) -> int:
    """Ballots a TPS should receive for its DPT: DPT plus 2 %, rounded up."""
    return dpt + -(-dpt * round(BALLOT_RESERVE * 100) // 100)
