"""Every rule of the form (``ocr.form.RULES``) applied to one TPS's numbers."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from ocr.form import REGISTERED, RULE, Severity, violations


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
    out = []
    for v in violations(values):
        rule = RULE[v.rule]
        out.append(
            Finding(
                rule=rule.name,
                number=rule.number,
                severity=rule.severity,
                explanation=rule.explanation,
                keterangan=rule.keterangan,
                left=v.left,
                right=v.right,
                fields=tuple(f for f in v.fields if f != REGISTERED),
            )
        )
    return out


def blocking(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.BLOCKING for f in findings)
