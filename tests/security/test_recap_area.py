"""``/api/v1/recap/totals/{region}``: the published numbers for every login, the work in progress
(TPS received, verified, held for review, reviewed) for the officers whose area covers the region
and for administrators only."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.security.conftest import JAGAKARSA, PUBLISHED

IN_PROGRESS = ("tps_received", "tps_verified", "tps_needs_review", "tps_reviewed")
PUBLIC = ("code", "ballot", "numbers", "tps_expected", "tps_published")


def totals(api: httpx.Client, headers: dict[str, str], region: str) -> dict[str, object]:
    response = api.get(f"/api/v1/recap/totals/{region}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(
    ("username", "region"),
    [
        ("admin.rekap", "nasional"),
        ("admin.rekap", "317101"),
        ("kpu.sleman", "3404"),
        ("kpu.sleman", "340407"),
        ("ppk.depok", "340407"),
        ("ppk.depok", "3404072001"),
    ],
)
def test_the_officers_of_a_region_see_its_work_in_progress(
    api: httpx.Client, login: Callable[[str], dict[str, str]], username: str, region: str
) -> None:
    seen = totals(api, login(username), region)
    assert all(isinstance(seen[k], int) for k in IN_PROGRESS), seen
    if region.startswith("340407"):  # the held TPS and the reviewed one lie there
        assert (seen["tps_needs_review"], seen["tps_reviewed"]) == (1, 1)


@pytest.mark.parametrize(
    ("username", "region"),
    [
        ("kpu.sleman", "nasional"),
        ("kpu.sleman", "34"),
        ("ppk.depok", "3404"),
        ("ppk.jagakarsa", "340407"),
        ("ppk.jagakarsa", "3404072001"),
        (f"kpps.{PUBLISHED}", "3404072001"),
        (f"kpps.{JAGAKARSA}", "nasional"),
    ],
)
def test_anyone_else_sees_the_public_counts_alone(
    api: httpx.Client, login: Callable[[str], dict[str, str]], username: str, region: str
) -> None:
    seen = totals(api, login(username), region)
    assert all(seen[k] is None for k in IN_PROGRESS), seen
    full = totals(api, login("admin.rekap"), region)
    assert {k: seen[k] for k in PUBLIC} == {k: full[k] for k in PUBLIC}
    # At least the held TPS and the published one (other tests of this database add more).
    assert full["tps_needs_review"] >= 1 and full["tps_published"] >= 1  # type: ignore[operator]
