"""The schema's constraints: what the database itself refuses, whatever the application does."""

from __future__ import annotations

import asyncpg
import pytest


async def test_ppwp_2024_is_seeded_with_its_three_pairs(conn: asyncpg.Connection) -> None:
    rows = await conn.fetch(
        "SELECT ballot_number, kpu_id FROM candidate WHERE contest_id = 'pemilu2024-ppwp' ORDER BY ballot_number"
    )
    assert [(r["ballot_number"], r["kpu_id"]) for r in rows] == [(1, 100025), (2, 100026), (3, 100027)]


async def test_dpr_and_dpd_contests_fit_the_model(regions: asyncpg.Connection) -> None:
    conn = regions
    await conn.execute(
        """
        INSERT INTO party (election_id, number, name, abbreviation) VALUES ('pemilu2024', 1, 'Partai A', 'PA');
        INSERT INTO electoral_district (id, election_id, kind, name, seats)
        VALUES ('pemilu2024-dpr-diy', 'pemilu2024', 'dpr', 'DI Yogyakarta', 8),
               ('pemilu2024-dpd-34', 'pemilu2024', 'dpd', 'DI Yogyakarta', 4);
        INSERT INTO electoral_district_region VALUES ('pemilu2024-dpr-diy', '34'), ('pemilu2024-dpd-34', '34');
        INSERT INTO contest (id, election_id, kind, district_id, name, form)
        VALUES ('pemilu2024-dpr-diy', 'pemilu2024', 'dpr', 'pemilu2024-dpr-diy', 'DPR DIY', 'C.HASIL-DPR'),
               ('pemilu2024-dpd-34', 'pemilu2024', 'dpd', 'pemilu2024-dpd-34', 'DPD DIY', 'C.HASIL-DPD');
        INSERT INTO candidate (contest_id, election_id, kind, party_number, ballot_number, name)
        VALUES ('pemilu2024-dpr-diy', 'pemilu2024', 'party', 1, 1, 'Partai A'),
               ('pemilu2024-dpr-diy', 'pemilu2024', 'party_candidate', 1, 1, 'Calon Satu'),
               ('pemilu2024-dpr-diy', 'pemilu2024', 'party_candidate', 1, 2, 'Calon Dua'),
               ('pemilu2024-dpd-34', 'pemilu2024', 'individual', NULL, 1, 'Perseorangan Satu');
        """
    )
    assert await conn.fetchval("SELECT count(*) FROM candidate WHERE contest_id LIKE 'pemilu2024-d%'") == 4


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        # A party-list candidate must name a party; a paslon must have a running mate.
        (
            "INSERT INTO candidate (contest_id, election_id, kind, ballot_number, name) "
            "VALUES ('pemilu2024-ppwp', 'pemilu2024', 'party_candidate', 9, 'X')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO candidate (contest_id, election_id, kind, ballot_number, name) "
            "VALUES ('pemilu2024-ppwp', 'pemilu2024', 'paslon', 4, 'X')",
            asyncpg.CheckViolationError,
        ),
        # The same ballot number twice in one contest.
        (
            "INSERT INTO candidate (contest_id, election_id, kind, ballot_number, name, running_mate) "
            "VALUES ('pemilu2024-ppwp', 'pemilu2024', 'paslon', 1, 'X', 'Y')",
            asyncpg.UniqueViolationError,
        ),
        # A DPR contest needs its electoral district.
        (
            "INSERT INTO contest (id, election_id, kind, name, form) "
            "VALUES ('x', 'pemilu2024', 'dpr', 'x', 'C.HASIL-DPR')",
            asyncpg.CheckViolationError,
        ),
        # A TPS outside the desa its code names; a DPT that does not add up.
        (
            "INSERT INTO tps (code, desa_code, name) VALUES ('3171011001002', '3404072001', 'TPS 002')",
            asyncpg.CheckViolationError,
        ),
        (
            "UPDATE tps SET dpt_l = 1, dpt_p = 1, dpt_j = 3 WHERE code = '3404072001001'",
            asyncpg.CheckViolationError,
        ),
        # A region whose code does not start with its parent's.
        (
            "INSERT INTO region (code, level, name, parent_code, source) VALUES ('3505', 2, 'X', '31', 'kpu')",
            asyncpg.CheckViolationError,
        ),
        # A KPPS without a TPS; an officer scoped to a region at the wrong level.
        (
            "INSERT INTO app_user (username, display_name, role, secret_hash) VALUES ('kpps.x', 'x', 'kpps', 'h')",
            asyncpg.CheckViolationError,
        ),
        (
            "INSERT INTO app_user (username, display_name, role, scope_level, scope_region, secret_hash) "
            "VALUES ('ppk.x', 'x', 'officer', 3, '3404', 'h')",
            asyncpg.ForeignKeyViolationError,
        ),
    ],
)
async def test_the_database_refuses_inconsistent_rows(
    regions: asyncpg.Connection, sql: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await regions.execute(sql)
