"""Every rule of DOMAIN.md (``ocr.form.CATALOGUE``) applied to one TPS: its form's numbers (1–7),
its pages' readings (8: digits against bubbles), its ballots against each other (9)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from ocr import PageReading
from ocr.form import BALLOTS_RULE, EVIDENCE_RULE, REGISTERED, RULE, Rule, Severity, violations


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    rule: str
    number: int
    """The rule's number in DOMAIN.md."""
    severity: Severity
    explanation: str
    keterangan: str
    left: int
    right: int
    fields: tuple[str, ...]


def check_tps(numbers: Mapping[str, int], registered_dpt: int | None) -> list[Finding]:
    """The rules the numbers break; rules with a field that is unknown are not judged."""
    values = dict(numbers)
    if registered_dpt is not None:
        values[REGISTERED] = registered_dpt
    return [
        _finding(RULE[v.rule], v.left, v.right, tuple(f for f in v.fields if f != REGISTERED))
        for v in violations(values)
    ]


def blocking(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.BLOCKING for f in findings)


def _finding(rule: Rule, left: int, right: int, fields: tuple[str, ...]) -> Finding:
    return Finding(
        rule=rule.name,
        number=rule.number,
        severity=rule.severity,
        explanation=rule.explanation,
        keterangan=rule.keterangan,
        left=left,
        right=right,
        fields=fields,
    )


def check_evidence(readings: Iterable[PageReading]) -> list[Finding]:
    """Rule 8: a field whose digits, as finally read, differ from its blackened bubbles.

    ``left`` is the value of the digits, ``right`` the value the bubbles spell.
    """
    out = []
    for page in readings:
        for field in page.fields:
            if field.bubbles is None or all(b is None for b in field.bubbles):
                continue
            digits = [0 if box[0].value is None else box[0].value for box in field.digits]
            if any(b is not None and b != d for b, d in zip(field.bubbles, digits, strict=True)):
                spelled = [d if b is None else b for b, d in zip(field.bubbles, digits, strict=True)]
                out.append(_finding(EVIDENCE_RULE, _number(digits), _number(spelled), (field.name,)))
    return out


def check_ballots(voted: Mapping[str, int]) -> list[Finding]:
    """Rule 9: voters who voted (``pengguna_total_j``) per ballot of one TPS should agree."""
    if len(set(voted.values())) <= 1:
        return []
    return [_finding(BALLOTS_RULE, max(voted.values()), min(voted.values()), tuple(sorted(voted)))]


def _number(digits: list[int]) -> int:
    return 100 * digits[0] + 10 * digits[1] + digits[2]
