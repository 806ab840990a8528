"""``rekap users issue-kpps``: one login per TPS, printed once, with a printable QR sheet."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from service.errors import AuthenticationFailed
from service.users.store import login
from tests.conftest import rekap


def issued(stdout: str) -> dict[str, tuple[str, str]]:
    lines = stdout.strip().splitlines()
    assert lines[0] == "tps\tusername\tpassword"
    return {tps: (user, secret) for tps, user, secret in (line.split("\t") for line in lines[1:])}


async def test_a_login_per_tps_of_a_desa_with_a_sheet(
    regions: asyncpg.Connection, fresh_db: str, tmp_path: Path
) -> None:
    sheet = tmp_path / "kpps.html"
    env = {"REKAP_DATABASE_URL": fresh_db}
    done = rekap(
        "users",
        "issue-kpps",
        "--region",
        "3404072001",
        "--sheet",
        str(sheet),
        "--url",
        "https://rekap.example",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    logins = issued(done.stdout)
    assert sorted(logins) == ["3404072001001", "3404072001002", "3404072001003"]
    for tps, (username, secret) in logins.items():
        assert username == f"kpps.{tps}"
        _, _, user = await login(regions, username, secret, timedelta(hours=1))
        assert user.tps_code == tps
    page = sheet.read_text()
    assert page.count("<svg") == 3 and all(secret in page for _, secret in logins.values())
    assert "https://rekap.example/kpps" in page

    again = issued(rekap("users", "issue-kpps", "--tps", "3404072001001", env=env).stdout)
    old_secret = logins["3404072001001"][1]
    assert again["3404072001001"][1] != old_secret
    with pytest.raises(AuthenticationFailed):
        await login(regions, "kpps.3404072001001", old_secret, timedelta(hours=1))


async def test_bad_codes_are_refused_with_a_message(regions: asyncpg.Connection, fresh_db: str) -> None:
    env = {"REKAP_DATABASE_URL": fresh_db}
    short = rekap("users", "issue-kpps", "--tps", "340407", env=env)
    assert short.returncode == 1 and "13 digits" in short.stderr and "Traceback" not in short.stderr
    unknown = rekap("users", "issue-kpps", "--tps", "3404072001009", env=env)
    assert unknown.returncode == 1 and "3404072001009 is not in the registry" in unknown.stderr
    empty = rekap("users", "issue-kpps", "--region", "3171011002", env=env)
    assert empty.returncode == 1 and "has no TPS" in empty.stderr
    partly = rekap("users", "issue-kpps", "--tps", "3404072001001", "3404072001009", env=env)
    assert partly.returncode == 1 and "3404072001009" in partly.stderr
    assert await regions.fetchval("SELECT count(*) FROM app_user") == 0, "all or nothing"
