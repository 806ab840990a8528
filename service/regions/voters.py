"""Registered voters (DPT) per TPS: real figures from per-TPS result files, synthetic ones for the rest.

The per-TPS files are Sirekap's published readings, OCR errors included; a DPT that does not add
up (l + p != j) or exceeds the 300-voter limit of a Pemilu 2024 TPS is a bad line, not a fact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import asyncpg

from service.errors import InvalidInput
from service.regions.codes import InvalidCode, Level, level_of
from service.regions.files import BadLine, BadRow, ImportRejected, ImportReport, checked_rows, read_csv
from service.regions.registry import check_scope, in_scope

# Pemilu 2024: at most 300 voters per TPS (Pilkada 2024: 600).
MAX_DPT = 300
_COLUMNS = ("kode_tps", "dpt_l", "dpt_p", "dpt_j")


class VoterRow(NamedTuple):
    line: int
    code: str
    dpt_l: int
    dpt_p: int
    dpt_j: int


def _parse(line: int, values: dict[str, str], max_dpt: int) -> VoterRow | None:
    """None when the file has no DPT for this TPS yet (not an error)."""
    code = values["kode_tps"]
    try:
        is_tps = level_of(code) is Level.TPS
    except InvalidCode:
        is_tps = False
    if not is_tps:
        raise BadRow(f"kode_tps {code!r} is not a 13-digit TPS code")
    raw = [values["dpt_l"], values["dpt_p"], values["dpt_j"]]
    if not any(raw):
        return None
    if not all(v.isdigit() for v in raw):
        raise BadRow(f"dpt_l, dpt_p, dpt_j must be whole numbers, found {', '.join(raw)}")
    dpt_l, dpt_p, dpt_j = (int(v) for v in raw)
    if dpt_l + dpt_p != dpt_j:
        raise BadRow(f"dpt_l {dpt_l} + dpt_p {dpt_p} = {dpt_l + dpt_p}, not dpt_j {dpt_j}")
    if dpt_j > max_dpt:
        raise BadRow(f"dpt_j {dpt_j} exceeds the {max_dpt}-voter limit of a TPS")
    return VoterRow(line, code, dpt_l, dpt_p, dpt_j)


_STAGE = """
CREATE TEMP TABLE import_voters (
    line integer NOT NULL, code text COLLATE "C" NOT NULL,
    dpt_l integer NOT NULL, dpt_p integer NOT NULL, dpt_j integer NOT NULL
) ON COMMIT DROP
"""

_PROBLEMS = """
SELECT v.line,
       CASE WHEN t.code IS NULL THEN 'TPS ' || v.code || ' is not in the registry (import the regions first)'
            ELSE 'kode_tps ' || v.code || ' already appeared on line ' || d.first END AS reason
FROM import_voters v
LEFT JOIN tps t ON t.code = v.code
JOIN (SELECT line, min(line) OVER (PARTITION BY code) AS first FROM import_voters) d ON d.line = v.line
WHERE t.code IS NULL OR d.first <> v.line
"""

_UPDATE = """
UPDATE tps t SET dpt_l = v.dpt_l, dpt_p = v.dpt_p, dpt_j = v.dpt_j, dpt_synthetic = false
FROM import_voters v
WHERE t.code = v.code AND v.line <> ALL($1::integer[])
  AND (t.dpt_l, t.dpt_p, t.dpt_j, t.dpt_synthetic) IS DISTINCT FROM (v.dpt_l, v.dpt_p, v.dpt_j, false)
"""


async def import_voters(
    conn: asyncpg.Connection,
    path: Path,
    *,
    only: Sequence[str] = (),
    skip_bad: bool = False,
    max_dpt: int = MAX_DPT,
    on_bytes: Callable[[int], None] | None = None,
) -> ImportReport:
    prefixes = check_scope(only)
    report = ImportReport(file=str(path))
    lines = read_csv(path, on_bytes)
    _, header = next(lines)
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise InvalidInput(f"{path}: the header lacks the column(s) {', '.join(missing)}")

    def parse(line: int, fields: list[str]) -> VoterRow | None:
        return _parse(line, dict(zip(header, fields, strict=True)), max_dpt)

    def rows() -> Iterator[VoterRow]:
        for row in checked_rows(lines, header, parse, report):
            if row is None:
                report.without_data += 1
            elif in_scope(row.code, prefixes):
                yield row
            else:
                report.outside_scope += 1

    async with conn.transaction():
        await conn.execute(_STAGE)
        await conn.copy_records_to_table("import_voters", records=rows(), columns=list(VoterRow._fields))
        problems = [BadLine(r["line"], r["reason"]) for r in await conn.fetch(_PROBLEMS)]
        report.bad_lines = sorted(report.bad_lines + problems, key=lambda b: b.line)
        if report.bad_lines and not skip_bad:
            raise ImportRejected(report)
        status = await conn.execute(_UPDATE, [b.line for b in problems])
        staged = await conn.fetchval("SELECT count(*) FROM import_voters")
    report.updated = int(status.split()[-1])
    report.unchanged = staged - len(problems) - report.updated
    return report


# Synthetic DPT: 300 minus a half-normal with sigma 69, which matches the spread of the real
# DKI Jakarta and DI Yogyakarta registers (10th percentile 172-221, 90th 287-290, cap 300).
# Deterministic per TPS code and seed (two uniforms from md5, Box-Muller), so re-running it,
# or running it on another machine, gives the same figures.
_FILL = """
WITH draw AS (
    SELECT code,
           sqrt(-2 * ln(u1)) AS r, 2 * pi() * u2 AS theta
    FROM (
        SELECT code,
               (('x' || substr(h, 1, 8))::bit(32)::bigint + 0.5) / 4294967296.0 AS u1,
               (('x' || substr(h, 9, 8))::bit(32)::bigint + 0.5) / 4294967296.0 AS u2
        FROM (SELECT code, md5(code || ':' || $2::integer) AS h FROM tps
              WHERE dpt_j IS NULL AND code LIKE $1 || '%') s
    ) u
), sized AS (
    SELECT code,
           greatest(20, least($3::integer, round($3::integer - abs(r * cos(theta)) * 69)))::integer AS j,
           0.5 + 0.03 * r * sin(theta) AS share_l
    FROM draw
)
UPDATE tps t
SET dpt_l = round(s.j * s.share_l)::integer,
    dpt_p = s.j - round(s.j * s.share_l)::integer,
    dpt_j = s.j,
    dpt_synthetic = true
FROM sized s
WHERE t.code = s.code AND t.dpt_j IS NULL
"""


async def fill_synthetic_voters(
    conn: asyncpg.Connection,
    *,
    only: Sequence[str] = (),
    seed: int = 2024,
    max_dpt: int = MAX_DPT,
    on_progress: Callable[[int], None] = lambda _: None,
) -> int:
    """Gives every TPS without a DPT a plausible synthetic one; returns how many were filled."""
    prefixes = check_scope(only) or tuple(
        r["code"] for r in await conn.fetch("SELECT code FROM region WHERE level = 1 ORDER BY code")
    )
    filled = 0
    for prefix in prefixes:
        async with conn.transaction():
            status = await conn.execute(_FILL, prefix, seed, max_dpt)
        count = int(status.split()[-1])
        filled += count
        on_progress(count)
    return filled
