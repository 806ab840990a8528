from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from service.errors import AuthenticationFailed, InvalidInput, NotFound
from service.regions.codes import Level
from service.users.model import Role
from service.users.store import login, upsert_user, user_for_token
from tests.conftest import rekap

HOUR = timedelta(hours=1)


async def test_an_officer_is_scoped_to_a_region_at_its_level(regions: asyncpg.Connection) -> None:
    ppk = await upsert_user(
        regions,
        username="ppk.340407",
        display_name="PPK Depok",
        role=Role.OFFICER,
        secret="s1-long",
        scope_region="340407",
    )
    assert (ppk.scope_level, ppk.scope_region) == (Level.KECAMATAN, "340407")
    assert ppk.covers("3404072001003") and ppk.covers("340407")
    assert not ppk.covers("3171011001001") and not ppk.covers("3404")
    kpu_ri = await upsert_user(
        regions, username="kpu.ri", display_name="KPU RI", role=Role.OFFICER, secret="s2-long"
    )
    assert kpu_ri.scope_level is Level.NASIONAL and kpu_ri.covers("3171011001001")


async def test_a_kpps_covers_only_its_tps(regions: asyncpg.Connection) -> None:
    kpps = await upsert_user(
        regions,
        username="kpps.3404072001001",
        display_name="KPPS",
        role=Role.KPPS,
        secret="s-long",
        tps_code="3404072001001",
    )
    assert kpps.covers("3404072001001")
    assert not kpps.covers("3404072001002") and not kpps.covers("3404072001")


async def test_reissuing_replaces_the_secret(regions: asyncpg.Connection) -> None:
    await upsert_user(regions, username="admin", display_name="A", role=Role.ADMIN, secret="first-secret")
    token, _, user = await login(regions, "admin", "first-secret", HOUR)
    assert (await user_for_token(regions, token)).id == user.id
    await upsert_user(regions, username="admin", display_name="A", role=Role.ADMIN, secret="second-secret")
    with pytest.raises(AuthenticationFailed):
        await login(regions, "admin", "first-secret", HOUR)
    await login(regions, "admin", "second-secret", HOUR)
    stored = await regions.fetchval("SELECT secret_hash FROM app_user WHERE username = 'admin'")
    assert stored.startswith("$argon2id$") and "second-secret" not in stored


async def test_expired_tokens_are_refused(regions: asyncpg.Connection) -> None:
    await upsert_user(regions, username="admin", display_name="A", role=Role.ADMIN, secret="a-secret")
    token, _, _ = await login(regions, "admin", "a-secret", HOUR)
    await regions.execute("UPDATE session_token SET expires_at = now() - interval '1 second'")
    with pytest.raises(AuthenticationFailed, match="kedaluwarsa"):
        await user_for_token(regions, token)


async def test_refusals_say_why(regions: asyncpg.Connection) -> None:
    with pytest.raises(NotFound, match="TPS 3404072001099 is not in the registry"):
        await upsert_user(
            regions,
            username="kpps.x99",
            display_name="K",
            role=Role.KPPS,
            secret="s",
            tps_code="3404072001099",
        )
    await upsert_user(
        regions, username="kpps.one", display_name="K", role=Role.KPPS, secret="s", tps_code="3404072001001"
    )
    with pytest.raises(InvalidInput, match="already has a KPPS credential"):
        await upsert_user(
            regions,
            username="kpps.two",
            display_name="K",
            role=Role.KPPS,
            secret="s",
            tps_code="3404072001001",
        )
    with pytest.raises(InvalidInput, match="exists with another role or scope"):
        await upsert_user(regions, username="kpps.one", display_name="K", role=Role.ADMIN, secret="s")
    with pytest.raises(InvalidInput, match="is not valid"):
        await upsert_user(regions, username="No Spaces", display_name="K", role=Role.ADMIN, secret="s")


async def test_issue_officer_on_the_command_line(regions: asyncpg.Connection, fresh_db: str) -> None:
    env = {"REKAP_DATABASE_URL": fresh_db}
    done = rekap(
        "users", "issue-officer", "ppk.depok", "--region", "340407", "--name", "Siti PPK Depok", env=env
    )
    assert done.returncode == 0, done.stderr
    username, secret, scope = done.stdout.strip().split("\t")
    assert username == "ppk.depok" and len(secret) >= 12 and scope == "kecamatan 340407"
    _, _, officer = await login(regions, "ppk.depok", secret, ttl=HOUR)
    assert officer.role is Role.OFFICER and officer.scope_region == "340407"
    nation = rekap("users", "issue-officer", "kpu.ri", "--region", "nasional", "--name", "KPU RI", env=env)
    assert nation.returncode == 0 and nation.stdout.strip().endswith("\tnasional")
    desa = rekap("users", "issue-officer", "x.desa", "--region", "3404072001", "--name", "X", env=env)
    assert desa.returncode == 1 and "kecamatan or above" in desa.stderr
    unknown = rekap("users", "issue-officer", "x.sul", "--region", "73", "--name", "X", env=env)
    assert unknown.returncode == 1 and "not in the registry" in unknown.stderr
