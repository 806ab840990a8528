"""Decode the pages of one TPS together, with the form's arithmetic as evidence.

Policy (after FACTS.md: searching alternatives for *any* combination that adds up accepted
wrong forms): a field is accepted automatically only when the best reading of every field
already satisfies every rule, the field is in at least one equation that was checked (so a
lone page is never accepted), and among all readings that add up the field's value keeps
≥ ``ACCEPT`` of the probability.
A consistent combination found among the alternatives is offered as a suggestion for review,
never accepted on its own. When a rule is broken, the fields of it that another equation
confirms are not blamed: for example votes cast (C = A + B holds) against voters who voted on
page 1 puts page 1 under review, not C; a rule whose every field is confirmed is a discrepancy
of the form itself, reported as such.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import msgspec

from ocr.form import FIELDS, Rule, holds, rules_over, violations
from ocr.reading import FieldReading, PageReading

ACCEPT = 0.97
"""Share of the consistent probability a value must keep to be accepted without review."""
BEAM = 256
OTHER_DIGIT = 1e-4
"""Probability given to a digit outside a box's listed alternatives."""


class DecodedField(msgspec.Struct, frozen=True):
    name: str
    value: int | None
    accepted: bool
    confidence: float
    """Posterior of ``value`` among the readings that satisfy the rules."""
    reason: str = ""
    suggestion: int | None = None
    """A consistent value offered to the reviewer when the reading does not add up."""


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
    if reading.value is None:
        return 1.0 if value == 0 else 0.0
    if not 0 <= value <= 999:
        return 0.0
    p = 1.0
    for box, digit in zip(reading.digits, (value // 100, value // 10 % 10, value % 10), strict=True):
        listed = {(0 if a.value is None else a.value): a.probability for a in box}
        p *= listed.get(digit, OTHER_DIGIT)
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
    broken_names = {v.rule for v in broken}
    kept = [r for r in rules if r.name not in broken_names]
    combos = _consistent(names, readings, kept)
    total = sum(p for p, _ in combos)
    share = {n: sum(p for p, c in combos if c[n] == best[n]) / total if total else 0.0 for n in names}
    checked = {n for rule in kept if not rule.at_most for n in rule.fields}
    confirmed = {n for n in checked if share[n] >= ACCEPT}
    blamed = {v.rule: [f for f in v.fields if f not in confirmed] for v in broken}
    repaired = _consistent(names, readings, rules) if broken else []
    suggested = repaired[0][1] if repaired else {}
    out = {}
    for name in names:
        reading = readings[name]
        against = [v for v in broken if name in blamed[v.rule]]
        if against:
            suggestion = suggested.get(name)
            reason = "the numbers as read do not add up: " + "; ".join(v.explanation for v in against)
            hint = suggestion if suggestion != best[name] else None
            out[name] = DecodedField(name, reading.value, False, share[name], reason, hint)
        elif name not in checked:
            reason = "no equation could check this number"
            out[name] = DecodedField(name, reading.value, False, reading.confidence, reason)
        elif share[name] < ACCEPT:
            rivals = sorted({c[name] for _, c in combos[:5]} - {best[name]})
            reason = f"readings that add up disagree: {best[name]} or {', '.join(map(str, rivals))}"
            out[name] = DecodedField(
                name, reading.value, False, share[name], reason if rivals else "unclear reading"
            )
        else:
            out[name] = DecodedField(name, reading.value, True, share[name])
    discrepancies = [v.explanation for v in broken if not blamed[v.rule]]
    return TpsDecoding(out, [v.explanation for v in broken], not broken, discrepancies)


def _consistent(
    names: Sequence[str], readings: dict[str, FieldReading], rules: Sequence[Rule]
) -> list[tuple[float, dict[str, int]]]:
    """Combinations of alternatives that satisfy every rule, most probable first (beam search)."""
    beam: list[tuple[float, dict[str, int]]] = [(0.0, {})]
    for name in names:
        reading = readings[name]
        closing = [
            r
            for r in rules
            if name in r.fields and all(f == name or f in names[: names.index(name)] for f in r.fields)
        ]
        grown = []
        for logp, values in beam:
            candidates = _readable_values(reading)
            candidates |= {v for rule in closing if (v := _solve(rule, name, values)) is not None}
            for value in candidates:
                p = value_probability(reading, value)
                if p <= 0:
                    continue
                trial = {**values, name: value}
                if all(holds(rule, trial) is not False for rule in closing):
                    grown.append((logp + math.log(p), trial))
        grown.sort(key=lambda t: t[0], reverse=True)
        beam = grown[:BEAM]
        if not beam:
            return []
    return [(math.exp(logp), values) for logp, values in beam]


def _readable_values(reading: FieldReading) -> set[int]:
    """Every value the listed digit alternatives of the three boxes can spell."""
    if reading.value is None:
        return {0}
    boxes = [{0 if a.value is None else a.value for a in box} for box in reading.digits]
    return {100 * a + 10 * b + c for a, b, c in itertools.product(*boxes)}


def _solve(rule: Rule, name: str, values: dict[str, int]) -> int | None:
    """The value of ``name`` that makes an equality rule hold, given its other fields."""
    if rule.at_most:
        return None
    left = sum(values[f] for f in rule.left if f != name)
    right = sum(values[f] for f in rule.right if f != name)
    value = right - left if name in rule.left else left - right
    return value if 0 <= value <= 999 else None
