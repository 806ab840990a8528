"""KPPS credentials: one login per TPS, named ``kpps.<TPS code>``."""

from __future__ import annotations

import asyncpg

from service.errors import NotFound
from service.regions.codes import InvalidCode, Level, level_of
from service.users.credentials import new_secret
from service.users.model import IssuedCredential, Role
from service.users.store import upsert_user


async def tps_in_region(conn: asyncpg.Connection, region: str) -> list[str]:
    if level_of(region) is Level.TPS:
        return [region]
    codes = [
        r["code"]
        for r in await conn.fetch("SELECT code FROM tps WHERE code LIKE $1 || '%' ORDER BY code", region)
    ]
    if not codes:
        raise NotFound(
            f"Wilayah {region} tidak punya TPS dalam daftar TPS.",
            detail=f"region {region} has no TPS in the registry",
        )
    return codes


async def issue_kpps(conn: asyncpg.Connection, codes: list[str]) -> list[IssuedCredential]:
    """A new secret for each TPS's KPPS login (created if missing); all or nothing."""
    for code in codes:
        if level_of(code) is not Level.TPS:
            raise InvalidCode(
                code,
                "a KPPS login belongs to one TPS, whose code has 13 digits",
                "akun KPPS milik satu TPS, yang kodenya 13 angka.",
            )
    issued = []
    async with conn.transaction():
        for code in codes:
            secret = new_secret()
            user = await upsert_user(
                conn,
                username=f"kpps.{code.lower()}",
                display_name=f"KPPS TPS {code}",
                role=Role.KPPS,
                secret=secret,
                tps_code=code,
            )
            issued.append(IssuedCredential(user=user, secret=secret))
    return issued
