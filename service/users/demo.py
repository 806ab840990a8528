"""Demo accounts, one per role, in a region that has real TPS data."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.errors import NotFound
from service.regions.codes import Level
from service.users.credentials import new_secret
from service.users.model import IssuedCredential, Role
from service.users.store import upsert_user


async def create_demo_accounts(conn: asyncpg.Connection, province: str) -> list[IssuedCredential]:
    """An administrator, the PPK of the province's first kecamatan with a real DPT, and its first
    TPS's KPPS; re-running gives them new secrets."""
    tps = await conn.fetchrow(
        "SELECT code FROM tps WHERE code LIKE $1 || '%' AND dpt_j IS NOT NULL "
        "AND NOT dpt_synthetic ORDER BY code LIMIT 1",
        province,
    )
    if tps is None:
        raise NotFound(f"province {province} has no TPS with a real DPT; import them first")
    kecamatan = tps["code"][: Level.KECAMATAN.code_length]
    accounts: list[dict[str, Any]] = [
        dict(username="admin", display_name="Administrator rekap", role=Role.ADMIN),
        dict(
            username=f"ppk.{kecamatan}",
            display_name=f"PPK {kecamatan}",
            role=Role.OFFICER,
            scope_region=kecamatan,
        ),
        dict(
            username=f"kpps.{tps['code']}",
            display_name=f"KPPS {tps['code']}",
            role=Role.KPPS,
            tps_code=tps["code"],
        ),
    ]
    issued = []
    for account in accounts:
        secret = new_secret()
        user = await upsert_user(conn, secret=secret, **account)
        issued.append(IssuedCredential(user=user, secret=secret))
    return issued
