"""Every rule of DOMAIN.md (``ocr.form.CATALOGUE``) applied to one TPS: its form's numbers (1–7),
its pages' readings (8: digits against bubbles), its ballots against each other (9)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from ocr import PageReading
from ocr.form import BALLOTS_RULE, EVIDENCE_RULE, REGISTERED, RULE, Rule, Severity, violations
from ocr.publication import Conflict, conflicts


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


def blocking_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that hold a TPS from publication until an officer signs it off."""
    return [f for f in findings if f.severity is Severity.BLOCKING]


def blocking(findings: Iterable[Finding]) -> bool:
    return bool(blocking_findings(findings))


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
    """Rule 8: a field whose digits, as finally read, differ from its blackened bubbles."""
    return evidence_findings(conflicts(readings))


def evidence_findings(found: Iterable[Conflict]) -> list[Finding]:
    """``left`` is the value of the digits, ``right`` the value the bubbles spell."""
    return [_finding(EVIDENCE_RULE, c.boxes, c.bubbles, (c.field,)) for c in found]


def check_ballots(voted: Mapping[str, int]) -> list[Finding]:
    """Rule 9: voters who voted (``pengguna_total_j``) per ballot of one TPS should agree."""
    if len(set(voted.values())) <= 1:
        return []
    return [_finding(BALLOTS_RULE, max(voted.values()), min(voted.values()), tuple(sorted(voted)))]
