"""Importing the region and TPS registry: KPU's Sirekap tree (levels 1-5) or Kemendagri's list.

Rows are checked one by one while they stream into a staging table (COPY); duplicates and
missing parents are then found with set-based SQL, and everything is upserted in the same
transaction, so a file with bad lines imports nothing unless ``skip_bad`` is set, and importing
the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import asyncpg

from service.errors import InvalidInput
from service.regions.codes import CODE_LENGTHS, InvalidCode, Level, level_of
from service.regions.files import BadLine, BadRow, ImportRejected, ImportReport, checked_rows, read_csv

KPU_HEADER = ["kode", "nama", "kpu_id", "tingkat", "kode_induk"]
NATIONAL_REGISTRY = "kpu_tps_registry/kpu_wilayah_tps_lvl1-5_20240318.csv.gz"
"""KPU's registry of every region and TPS, under the shared data folder (``REKAP_DATA_DIR``)."""
KEMENDAGRI_HEADER = ["kode", "nama", "level", "kode_induk"]
_KEMENDAGRI_LEVELS = {
    "provinsi": Level.PROVINSI,
    "kabkota": Level.KABKOTA,
    "kecamatan": Level.KECAMATAN,
    "desa_kelurahan": Level.DESA,
}


class RegistryRow(NamedTuple):
    line: int
    code: str
    level: int
    name: str
    parent: str | None
    kpu_id: int | None


class _Parser(NamedTuple):
    source: str
    parse: Callable[[int, list[str]], RegistryRow]


def _parse_kpu(line: int, fields: list[str]) -> RegistryRow:
    code, name, kpu_id, tingkat, parent = fields
    if tingkat not in {"1", "2", "3", "4", "5"}:
        raise BadRow(f"tingkat {tingkat!r} is not a level from 1 (provinsi) to 5 (TPS)")
    if kpu_id and not kpu_id.isdigit():
        raise BadRow(f"kpu_id {kpu_id!r} is not a number")
    return _checked(line, code, Level(int(tingkat)), name, parent, int(kpu_id) if kpu_id else None)


def _parse_kemendagri(line: int, fields: list[str]) -> RegistryRow:
    code, name, level_name, parent = fields
    level = _KEMENDAGRI_LEVELS.get(level_name)
    if level is None:
        raise BadRow(f"level {level_name!r} is not one of {', '.join(_KEMENDAGRI_LEVELS)}")
    parts = code.split(".")
    if len(parts) != level:
        raise BadRow(f"kode {code!r} has {len(parts)} dotted parts; a {level.title} code has {level}")
    return _checked(line, code.replace(".", ""), level, name, parent.replace(".", ""), None)


def _checked(line: int, code: str, level: Level, name: str, parent: str, kpu_id: int | None) -> RegistryRow:
    try:
        actual = level_of(code)
    except InvalidCode as error:
        raise BadRow(f"kode {code!r}: {error.reason}") from None
    if actual is not level:
        raise BadRow(
            f"kode {code!r} has {len(code)} digits, but a {level.title} code has {CODE_LENGTHS[level]}"
        )
    if not name.strip():
        raise BadRow("nama is empty")
    expected_parent = code[: CODE_LENGTHS[Level(level - 1)]] if level > Level.PROVINSI else ""
    if parent != expected_parent:
        raise BadRow(
            f"kode_induk {parent!r} should be {expected_parent!r}"
            if expected_parent
            else f"a provinsi has no kode_induk, found {parent!r}"
        )
    return RegistryRow(line, code, int(level), name.strip(), parent or None, kpu_id)


def _parser_for(path: Path, header: list[str]) -> _Parser:
    if header == KPU_HEADER:
        return _Parser("kpu", _parse_kpu)
    if header == KEMENDAGRI_HEADER:
        return _Parser("kemendagri", _parse_kemendagri)
    raise InvalidInput(
        f"{path}: unknown file format; the header should be {','.join(KPU_HEADER)} "
        f"(KPU registry) or {','.join(KEMENDAGRI_HEADER)} (Kemendagri), found {','.join(header)}"
    )


def check_scope(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Validates ``--only`` codes: each must be a region code (a province, a regency, ...)."""
    for prefix in prefixes:
        if level_of(prefix) is Level.TPS:
            raise InvalidInput(f"--only {prefix}: give a region code, not a TPS code")
    return tuple(prefixes)


def in_scope(code: str, prefixes: tuple[str, ...]) -> bool:
    """A row is in scope when it lies under a prefix or is one of the prefix's ancestors."""
    return not prefixes or any(code.startswith(p) or p.startswith(code) for p in prefixes)


_STAGE = """
CREATE TEMP TABLE import_region (
    line integer NOT NULL, code text COLLATE "C" NOT NULL, level smallint NOT NULL,
    name text NOT NULL, parent text COLLATE "C", kpu_id bigint
) ON COMMIT DROP
"""

_DUPLICATES = """
DELETE FROM import_region r USING (
    SELECT line, code, min(line) OVER (PARTITION BY code) AS first FROM import_region
) d
WHERE r.line = d.line AND d.line <> d.first
RETURNING r.line, r.code, d.first
"""

# Level by level, so that the children of a dropped row are dropped in turn.
_ORPHANS = """
DELETE FROM import_region c
WHERE c.level = $1
  AND NOT EXISTS (SELECT 1 FROM import_region p WHERE p.code = c.parent)
  AND NOT EXISTS (SELECT 1 FROM region p WHERE p.code = c.parent)
RETURNING c.line, c.parent
"""

_UPSERT_REGIONS = """
WITH written AS (
    INSERT INTO region AS r (code, level, name, parent_code, kpu_id, source)
    SELECT code, level, name, parent, kpu_id, $1 FROM import_region WHERE level <= 4
    ON CONFLICT (code) DO UPDATE
        SET name = EXCLUDED.name, kpu_id = EXCLUDED.kpu_id, source = EXCLUDED.source
        WHERE (r.name, r.kpu_id, r.source) IS DISTINCT FROM
              (EXCLUDED.name, EXCLUDED.kpu_id, EXCLUDED.source)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
"""

_UPSERT_TPS = """
WITH written AS (
    INSERT INTO tps AS t (code, desa_code, name, kpu_id)
    SELECT code, parent, name, kpu_id FROM import_region WHERE level = 5
    ON CONFLICT (code) DO UPDATE
        SET name = EXCLUDED.name, kpu_id = EXCLUDED.kpu_id
        WHERE (t.name, t.kpu_id) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kpu_id)
    RETURNING xmax = 0 AS inserted
)
SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated
FROM written
"""


async def import_registry(
    conn: asyncpg.Connection,
    path: Path,
    *,
    only: Sequence[str] = (),
    skip_bad: bool = False,
    on_bytes: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] = lambda _: None,
) -> ImportReport:
    prefixes = check_scope(only)
    report = ImportReport(file=str(path))
    lines = read_csv(path, on_bytes)
    _, header = next(lines)
    parser = _parser_for(path, header)

    def rows() -> Iterator[RegistryRow]:
        for row in checked_rows(lines, header, parser.parse, report):
            if in_scope(row.code, prefixes):
                yield row
            else:
                report.outside_scope += 1

    async with conn.transaction():
        await conn.execute(_STAGE)
        await conn.copy_records_to_table("import_region", records=rows(), columns=list(RegistryRow._fields))
        on_stage("checking codes and parents")
        for dup in await conn.fetch(_DUPLICATES):
            report.bad_lines.append(
                BadLine(dup["line"], f"kode {dup['code']} already appeared on line {dup['first']}")
            )
        for level in range(Level.KABKOTA, Level.TPS + 1):
            for orphan in await conn.fetch(_ORPHANS, level):
                report.bad_lines.append(
                    BadLine(
                        orphan["line"],
                        f"kode_induk {orphan['parent']} is neither a good line of this file "
                        "nor already imported",
                    )
                )
        report.bad_lines.sort(key=lambda b: b.line)
        if report.bad_lines and not skip_bad:
            raise ImportRejected(report)
        on_stage("writing regions")
        regions = await conn.fetchrow(_UPSERT_REGIONS, parser.source)
        on_stage("writing TPS")
        tps = await conn.fetchrow(_UPSERT_TPS)
        staged = await conn.fetchval("SELECT count(*) FROM import_region")
    assert regions is not None and tps is not None
    report.inserted = regions["inserted"] + tps["inserted"]
    report.updated = regions["updated"] + tps["updated"]
    report.unchanged = staged - report.inserted - report.updated
    return report
