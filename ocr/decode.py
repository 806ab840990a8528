"""Decode the pages of one TPS together, with the form's arithmetic as evidence.

Each field's value is the decoder's choice: the most probable combination of the readings of
all fields, where a combination that breaks a rule of the form is not impossible (officers make
mistakes too) but costs ``FORM_ERROR`` per broken rule. So 292 read where the boxes also allow
252, with A = IV.1 + IV.2 + IV.3 and C = A + B pointing at 252, becomes 252.

Policy (after FACTS.md: searching alternatives for *any* combination that adds up accepted
wrong forms): a field is accepted automatically only when the best reading of every field
already satisfies every rule, the field is in at least one equation that was checked (so a
lone page is never accepted) or its boxes and bubbles agree (``FieldReading.agreement``: two
independent readings), no rule it is in is broken, and among all readings that add up the
field's value keeps ≥ ``ACCEPT`` of the probability.
A value the decoder changed to make the form add up goes to review with the reading beside it,
unless the form pins it twice: every rule holds after the change and each changed number is the
only change in two equations (``_pinned``), the way a person checks a table's row and column.
When a rule is broken, the fields of it that another equation confirms are not blamed: for
example votes cast (C = A + B holds) against voters who voted on page 1 puts page 1 under
review, not C; a rule whose every field is confirmed is a discrepancy of the form itself,
reported as such.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import msgspec

from ocr.form import FIELDS, Rule, holds_with, rules_over, violations
from ocr.reading import FieldReading, PageReading

ACCEPT = 0.97
"""Share of the consistent probability a value must keep to be accepted without review."""
BEAM = 256
OTHER_DIGIT = 1e-4
"""Probability given to a digit outside a box's listed alternatives."""
FORM_ERROR = 1e-3
"""Prior probability that the officers' own numbers break one rule of the form."""
ARITHMETIC = "arithmetic"
EVIDENCE = "boxes and bubbles"
PINNED = "two equations"
NO_EQUATION = "tidak ada persamaan formulir yang dapat memeriksa angka ini"
CANDIDATES = 8
"""Values per field tried when rules may break (the most probable spellings of its boxes)."""


class DecodedField(msgspec.Struct, frozen=True):
    name: str
    value: int | None
    """The decoder's choice (see the module's docstring); 0 for a field left empty."""
    read: int | None
    """The most probable reading of the field's own boxes (``None``: every box empty)."""
    accepted: bool
    confidence: float
    """Posterior of ``value`` among the readings that satisfy the rules."""
    reason: str = ""
    basis: str = ""
    """What carried an accepted value: ``arithmetic`` (the form's equations), ``boxes and
    bubbles`` (two independent readings agreeing, where no equation checks it) or ``two
    equations`` (a misread the form itself settles, ``_pinned``; ``read`` keeps the boxes)."""


class TpsDecoding(msgspec.Struct, frozen=True):
    fields: dict[str, DecodedField]
    violations: list[str]
    consistent: bool
    """Whether the best reading satisfies every rule that could be checked."""
    discrepancies: list[str] = []
    """Broken rules whose every number is confirmed by another equation: the numbers were read
    right and the officers' form itself does not add up (for the consistency checks to judge)."""

    @property
    def all_accepted(self) -> bool:
        return all(f.accepted for f in self.fields.values())


def value_probability(reading: FieldReading, value: int) -> float:
    return _Spelling(reading).probability(value)


class _Spelling:
    """A field's boxes as digit → probability tables, built once per field, each value's
    probability remembered: the search asks for the same few hundred values thousands of times."""

    def __init__(self, reading: FieldReading) -> None:
        self.empty = reading.value is None
        self.boxes = [
            {(0 if a.value is None else a.value): a.probability for a in box} for box in reading.digits
        ]
        self.known: dict[int, float] = {}

    def probability(self, value: int) -> float:
        if (known := self.known.get(value)) is not None:
            return known
        if self.empty:
            p = 1.0 if value == 0 else 0.0
        elif not 0 <= value <= 999:
            p = 0.0
        else:
            p = 1.0
            for box, digit in zip(self.boxes, (value // 100, value // 10 % 10, value % 10), strict=True):
                p *= box.get(digit, OTHER_DIGIT)
        self.known[value] = p
        return p


def _number(reading: FieldReading) -> int:
    return 0 if reading.value is None else reading.value


def decode(pages: Iterable[PageReading]) -> TpsDecoding:
    readings: dict[str, FieldReading] = {}
    for page in sorted(pages, key=lambda p: p.page_confidence):
        readings.update({f.name: f for f in page.fields})
    names = [n for page_fields in FIELDS.values() for n in page_fields if n in readings]
    rules = rules_over(set(names))
    best = {n: _number(readings[n]) for n in names}
    broken = violations(best, rules)
    corrected: dict[str, int] = {}
    chosen = best
    if broken:
        chosen = _search(names, readings, rules, FORM_ERROR)[0][1]
        if _pinned(best, chosen, rules):
            corrected = {n: best[n] for n in names if chosen[n] != best[n]}
            best, broken = chosen, []
    broken_names = {v.rule for v in broken}
    kept = [r for r in rules if r.name not in broken_names]
    combos = _search(names, readings, kept)
    total = sum(p for p, _ in combos)
    share = {n: sum(p for p, c in combos if c[n] == best[n]) / total if total else 0.0 for n in names}
    checked = {n for rule in kept if rule.equation for n in rule.fields}
    confirmed = {n for n in checked if share[n] >= ACCEPT}
    blamed = {v.rule: [f for f in v.fields if f not in confirmed] for v in broken}
    in_broken = {f for v in broken for f in v.fields}
    out = {}
    for name in names:
        reading = readings[name]
        value = chosen[name]
        against = [v for v in broken if name in blamed[v.rule]]
        if (differ := reading.bubbles_differ()) is not None:
            reason = f"kotak angka {differ[0]}, bulatan {differ[1]}"
            out[name] = DecodedField(name, value, reading.value, False, share[name], reason)
        elif against:
            reason = "angka yang terbaca tidak cocok: " + "; ".join(v.keterangan for v in against)
            if value != best[name]:
                reason += f"; {value} membuatnya cocok (kotak angka terbaca {best[name]})"
            out[name] = DecodedField(name, value, reading.value, False, share[name], reason)
        elif (touched := [v for v in broken if name in v.fields]) and not _vouched(name, kept, in_broken):
            # Confirmed by another equation, but in a rule that does not hold, and that equation
            # holds other numbers of broken rules: two misreads can confirm each other (81 + 7
            # read for 84 + 4 keeps a column's sum), so a person looks.
            reason = "dikuatkan persamaan lain, tetapi ikut dalam aturan yang tidak terpenuhi: " + "; ".join(
                v.keterangan for v in touched
            )
            out[name] = DecodedField(name, value, reading.value, False, share[name], reason)
        elif name not in checked and reading.agreement:
            # No equation, but two independent readings of the number agree: its boxes and its
            # bubbles (a photo of page 2's part alone, or pages missing).
            out[name] = DecodedField(name, value, reading.value, True, reading.confidence, basis=EVIDENCE)
        elif name not in checked:
            reason = NO_EQUATION
            out[name] = DecodedField(name, value, reading.value, False, reading.confidence, reason)
        elif share[name] < ACCEPT:
            rivals = sorted({c[name] for _, c in combos[:5]} - {best[name]})
            reason = f"bacaan yang sama-sama cocok berbeda: {best[name]} atau {', '.join(map(str, rivals))}"
            out[name] = DecodedField(
                name, value, reading.value, False, share[name], reason if rivals else "bacaan tidak jelas"
            )
        elif value != best[name]:
            reason = f"diubah dari {best[name]} menjadi {value} agar angka formulir cocok"
            out[name] = DecodedField(name, value, reading.value, False, share[name], reason)
        elif name in corrected:
            reason = f"kotak angka terbaca {corrected[name]}; dua persamaan formulir memberi {value}"
            out[name] = DecodedField(name, value, reading.value, True, share[name], reason, PINNED)
        else:
            out[name] = DecodedField(name, value, reading.value, True, share[name], basis=ARITHMETIC)
    discrepancies = [v.explanation for v in broken if not blamed[v.rule]]
    return TpsDecoding(out, [v.explanation for v in broken], not broken, discrepancies)


def _pinned(best: dict[str, int], chosen: dict[str, int], rules: Sequence[Rule]) -> bool:
    """Whether the form itself settles a misread: after the change every rule holds, and each
    changed number is pinned by two equations in which no other number changed (a cell of
    page 1's voters' table is both its row's and its column's sum: 137 read where l + p = j and
    DPT + DPTb + DPK = total both give 127). One equation is not enough: two misreads can make
    one sum hold (217 received read as 211 made 196 ballots used look like the 190 votes cast)."""
    changed = {n for n in best if chosen[n] != best[n]}
    if not changed or violations(chosen, rules):
        return False
    pins = {
        name: [r for r in rules if r.equation and name in r.fields and not (set(r.fields) - {name}) & changed]
        for name in changed
    }
    return all(len(equations) >= 2 for equations in pins.values())


def _vouched(name: str, kept: Sequence[Rule], in_broken: set[str]) -> bool:
    """Whether an equation that holds confirms ``name`` through numbers no broken rule touches
    (C = A + B holding confirms C when page 1's voters disagree with it)."""
    return any(
        rule.equation and name in rule.fields and not (set(rule.fields) - {name}) & in_broken for rule in kept
    )


def _search(
    names: Sequence[str],
    readings: dict[str, FieldReading],
    rules: Sequence[Rule],
    broken_cost: float | None = None,
) -> list[tuple[float, dict[str, int]]]:
    """Combinations of values, most probable first (beam search).

    Without ``broken_cost`` only combinations satisfying every rule are kept; with it, each
    broken rule multiplies a combination's probability by ``broken_cost``.
    """
    beam: list[tuple[float, dict[str, int]]] = [(0.0, {})]
    for index, name in enumerate(names):
        reading = readings[name]
        spelling = _Spelling(reading)
        earlier = set(names[:index])
        closing = [r for r in rules if name in r.fields and all(f == name or f in earlier for f in r.fields)]
        readable = _readable_values(reading, spelling, CANDIDATES if broken_cost else None)
        grown = []
        for logp, values in beam:
            candidates = set(readable)
            candidates |= {v for rule in closing if (v := _solve(rule, name, values)) is not None}
            checks = [holds_with(rule, values, name) for rule in closing]
            for value in candidates:
                p = spelling.probability(value)
                if p <= 0:
                    continue
                breaks = sum(not check(value) for check in checks)
                if breaks and broken_cost is None:
                    continue
                cost = breaks * math.log(broken_cost) if breaks and broken_cost else 0.0
                grown.append((logp + math.log(p) + cost, {**values, name: value}))
        grown.sort(key=lambda t: t[0], reverse=True)
        beam = grown[:BEAM]
        if not beam:
            return []
    return [(math.exp(logp), values) for logp, values in beam]


def _readable_values(reading: FieldReading, spelling: _Spelling, limit: int | None = None) -> list[int]:
    """The values the listed digit alternatives of the three boxes can spell, most probable first."""
    if reading.value is None:
        return [0]
    boxes = [{0 if a.value is None else a.value for a in box} for box in reading.digits]
    spelled = {100 * a + 10 * b + c for a, b, c in itertools.product(*boxes)}
    return sorted(spelled, key=spelling.probability, reverse=True)[:limit]


def _solve(rule: Rule, name: str, values: dict[str, int]) -> int | None:
    """The value of ``name`` that makes an equality rule hold, given its other fields."""
    if not rule.equation:
        return None
    left = sum(values[f] for f in rule.left if f != name)
    right = sum(values[f] for f in rule.right if f != name)
    value = right - left if name in rule.left else left - right
    return value if 0 <= value <= 999 else None
