from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from service.regions.files import ImportRejected
from service.regions.registry import import_registry
from service.regions.voters import fill_synthetic_voters, import_voters
from tests.conftest import shared
from tests.registry_files import VOTERS_HEADER, write_csv


async def dpt(conn: asyncpg.Connection, code: str) -> tuple[object, ...]:
    row = await conn.fetchrow("SELECT dpt_l, dpt_p, dpt_j, dpt_synthetic FROM tps WHERE code = $1", code)
    return tuple(row)


async def test_a_good_file_sets_the_dpt(regions: asyncpg.Connection, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "voters.csv",
        VOTERS_HEADER,
        [
            ["3404072001001", "34", "221", "108", "113", "31"],
            ["3404072001002", "34", "", "", "", ""],  # not yet published: no DPT, not an error
        ],
    )
    report = await import_voters(regions, path)
    assert (report.updated, report.without_data, report.bad_lines) == (1, 1, [])
    assert await dpt(regions, "3404072001001") == (108, 113, 221, False)
    assert await dpt(regions, "3404072001002") == (None, None, None, False)
    again = await import_voters(regions, path)
    assert (again.updated, again.unchanged) == (0, 1)


async def test_inconsistent_dpt_lines_are_bad(regions: asyncpg.Connection, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "voters.csv",
        VOTERS_HEADER,
        [
            ["3404072001001", "34", "221", "108", "113", "31"],
            ["3404072001002", "34", "249", "112", "127", "1"],  # line 3: 112 + 127 = 239
            ["3404072001003", "34", "883", "440", "443", "1"],  # line 4: over 300
            ["3404072001003", "34", "2x1", "1", "1", "1"],  # line 5: not a number
            ["3404072001099", "34", "200", "100", "100", "1"],  # line 6: no such TPS
            ["3404072001001", "34", "221", "108", "113", "31"],  # line 7: duplicate
            ["34040720010", "34", "1", "1", "0", "1"],  # line 8: short code
        ],
    )
    with pytest.raises(ImportRejected) as caught:
        await import_voters(regions, path)
    bad = {b.line: b.reason for b in caught.value.report.bad_lines}
    assert bad == {
        3: "dpt_l 112 + dpt_p 127 = 239, not dpt_j 249",
        4: "dpt_j 883 exceeds the 300-voter limit of a TPS",
        5: "dpt_l, dpt_p, dpt_j must be whole numbers, found 1, 1, 2x1",
        6: "TPS 3404072001099 is not in the registry (import the regions first)",
        7: "kode_tps 3404072001001 already appeared on line 2",
        8: "kode_tps '34040720010' is not a 13-digit TPS code",
    }
    assert await dpt(regions, "3404072001001") == (None, None, None, False)
    report = await import_voters(regions, path, skip_bad=True)
    assert report.updated == 1
    assert await dpt(regions, "3404072001001") == (108, 113, 221, False)


async def test_synthetic_voters_fill_only_the_gaps(regions: asyncpg.Connection, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "v.csv", VOTERS_HEADER, [["3404072001001", "34", "221", "108", "113", "1"]])
    await import_voters(regions, path)
    assert await fill_synthetic_voters(regions, seed=7) == 3
    assert await dpt(regions, "3404072001001") == (108, 113, 221, False)
    filled = await regions.fetch(
        "SELECT code, dpt_l, dpt_p, dpt_j FROM tps WHERE dpt_synthetic ORDER BY code"
    )
    assert len(filled) == 3
    assert all(20 <= r["dpt_j"] <= 300 and r["dpt_l"] + r["dpt_p"] == r["dpt_j"] for r in filled)
    assert await fill_synthetic_voters(regions, seed=7) == 0


async def test_synthetic_voters_are_reproducible_and_realistic(regions: asyncpg.Connection) -> None:
    """The same seed gives the same figures, another seed others."""

    async def fill(seed: int) -> list[asyncpg.Record]:
        await regions.execute(
            "UPDATE tps SET dpt_l = NULL, dpt_p = NULL, dpt_j = NULL, dpt_synthetic = false"
        )
        await fill_synthetic_voters(regions, seed=seed)
        return await regions.fetch("SELECT code, dpt_j FROM tps ORDER BY code")

    first = await fill(11)
    assert await fill(11) == first
    assert await fill(12) != first


async def test_real_dpt_files_flag_sirekap_misreads(conn: asyncpg.Connection) -> None:
    registry = shared("kpu_tps_registry/kpu_wilayah_tps_lvl1-5_20240318.csv.gz")
    await import_registry(conn, registry, only=["34"])
    report = await import_voters(
        conn, shared("pilpres2024_tps_diy/ppwp_tps_di_yogyakarta_20240317.csv.gz"), skip_bad=True
    )
    assert report.rows == 11_932
    assert report.without_data == 4_515
    assert report.updated + len(report.bad_lines) == 11_932 - 4_515
    assert all("not dpt_j" in b.reason or "limit" in b.reason for b in report.bad_lines)
    # Kulon Progo, TPS 1 of Jangkaran: 108 + 113 = 221, as the file says.
    assert tuple(await conn.fetchrow("SELECT dpt_l, dpt_p, dpt_j FROM tps WHERE code = '3401012001001'")) == (
        108,
        113,
        221,
    )
    # Synthetic figures for the TPS without one follow the real register's spread.
    assert await fill_synthetic_voters(conn) == 11_932 - report.updated
    spread = """
        SELECT avg(dpt_j) AS mean, percentile_disc(0.1) WITHIN GROUP (ORDER BY dpt_j) AS p10,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY dpt_j) AS p90, max(dpt_j) AS top
        FROM tps WHERE dpt_synthetic = $1
    """
    real, synthetic = await conn.fetchrow(spread, False), await conn.fetchrow(spread, True)
    assert abs(real["mean"] - synthetic["mean"]) < 20
    assert abs(real["p10"] - synthetic["p10"]) < 30 and abs(real["p90"] - synthetic["p90"]) < 15
    assert synthetic["top"] <= 300
