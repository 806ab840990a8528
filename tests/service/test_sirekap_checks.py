"""The consistency rules and anomaly flags on Sirekap's real published numbers, and on photos."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import msgspec
import pytest

from service.results.anomalies import pages_apart, shared_photos, tps_anomalies, village_outliers
from service.results.checks import check_tps
from service.results.sirekap import check_files, read_rows
from tests.conftest import rekap, shared

DKI = "pilpres2024_tps_dki/ppwp_tps_dki_jakarta_20240220.csv.gz"
DIY = "pilpres2024_tps_diy/ppwp_tps_di_yogyakarta_20240317.csv.gz"


def rows(relative: str, wanted: set[str]) -> dict[str, dict[str, int]]:
    return {tps: n for tps, n in read_rows(shared(relative)) if tps in wanted}


def rules_broken(numbers: dict[str, int]) -> set[str]:
    return {f.rule for f in check_tps(numbers, numbers.get("pemilih_dpt_j"))}


def test_real_anomalous_rows_are_flagged_and_consistent_rows_are_not() -> None:
    diy = rows(DIY, {"3401012005002", "3401012001001", "3401012001002"})
    assert rules_broken(diy["3401012005002"]) == {"suara_sah"}, "22 + 27 + 68 is not 217"
    assert rules_broken(diy["3401012001001"]) == set()
    assert rules_broken(diy["3401012001002"]) == set()
    dki = rows(DKI, {"3171031006061", "3171011003046", "3101021001006"})
    misread = dki["3171031006061"]  # 551 for one pair where the valid votes are 178
    assert "suara_sah" in rules_broken(misread)
    assert [a.kind for a in tps_anomalies("3171031006061", misread)] == ["landslide"]
    assert rules_broken(dki["3171011003046"]) == {"suara_total", "pengguna_total"}, "C read as 0"
    over = dki["3101021001006"]  # 191 votes at a TPS of 177 (DPTb voters): consistent, but shown
    assert rules_broken(over) == set()
    assert [a.kind for a in tps_anomalies("3101021001006", over)] == ["turnout_over_100"]


def test_the_report_over_both_provinces() -> None:
    report = check_files([shared(DKI), shared(DIY)])
    assert (report.rows, report.tps_with_numbers) == (42644, 20039)
    by_rule = {r.rule: r.tps for r in report.rules}
    assert by_rule["suara_sah"] == 681 and by_rule["suara_total"] == 218
    assert report.tps_breaking_a_blocking_rule == 2954
    assert report.anomalies["turnout_over_100"] == 509


def test_the_command_line_prints_json_and_refuses_a_wrong_file(tmp_path: Path) -> None:
    done = rekap("check", "sirekap", str(shared(DIY)), "--json")
    assert done.returncode == 0, done.stderr
    assert msgspec.json.decode(done.stdout)["tps_with_numbers"] == 7416
    wrong = tmp_path / "other.csv"
    wrong.write_text("kode,nama\n34,DIY\n")
    refused = rekap("check", "sirekap", str(wrong))
    assert refused.returncode == 1 and "kode_tps" in refused.stderr and "Traceback" not in refused.stderr


def test_a_tps_far_from_its_village_is_flagged() -> None:
    village = {
        f"3404072001{i:03d}": {"suara_paslon_1": 30 + i, "suara_paslon_2": 100, "suara_paslon_3": 60}
        for i in range(1, 8)
    }
    village["3404072001008"] = {"suara_paslon_1": 10, "suara_paslon_2": 180, "suara_paslon_3": 5}
    flagged = village_outliers(village)
    assert {a.tps for a in flagged} == {"3404072001008"}
    assert village_outliers({k: v for k, v in list(village.items())[:4]}) == [], "too few TPS to judge"


async def test_the_same_photo_for_two_tps_and_pages_days_apart(regions: asyncpg.Connection) -> None:
    user = await regions.fetchval(
        "INSERT INTO app_user (username, display_name, role, secret_hash) VALUES ('admin', 'A', 'admin', 'x') RETURNING id"
    )
    insert = (
        "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, state, uploaded_at) "
        "VALUES ($1, 'ppwp', $2, 'image/jpeg', 1, 1, 1, $3, 'read', now() - make_interval(hours => $4)) RETURNING id"
    )
    same = "a" * 64
    first = await regions.fetchval(insert, "3404072001001", same, user, 0)
    await regions.fetchval(insert, "3404072001002", same, user, 0)
    late = await regions.fetchval(insert, "3404072001001", "b" * 64, user, 30)
    for photo_id, page in ((first, 1), (late, 2)):
        await regions.execute(
            "INSERT INTO photo_reading (photo_id, outcome, page, reading, reader_version, ms) VALUES ($1, 'page', $2, '{}', 't', 1)",
            photo_id,
            page,
        )
    assert sorted(a.tps for a in await shared_photos(regions)) == ["3404072001001", "3404072001002"]
    (apart,) = await pages_apart(regions)
    assert apart.tps == "3404072001001" and apart.kind == "pages_apart"


@pytest.mark.parametrize("kind", ["turnout_over_100", "landslide"])
def test_small_or_ordinary_tps_are_not_flagged(kind: str) -> None:
    ordinary = {
        "pemilih_dpt_j": 250,
        "suara_total": 200,
        "suara_sah": 195,
        "suara_paslon_1": 100,
        "suara_paslon_2": 90,
        "suara_paslon_3": 5,
    }
    small = {
        "pemilih_dpt_j": 60,
        "suara_total": 50,
        "suara_sah": 50,
        "suara_paslon_1": 50,
        "suara_paslon_2": 0,
        "suara_paslon_3": 0,
    }
    assert [a for a in tps_anomalies("x", ordinary) + tps_anomalies("y", small) if a.kind == kind] == []
