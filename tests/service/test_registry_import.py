from __future__ import annotations

import csv
import gzip
from pathlib import Path

import asyncpg
import pytest

from service.errors import InvalidInput
from service.regions.files import ImportRejected
from service.regions.registry import import_registry
from tests.conftest import rekap, shared
from tests.registry_files import KPU_ROWS, kpu_registry, write_csv

REGISTRY = "kpu_tps_registry/kpu_wilayah_tps_lvl1-5_20240318.csv.gz"


async def counts(conn: asyncpg.Connection) -> tuple[int, int]:
    return (
        await conn.fetchval("SELECT count(*) FROM region"),
        await conn.fetchval("SELECT count(*) FROM tps"),
    )


async def test_a_good_file_loads_regions_and_tps(conn: asyncpg.Connection, tmp_path: Path) -> None:
    report = await import_registry(conn, kpu_registry(tmp_path))
    assert (report.rows, report.inserted, report.updated, report.bad_lines) == (12, 12, 0, [])
    assert await counts(conn) == (8, 4)
    desa = await conn.fetchrow("SELECT * FROM region WHERE code = '3404072001'")
    assert (desa["name"], desa["level"], desa["parent_code"], desa["source"]) == (
        "CATURTUNGGAL",
        4,
        "340407",
        "kpu",
    )
    tps = await conn.fetchrow("SELECT * FROM tps WHERE code = '3404072001002'")
    assert (tps["desa_code"], tps["number"], tps["name"], tps["dpt_j"]) == ("3404072001", 2, "TPS 002", None)


async def test_importing_the_same_file_twice_changes_nothing(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    path = kpu_registry(tmp_path, gz=True)
    await import_registry(conn, path)
    before = await conn.fetch("SELECT *, xmin::text FROM region ORDER BY code")
    again = await import_registry(conn, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 12)
    assert await conn.fetch("SELECT *, xmin::text FROM region ORDER BY code") == before


async def test_a_renamed_region_is_updated(conn: asyncpg.Connection, tmp_path: Path) -> None:
    await import_registry(conn, kpu_registry(tmp_path))
    renamed = [r if r[0] != "340407" else ["340407", "DEPOK BARU", "3", "3", "3404"] for r in KPU_ROWS]
    report = await import_registry(conn, kpu_registry(tmp_path, renamed))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 11)
    assert await conn.fetchval("SELECT name FROM region WHERE code = '340407'") == "DEPOK BARU"


BAD_ROWS = [
    *KPU_ROWS,
    ["3404072002", "CONDONGCATUR", "13", "4"],  # line 14: a column short
    ["34040720AB", "X", "14", "4", "340407"],  # line 15: letters in a domestic code
    ["3404072003", "Y", "15", "3", "3404"],  # line 16: 10 digits but tingkat 3
    ["3404072004", "Z", "16", "4", "340408"],  # line 17: parent is not its prefix
    ["3404072001001", "TPS 001 again", "17", "5", "3404072001"],  # line 18: duplicate
    ["3405", "KAB X", "18", "2", "35"],  # line 19: kode_induk should be 34
    ["3501", "MALANG", "19", "2", "35"],  # line 20: province 35 missing
    ["350101", "KEC", "20", "3", "3501"],  # line 21: its parent was dropped
    ["3404072001009", "", "21", "5", "3404072001"],  # line 22: no name
    ["3404072001010", "TPS 010", "x1", "5", "3404072001"],  # line 23: kpu_id not a number
]


async def test_bad_lines_are_reported_and_nothing_is_imported(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    with pytest.raises(ImportRejected) as caught:
        await import_registry(conn, kpu_registry(tmp_path, BAD_ROWS))
    bad = {b.line: b.reason for b in caught.value.report.bad_lines}
    assert sorted(bad) == list(range(14, 24))
    assert bad[14] == "expected 5 columns, found 4"
    assert "digits only" in bad[15]
    assert bad[16] == "kode '3404072003' has 10 digits, but a kecamatan code has 6"
    assert bad[17] == "kode_induk '340408' should be '340407'"
    assert bad[18] == "kode 3404072001001 already appeared on line 6"
    assert bad[19] == "kode_induk '35' should be '34'"
    assert bad[20] == "kode_induk 35 is neither a good line of this file nor already imported"
    assert bad[21] == "kode_induk 3501 is neither a good line of this file nor already imported"
    assert bad[22] == "nama is empty"
    assert bad[23] == "kpu_id 'x1' is not a number"
    assert await counts(conn) == (0, 0)


async def test_skip_bad_imports_the_good_lines(conn: asyncpg.Connection, tmp_path: Path) -> None:
    report = await import_registry(conn, kpu_registry(tmp_path, BAD_ROWS), skip_bad=True)
    assert len(report.bad_lines) == 10
    assert await counts(conn) == (8, 4)
    assert await conn.fetchval("SELECT name FROM tps WHERE code = '3404072001001'") == "TPS 001"


async def test_only_imports_the_named_regions_and_their_ancestors(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    report = await import_registry(conn, kpu_registry(tmp_path), only=["340407"])
    assert report.outside_scope == 5
    codes = [r["code"] for r in await conn.fetch("SELECT code FROM region ORDER BY code")]
    assert codes == ["34", "3404", "340407", "3404072001"]


async def test_the_kemendagri_format_is_accepted(conn: asyncpg.Connection, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "wilayah.csv",
        ["kode", "nama", "level", "kode_induk"],
        [
            ["34", "DAERAH ISTIMEWA YOGYAKARTA", "provinsi", ""],
            ["34.04", "KAB. SLEMAN", "kabkota", "34"],
            ["34.04.07", "Depok", "kecamatan", "34.04"],
            ["34.04.07.2001", "Caturtunggal", "desa_kelurahan", "34.04.07"],
            ["34.04.07.2002", "Condongcatur", "kecamatan", "34.04.07"],
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        await import_registry(conn, path)
    assert [(b.line, b.reason) for b in caught.value.report.bad_lines] == [
        (6, "kode '34.04.07.2002' has 4 dotted parts; a kecamatan code has 3")
    ]
    report = await import_registry(conn, path, skip_bad=True)
    assert report.inserted == 4
    row = await conn.fetchrow("SELECT name, source, parent_code FROM region WHERE code = '3404072001'")
    assert tuple(row) == ("Caturtunggal", "kemendagri", "340407")


async def test_unreadable_files_are_refused_with_a_reason(conn: asyncpg.Connection, tmp_path: Path) -> None:
    unknown = write_csv(tmp_path / "other.csv", ["id", "name"], [["1", "x"]])
    with pytest.raises(InvalidInput, match="unknown file format"):
        await import_registry(conn, unknown)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InvalidInput, match="the file is empty"):
        await import_registry(conn, empty)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"kode,nama,kpu_id,tingkat,kode_induk\n34,X,1,1,\n")[:-12])
    with pytest.raises(InvalidInput, match="cannot read the file further"):
        await import_registry(conn, broken)
    with pytest.raises(InvalidInput, match="no such file"):
        await import_registry(conn, tmp_path / "missing.csv")
    assert await counts(conn) == (0, 0)


def test_the_command_prints_bad_lines_and_fails(fresh_db: str, tmp_path: Path) -> None:
    path = kpu_registry(tmp_path, BAD_ROWS)
    result = rekap("regions", "import", str(path), env={"REKAP_DATABASE_URL": fresh_db})
    assert result.returncode == 1
    assert f"{path}:14: expected 5 columns, found 4" in result.stderr
    assert "10 bad line(s), nothing imported" in result.stderr
    assert "Traceback" not in result.stderr
    ok = rekap("regions", "import", str(path), "--skip-bad", env={"REKAP_DATABASE_URL": fresh_db})
    assert ok.returncode == 0, ok.stderr
    assert "12 inserted" in ok.stdout and "10 bad lines skipped" in ok.stdout


async def test_the_real_registry_of_one_province(conn: asyncpg.Connection) -> None:
    path = shared(REGISTRY)
    with gzip.open(path, "rt", newline="") as f:
        expected = [r for r in csv.DictReader(f) if r["kode"].startswith("34")]
    report = await import_registry(conn, path, only=["34"])
    assert report.bad_lines == []
    assert report.inserted == len(expected)
    tps = sum(1 for r in expected if r["tingkat"] == "5")
    assert await conn.fetchval("SELECT count(*) FROM tps") == tps == 11932


@pytest.mark.slow
async def test_the_full_national_registry(conn: asyncpg.Connection) -> None:
    report = await import_registry(conn, shared(REGISTRY))
    assert report.rows == 914_062 and report.bad_lines == []
    domestic = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE level = 1) AS provinsi, count(*) FILTER (WHERE level = 2) AS kabkota,"
        " count(*) FILTER (WHERE level = 3) AS kecamatan, count(*) FILTER (WHERE level = 4) AS desa"
        " FROM region WHERE code NOT LIKE '99%'"
    )
    assert tuple(domestic) == (38, 514, 7_277, 83_731)
    assert await conn.fetchval("SELECT count(*) FROM tps WHERE code NOT LIKE '99%'") == 820_161
