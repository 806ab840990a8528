"""Recording a level's D.Hasil and tracing its differences down to the TPS."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from service.errors import Forbidden, InvalidInput
from service.recap import d_hasil
from service.users.model import Role, User
from service.users.store import upsert_user
from tests.conftest import rekap
from tests.tps_numbers import consistent, record


async def publish(conn: asyncpg.Connection, tps: str, seed: int) -> dict[str, int]:
    numbers = consistent(seed)
    await record(conn, tps, numbers)
    return numbers


@pytest.fixture
async def ppk(regions: asyncpg.Connection) -> User:
    return await upsert_user(
        regions,
        username="ppk.340407",
        display_name="PPK Depok",
        role=Role.OFFICER,
        secret="s-long-1",
        scope_region="340407",
    )


async def test_a_difference_names_the_child_field_numbers_and_the_tps_behind_it(
    regions: asyncpg.Connection, ppk: User
) -> None:
    first = await publish(regions, "3404072001001", 1)
    second = await publish(regions, "3404072001002", 2)
    counted = first["suara_paslon_2"] + second["suara_paslon_2"]
    recorded = await d_hasil.record(
        regions,
        ppk,
        "kecamatan",
        "340407",
        {
            "3404072001": {
                "suara_paslon_2": counted + 120,
                "suara_sah": first["suara_sah"] + second["suara_sah"],
            }
        },
    )
    assert recorded.recorded == 2
    (diff,) = recorded.discrepancies
    assert (diff.child, diff.field, diff.recorded, diff.expected, diff.difference) == (
        "3404072001",
        "suara_paslon_2",
        counted + 120,
        counted,
        120,
    )
    assert diff.tps[0].tps == "3404072001003" and diff.tps[0].state == "missing", (
        "the TPS not counted comes first"
    )
    assert {t.tps: t.value for t in diff.tps[1:]} == {
        "3404072001001": first["suara_paslon_2"],
        "3404072001002": second["suara_paslon_2"],
    }
    kept = await regions.fetchval("SELECT count(*) FROM recap_discrepancy WHERE child_code = '3404072001'")
    assert kept == 1


async def test_only_the_officer_of_that_region_and_level_records_it(
    regions: asyncpg.Connection, ppk: User
) -> None:
    numbers = {"3404072001": {"suara_sah": 1}}
    with pytest.raises(Forbidden):
        await d_hasil.record(regions, ppk, "kabkota", "3404", numbers)
    kpps = await upsert_user(
        regions,
        username="kpps.3404072001001",
        display_name="K",
        role=Role.KPPS,
        secret="s-long-2",
        tps_code="3404072001001",
    )
    with pytest.raises(Forbidden):
        await d_hasil.record(regions, kpps, "kecamatan", "340407", numbers)
    with pytest.raises(InvalidInput, match="tidak langsung berada di bawah 340407"):
        await d_hasil.record(regions, ppk, "kecamatan", "340407", {"3171011001": {"suara_sah": 1}})
    with pytest.raises(InvalidInput, match=r"'suara_paslon_9' bukan isian D\.Hasil"):
        await d_hasil.record(regions, ppk, "kecamatan", "340407", {"3404072001": {"suara_paslon_9": 1}})
    with pytest.raises(InvalidInput, match="Tingkat rekapitulasi harus salah satu dari"):
        await d_hasil.record(regions, ppk, "desa", "3404072001", numbers)
    assert await regions.fetchval("SELECT count(*) FROM d_hasil") == 0


async def test_a_csv_of_d_hasil_is_recorded_or_refused_whole(
    regions: asyncpg.Connection, ppk: User, fresh_db: str, tmp_path: Path
) -> None:
    numbers = await publish(regions, "3404072001001", 3)
    good = tmp_path / "d_hasil.csv"
    good.write_text(
        "level,region,child,field,value\n"
        f"kecamatan,340407,3404072001,suara_sah,{numbers['suara_sah']}\n"
        f"kecamatan,340407,3404072001,suara_tidak_sah,{numbers['suara_tidak_sah'] + 1}\n"
    )
    env = {"REKAP_DATABASE_URL": fresh_db}
    done = rekap("recap", "import", str(good), "--user", "ppk.340407", env=env)
    assert done.returncode == 0, done.stderr
    assert "2 numbers, 1 differences" in done.stdout and "3404072001003 (missing)" in done.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("level,region,child,field,value\nkecamatan,340407,3404072001,suara_sah,many\n")
    refused = rekap("recap", "import", str(bad), "--user", "ppk.340407", env=env)
    assert refused.returncode == 1 and "bad.csv:2" in refused.stderr
    assert await regions.fetchval("SELECT count(*) FROM d_hasil") == 2
