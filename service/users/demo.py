"""Demo accounts, one per role, in a region that has real TPS data."""

from __future__ import annotations

from typing import Any

import asyncpg

from service.errors import NotFound
from service.users.credentials import new_secret
from service.users.model import IssuedCredential, Role
from service.users.store import upsert_user


async def create_demo_accounts(
    conn: asyncpg.Connection, province: str, *, real_dpt: bool = True
) -> list[IssuedCredential]:
    """An administrator, a national recap officer, and the KPPS of the province's first TPS with
    a real DPT (or any DPT, for the example registry); re-running gives them new secrets."""
    tps = await conn.fetchrow(
        "SELECT code FROM tps WHERE code LIKE $1 || '%' AND dpt_j IS NOT NULL "
        "AND (NOT dpt_synthetic OR NOT $2) ORDER BY code LIMIT 1",
        province,
        real_dpt,
    )
    if tps is None:
        raise NotFound(f"province {province} has no TPS with a real DPT; import them first")
    accounts: list[dict[str, Any]] = [
        dict(username="admin", display_name="Administrator rekap", role=Role.ADMIN),
        # A national officer: the demo's TPS needing a person lie in several provinces.
        dict(username="petugas.kpu", display_name="Petugas KPU RI (demo)", role=Role.OFFICER),
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
