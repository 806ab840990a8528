"""Whether a TPS's numbers may be published without a person: one decision, made here.

The worker publishes by it and ``rekap ocr eval`` counts ``auto_publish_rate`` by it, so the
figure is what the service will do. A TPS is published automatically only when all three pages
were read, every field of every page was accepted by the decoder, and no blocking rule is
broken: the form's arithmetic (with the TPS's DPT from the registry where known) and the
pages' own evidence (rule 8: the boxes against the blackened bubbles).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ocr.decode import TpsDecoding
from ocr.form import EVIDENCE_RULE, FIELDS, REGISTERED, RULE, Severity, violations
from ocr.reading import PageReading


class Conflict(msgspec.Struct, frozen=True):
    """A page-2 field whose boxes spell another number than its bubbles (rule 8)."""

    field: str
    boxes: int
    bubbles: int
    """The number the bubbles spell, a column without a clear bubble taking the box's digit."""


class Verdict(msgspec.Struct, frozen=True):
    publish: bool
    unread: list[str]
    """Fields of pages not read."""
    unclear: dict[str, str]
    """Fields the decoder did not accept, with its reason."""
    broken: list[str]
    """Blocking rules the numbers or the evidence break."""


def conflicts(readings: Iterable[PageReading]) -> list[Conflict]:
    return [
        Conflict(field.name, *differ)
        for page in readings
        for field in page.fields
        if (differ := field.bubbles_differ()) is not None
    ]


def verdict(decoding: TpsDecoding, found: Iterable[Conflict], registered_dpt: int | None) -> Verdict:
    values = {name: f.value for name, f in decoding.fields.items() if f.value is not None}
    if registered_dpt is not None:
        values[REGISTERED] = registered_dpt
    broken = [v.rule for v in violations(values) if RULE[v.rule].severity is Severity.BLOCKING]
    if list(found) and EVIDENCE_RULE.severity is Severity.BLOCKING:
        broken.append(EVIDENCE_RULE.name)
    unread = [name for names in FIELDS.values() for name in names if name not in decoding.fields]
    unclear = {name: f.reason for name, f in decoding.fields.items() if not f.accepted}
    return Verdict(not (unread or unclear or broken), unread, unclear, broken)
