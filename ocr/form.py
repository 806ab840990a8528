"""The C.Hasil-PPWP 2024 form: its pages, its fields and its arithmetic, defined once.

The reader uses the fields to know what to cut from a page, the decoder and the service's
checks use the rules (DOMAIN.md 1–7) to decide whether a set of values is consistent. Rule 8
(digits = bubbles = tally marks) is the reader's own: it fuses the page-2 bubbles with the
digits; rule 9 (the ballots of one TPS agree) needs the other ballots' forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum, StrEnum

import msgspec

FORM = "C.HASIL-PPWP"
BALLOT = "ppwp"
"""The ballot this form counts (the president and vice-president), as rekap's records name it."""
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
PAIRS = FIELDS[Page.PASLON]
"""The candidate pairs' vote fields, in ballot order."""
VOTE_FIELDS = (*PAIRS, *FIELDS[Page.SUARA])
BUBBLE_FIELDS = PAIRS
"""Fields whose digits are also marked as OMR bubbles (page 2)."""


class Relation(StrEnum):
    EQUAL = "equal"
    """sum(left) == sum(right)"""
    AT_MOST = "at_most"
    """sum(left) <= sum(right)"""
    RESERVE = "reserve"
    """left == right plus the 2 % ballot reserve, rounded up"""


class Scope(StrEnum):
    FORM = "form"
    """Judged on the numbers of one form."""
    EVIDENCE = "evidence"
    """Judged on the reading of a page: its digits against its other marks."""
    BALLOTS = "ballots"
    """Judged across the five ballots' forms of one TPS."""


class Severity(StrEnum):
    BLOCKING = "blocking"
    """A TPS breaking it is not published until an officer signs off."""
    WARNING = "warning"
    """Shown beside the numbers; publishing goes on."""


REGISTERED = "dpt_terdaftar"
"""Not a field of the form: the TPS's DPT in KPU's registry, supplied by the service's checks."""


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """One rule of the form's arithmetic (DOMAIN.md rules 1–7), as data."""

    name: str
    """Stable id, e.g. ``suara_sah`` or ``pengguna_total_l_sum``."""
    number: int
    """The rule's number in DOMAIN.md."""
    left: tuple[str, ...]
    right: tuple[str, ...]
    relation: Relation = Relation.EQUAL
    severity: Severity = Severity.BLOCKING
    tolerance: int = 0
    """A difference up to this many still holds."""
    scope: Scope = Scope.FORM
    explanation: str
    keterangan: str
    """The same in Indonesian, for officers."""

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.left, *self.right)

    @property
    def equation(self) -> bool:
        """Whether it pins one field's value given the others (the decoder may solve it)."""
        return self.relation is Relation.EQUAL


_SPOKEN = {
    "pemilih_dpt": "pemilih DPT",
    "pengguna_dpt": "pengguna hak pilih DPT",
    "pengguna_dptb": "pengguna hak pilih DPTb",
    "pengguna_non_dpt": "pengguna hak pilih DPK",
    "pengguna_total": "jumlah pengguna hak pilih",
    "disabilitas": "pemilih disabilitas",
}
"""A row of page 1 as an officer says it (the rules' ``keterangan``)."""
_SEX = {"l": "laki-laki", "p": "perempuan", "j": "jumlah"}
_STEMS = {
    "pemilih_dpt": "Pemilih terdaftar dalam DPT",
    "pengguna_dpt": "Pengguna hak pilih dalam DPT",
    "pengguna_dptb": "Pengguna hak pilih dalam DPTb",
    "pengguna_non_dpt": "Pengguna hak pilih tidak terdaftar (DPK)",
    "pengguna_total": "Jumlah pengguna hak pilih",
    "disabilitas": "Pemilih disabilitas",
}
_NAMED = {
    "surat_suara_diterima": "Surat suara diterima",
    "surat_suara_digunakan": "Surat suara digunakan",
    "surat_suara_rusak": "Surat suara rusak atau keliru coblos",
    "surat_suara_sisa": "Surat suara tidak digunakan",
    "suara_sah": "Jumlah suara sah",
    "suara_tidak_sah": "Jumlah suara tidak sah",
    "suara_total": "Jumlah suara sah dan tidak sah",
    **{pair: f"Suara paslon {n:02d}" for n, pair in enumerate(PAIRS, start=1)},
}


def _label(name: str) -> str:
    if name in _NAMED:
        return _NAMED[name]
    stem, _, sex = name.rpartition("_")
    return f"{_STEMS[stem]} ({_SEX[sex]})"


LABEL = {name: _label(name) for names in FIELDS.values() for name in names}
"""Every field of the form as the form labels it, in Bahasa Indonesia, in page order: what people
read wherever a field is named (pages, messages, the history)."""


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
            Rule(
                name=f"{stem}_j",
                number=1,
                left=(both,),
                right=(men, women),
                explanation=f"{both} must equal {men} + {women}",
                keterangan=f"{_SPOKEN[stem]}: jumlah harus sama dengan laki-laki + perempuan",
            )
        )
    for suffix in ("l", "p", "j"):
        total = f"pengguna_total_{suffix}"
        parts = tuple(f"pengguna_{s}_{suffix}" for s in ("dpt", "dptb", "non_dpt"))
        rules.append(
            Rule(
                name=f"{total}_sum",
                number=2,
                left=(total,),
                right=parts,
                explanation=f"{total} must equal DPT + DPTb + DPK voters",
                keterangan=(
                    f"jumlah pengguna hak pilih ({_SEX[suffix]}) harus sama dengan pengguna DPT + DPTb + DPK"
                ),
            )
        )
    rules += [
        Rule(
            name="suara_sah",
            number=3,
            left=("suara_sah",),
            right=PAIRS,
            explanation="valid votes (A) must equal IV.1 + IV.2 + IV.3",
            keterangan="suara sah (A) harus sama dengan jumlah suara paslon 1 + 2 + 3",
        ),
        Rule(
            name="suara_total",
            number=4,
            left=("suara_total",),
            right=("suara_sah", "suara_tidak_sah"),
            explanation="C must equal A + B",
            keterangan="jumlah suara (C) harus sama dengan suara sah (A) + tidak sah (B)",
        ),
        Rule(
            name="pengguna_total",
            number=5,
            left=("suara_total",),
            right=("pengguna_total_j",),
            explanation="votes cast must equal voters who voted",
            keterangan="jumlah suara harus sama dengan jumlah pengguna hak pilih",
        ),
        Rule(
            name="surat_suara_digunakan",
            number=5,
            left=("suara_total",),
            right=("surat_suara_digunakan",),
            explanation="votes cast must equal ballots used",
            keterangan="jumlah suara harus sama dengan surat suara yang digunakan",
        ),
        Rule(
            name="surat_suara_diterima",
            number=6,
            left=("surat_suara_diterima",),
            right=("surat_suara_digunakan", "surat_suara_rusak", "surat_suara_sisa"),
            explanation="ballots received must equal used + damaged + unused",
            keterangan="surat suara diterima harus sama dengan digunakan + rusak + sisa",
        ),
        Rule(
            name="pengguna_dpt",
            number=7,
            left=("pengguna_dpt_j",),
            right=("pemilih_dpt_j",),
            relation=Relation.AT_MOST,
            explanation="more DPT voters voted than are registered",
            keterangan="pengguna DPT melebihi jumlah pemilih DPT",
        ),
        Rule(
            name="disabilitas",
            number=7,
            left=("disabilitas_j",),
            right=("pengguna_total_j",),
            relation=Relation.AT_MOST,
            explanation="more disabled voters than voters",
            keterangan="pemilih disabilitas melebihi jumlah pengguna hak pilih",
        ),
        Rule(
            name="suara_terdaftar",
            number=7,
            left=("suara_total",),
            right=(REGISTERED, "pengguna_dptb_j", "pengguna_non_dpt_j"),
            relation=Relation.AT_MOST,
            explanation="more votes than the TPS's registered voters (DPT in the registry) plus DPTb and DPK",
            keterangan="jumlah suara melebihi DPT terdaftar TPS ditambah DPTb dan DPK",
        ),
        Rule(
            name="pemilih_terdaftar",
            number=7,
            left=("pemilih_dpt_j",),
            right=(REGISTERED,),
            severity=Severity.WARNING,
            explanation="the form's DPT differs from the TPS's DPT in KPU's registry",
            keterangan="DPT pada formulir berbeda dengan DPT TPS dalam daftar KPU",
        ),
        Rule(
            name="surat_suara_cadangan",
            number=7,
            left=("surat_suara_diterima",),
            right=("pemilih_dpt_j",),
            relation=Relation.RESERVE,
            severity=Severity.WARNING,
            tolerance=2,
            explanation="ballots received should be the DPT plus the 2 % reserve",
            keterangan="surat suara diterima seharusnya DPT ditambah cadangan 2 %",
        ),
    ]
    return tuple(rules)


RULES = _rules()
"""The rules judged on one form's numbers (``violations``)."""
EVIDENCE_RULE = Rule(
    name="bubbles",
    number=8,
    left=BUBBLE_FIELDS,
    right=BUBBLE_FIELDS,
    scope=Scope.EVIDENCE,
    explanation="the digits written in the boxes differ from the blackened bubbles",
    keterangan="angka di kotak berbeda dengan bulatan yang dihitamkan",
)
BALLOTS_RULE = Rule(
    name="antar_surat_suara",
    number=9,
    left=("pengguna_total_j",),
    right=("pengguna_total_j",),
    scope=Scope.BALLOTS,
    severity=Severity.WARNING,
    explanation="the number of voters who voted differs between the ballots of this TPS",
    keterangan="jumlah pengguna hak pilih berbeda antar surat suara di TPS ini",
)
CATALOGUE = (*RULES, EVIDENCE_RULE, BALLOTS_RULE)
"""Every rule of DOMAIN.md (1–9), for the checks and for the reviewers' screens."""
RULE = {rule.name: rule for rule in CATALOGUE}


class Violation(msgspec.Struct, frozen=True):
    rule: str
    explanation: str
    left: int
    right: int
    fields: tuple[str, ...]
    keterangan: str = ""
    """The explanation in Indonesian, for the people who read it."""


def _right_side(rule: Rule, total: int) -> int:
    """What the right side's sum stands for: a DPT's ballots, with their reserve, under RESERVE."""
    return expected_ballots(total) if rule.relation is Relation.RESERVE else total


def holds(rule: Rule, values: Mapping[str, int]) -> bool | None:
    """Whether the rule holds; ``None`` when one of its fields is unknown."""
    sides = _known_sides(rule, values)
    return None if sides is None else _compare(rule, *sides)


def _known_sides(rule: Rule, values: Mapping[str, int]) -> tuple[int, int] | None:
    """The sums of the rule's two sides, or ``None`` when a field is unknown, in one pass: each
    publication judges every rule twice (the checks, the verdict), half the writers' own time."""
    left = right = 0
    for name in rule.left:
        value = values.get(name)
        if value is None:
            return None
        left += value
    for name in rule.right:
        value = values.get(name)
        if value is None:
            return None
        right += value
    return left, _right_side(rule, right)


def holds_with(rule: Rule, values: Mapping[str, int], name: str) -> Callable[[int], bool]:
    """``holds(rule, {**values, name: v})`` as a function of ``v``, the other fields (all known)
    summed once: the decoder tries hundreds of values of one field against the same others."""
    left = sum(values[f] for f in rule.left if f != name)
    right = sum(values[f] for f in rule.right if f != name)
    on_left, on_right = rule.left.count(name), rule.right.count(name)

    def check(value: int) -> bool:
        return _compare(rule, left + on_left * value, _right_side(rule, right + on_right * value))

    return check


def _compare(rule: Rule, left: int, right: int) -> bool:
    if rule.relation is Relation.AT_MOST:
        return left <= right + rule.tolerance
    return abs(left - right) <= rule.tolerance


def violations(values: Mapping[str, int], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every rule that the known values break (rules with an unknown field are skipped)."""
    out = []
    for rule in rules:
        sides = _known_sides(rule, values)
        if sides is not None and not _compare(rule, *sides):
            out.append(Violation(rule.name, rule.explanation, *sides, rule.fields, rule.keterangan))
    return out


def rules_over(fields: set[str] | frozenset[str], severity: Severity = Severity.BLOCKING) -> list[Rule]:
    """The rules of this severity whose every field is among ``fields``."""
    return [rule for rule in RULES if rule.severity is severity and set(rule.fields) <= fields]


def expected_ballots(dpt: int) -> int:
    """Ballots a TPS should receive for its DPT: DPT plus 2 %, rounded up."""
    return dpt + -(-dpt * round(BALLOT_RESERVE * 100) // 100)
