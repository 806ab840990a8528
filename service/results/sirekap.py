"""The consistency checks run over Sirekap's published per-TPS numbers (``rekap check sirekap``).

Each row is taken as the reading of a TPS (Sirekap's column names mapped to the form's) and
judged with the same rules and anomaly flags as rekap's own readings; the DPT on the row stands
for the registry's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec

from ocr.form import RULE
from service.errors import InvalidInput
from service.regions.files import read_csv
from service.results.anomalies import tps_anomalies, village_outliers
from service.results.checks import blocking, check_tps

COLUMNS = {"paslon_01": "suara_paslon_1", "paslon_02": "suara_paslon_2", "paslon_03": "suara_paslon_3"}
for _sex in ("l", "p", "j"):
    COLUMNS[f"dpt_{_sex}"] = f"pemilih_dpt_{_sex}"
    COLUMNS[f"pengguna_dpk_{_sex}"] = f"pengguna_non_dpt_{_sex}"
    for _stem in ("pengguna_dpt", "pengguna_dptb", "pengguna_total"):
        COLUMNS[f"{_stem}_{_sex}"] = f"{_stem}_{_sex}"
for _name in ("suara_sah", "suara_tidak_sah", "suara_total"):
    COLUMNS[_name] = _name


class RuleCount(msgspec.Struct, frozen=True):
    rule: str
    number: int
    severity: str
    explanation: str
    tps: int
    examples: list[str]


class SirekapReport(msgspec.Struct, frozen=True):
    rows: int
    tps_with_numbers: int
    tps_breaking_a_blocking_rule: int
    rules: list[RuleCount]
    anomalies: dict[str, int]
    anomaly_examples: dict[str, list[str]]


def read_rows(path: Path) -> Iterator[tuple[str, dict[str, int]]]:
    """(TPS code, the numbers it has) per row; empty or non-numeric cells are unknown."""
    lines = read_csv(path)
    _, header = next(lines)
    if "kode_tps" not in header:
        raise InvalidInput(f"{path}: expected Sirekap's per-TPS CSV with a kode_tps column")
    for _, fields in lines:
        row = dict(zip(header, fields, strict=False))
        numbers = {name: int(row[col]) for col, name in COLUMNS.items() if (row.get(col) or "").isdigit()}
        yield row["kode_tps"], numbers


def check_files(paths: list[Path]) -> SirekapReport:
    rows = 0
    with_numbers: dict[str, dict[str, int]] = {}
    for path in paths:
        for tps, numbers in read_rows(path):
            rows += 1
            if "suara_sah" in numbers:
                with_numbers[tps] = numbers
    per_rule: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    blocked = 0
    anomalies: Counter[str] = Counter()
    anomaly_examples: dict[str, list[str]] = {}
    for tps, numbers in with_numbers.items():
        findings = check_tps(numbers, numbers.get("pemilih_dpt_j"))
        blocked += blocking(findings)
        for f in findings:
            per_rule[f.rule] += 1
            examples.setdefault(f.rule, [])
            if len(examples[f.rule]) < 5:
                examples[f.rule].append(tps)
    flagged = [a for tps, n in with_numbers.items() for a in tps_anomalies(tps, n)]
    for a in flagged + village_outliers(with_numbers):
        anomalies[a.kind] += 1
        anomaly_examples.setdefault(a.kind, [])
        if len(anomaly_examples[a.kind]) < 5:
            anomaly_examples[a.kind].append(a.tps)
    return SirekapReport(
        rows=rows,
        tps_with_numbers=len(with_numbers),
        tps_breaking_a_blocking_rule=blocked,
        rules=[
            RuleCount(
                rule=name,
                number=RULE[name].number,
                severity=RULE[name].severity.value,
                explanation=RULE[name].explanation,
                tps=count,
                examples=examples[name],
            )
            for name, count in per_rule.most_common()
        ],
        anomalies=dict(anomalies.most_common()),
        anomaly_examples=anomaly_examples,
    )
