"""Finding 8: the service connected as a superuser owning the tables. It now connects as a member
of rekap_app (sql/012_least_privilege.sql), which can do its work but not switch the audit
trail's guards off, change the history or record a migration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from service.audit.verify import verify
from service.db.roles import APP_ROLE, too_powerful
from service.results import new_reading
from service.users.model import Role
from service.users.store import upsert_user
from tests.conftest import admin, as_service, rekap
from tests.tps_numbers import consistent, record

TPS = "3404072001001"
APPEND_ONLY = (
    "photo_reading",
    "d_hasil",
    "recap_discrepancy",
    "public_change",
    "tps_decoding",
    "retake_request",
    "audit_checkpoint",
)


@pytest.fixture
async def service(regions: asyncpg.Connection, fresh_db: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the service connects, to a database holding one TPS's history."""
    conn = await asyncpg.connect(as_service(fresh_db))
    await record(conn, TPS, consistent(1))
    yield conn
    await conn.close()


async def test_the_service_role_is_neither_superuser_nor_owner(service: asyncpg.Connection) -> None:
    assert await service.fetchval("SELECT current_user") == APP_ROLE
    assert await too_powerful(service, APP_ROLE) is None


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE tps_result_event DISABLE TRIGGER tps_result_event_append_only",
        "ALTER TABLE tps_result_event DISABLE TRIGGER ALL",
        "SET session_replication_role = replica",
        "SET LOCAL session_replication_role = replica",
        "UPDATE tps_result_event SET numbers_after = '{}' WHERE tps_code = '3404072001001'",
        "DELETE FROM tps_result_event",
        "TRUNCATE tps_result_event CASCADE",
        "DROP TRIGGER tps_result_event_chain ON tps_result_event",
        # Events come only from tps_result_moves, which chains them (sql/017): not a forged link.
        "INSERT INTO tps_result_event (tps_code, ballot, actor_system, to_state, numbers_after, reason, "
        "prev_hash, hash) VALUES ('3404072001001', 'ppwp', 'x', 'published', '{}', 'x', '\\x00', '\\x00')",
        "INSERT INTO tps_result_event (tps_code, ballot, actor_system, to_state, numbers_after, reason) "
        "VALUES ('3404072001001', 'ppwp', 'x', 'published', '{}', 'x')",
        "CREATE OR REPLACE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
        "INSERT INTO schema_migration (version, name, checksum) VALUES (999, 'x', 'x')",
        "CREATE TABLE shadow (id int)",
    ],
)
async def test_the_service_cannot_switch_off_or_bypass_the_guards(
    service: asyncpg.Connection, sql: str
) -> None:
    async with service.transaction():
        before = await service.fetch("SELECT id, hash FROM tps_result_event ORDER BY id")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        async with service.transaction():
            await service.execute(sql)
    assert await service.fetch("SELECT id, hash FROM tps_result_event ORDER BY id") == before
    assert (await verify(service)).intact


@pytest.mark.parametrize("table", APPEND_ONLY)
async def test_append_only_tables_take_rows_but_never_change(service: asyncpg.Connection, table: str) -> None:
    rights = await service.fetchrow(
        "SELECT has_table_privilege($1, $2, 'SELECT') AS s, has_table_privilege($1, $2, 'INSERT') AS i, "
        "has_table_privilege($1, $2, 'UPDATE') AS u, has_table_privilege($1, $2, 'DELETE') AS d, "
        "has_table_privilege($1, $2, 'TRUNCATE') AS t",
        APP_ROLE,
        table,
    )
    assert dict(rights) == {"s": True, "i": True, "u": False, "d": False, "t": False}


async def test_the_audit_trail_is_read_by_the_service_and_written_only_by_its_function(
    service: asyncpg.Connection,
) -> None:
    rights = await service.fetchrow(
        "SELECT has_table_privilege($1, 'tps_result_event', 'SELECT') AS s, "
        "has_table_privilege($1, 'tps_result_event', 'INSERT') AS i, "
        "has_function_privilege($1, 'tps_result_moves(text, text, integer, text[], text[], bigint[], "
        "text[], jsonb, jsonb, bigint, bigint[])', 'EXECUTE') AS f",
        APP_ROLE,
    )
    assert dict(rights) == {"s": True, "i": False, "f": True}


async def test_the_service_does_its_work_and_the_history_grows(service: asyncpg.Connection) -> None:
    """The workflow as the service runs it: a new reading of the published TPS waits beside it,
    an officer takes it, which appends events through tps_result_moves (its sequence and advisory lock
    included) and updates the TPS's row."""
    before = await service.fetchval("SELECT count(*) FROM tps_result_event WHERE tps_code = $1", TPS)
    await record(service, TPS, consistent(2))
    assert await service.fetchval("SELECT count(*) FROM new_reading WHERE tps_code = $1", TPS) == 1
    officer = await upsert_user(
        service, username="ppk.340407", display_name="PPK", role=Role.OFFICER, secret="s-long-1"
    )
    async with service.transaction():
        await new_reading.decide(service, TPS, officer.id, adopt=True, reason="foto baru", dpt=None)
    assert await service.fetchval("SELECT count(*) FROM tps_result_event WHERE tps_code = $1", TPS) > before
    report = await verify(service)
    assert report.intact and report.chains == 1


async def test_migrate_makes_the_service_role_a_member_and_says_so(fresh_db: str) -> None:
    done = rekap(
        "db",
        "migrate",
        env={"REKAP_DATABASE_OWNER_URL": fresh_db, "REKAP_DATABASE_URL": as_service(fresh_db)},
    )
    assert done.returncode == 0, done.stderr
    assert f"the service connects as '{APP_ROLE}'" in done.stdout

    alone = rekap("db", "migrate", env={"REKAP_DATABASE_URL": fresh_db})
    assert alone.returncode == 0 and "WARNING: the service connects as the owner" in alone.stdout


async def test_migrate_refuses_a_service_role_that_could_undo_the_guards(fresh_db: str) -> None:
    superuser = f"rekap_test_super_{uuid.uuid4().hex[:8]}"
    await admin(f"CREATE ROLE {superuser} LOGIN SUPERUSER")
    try:
        url = fresh_db.replace("postgres@", f"{superuser}@", 1)
        assert url != fresh_db
        done = rekap("db", "migrate", env={"REKAP_DATABASE_OWNER_URL": fresh_db, "REKAP_DATABASE_URL": url})
        assert done.returncode == 1
        assert f"logs in as '{superuser}', which is a superuser" in done.stderr
    finally:
        await admin(f"DROP ROLE {superuser}")


async def test_a_new_login_role_is_created_a_member_of_the_service_role(fresh_db: str) -> None:
    login = f"rekap_test_web_{uuid.uuid4().hex[:8]}"
    url = fresh_db.replace("postgres@", f"{login}:a-local-password@", 1)
    try:
        done = rekap("db", "migrate", env={"REKAP_DATABASE_OWNER_URL": fresh_db, "REKAP_DATABASE_URL": url})
        assert done.returncode == 0, done.stderr
        assert f"'{login}' (created), a member of {APP_ROLE}" in done.stdout
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM tps_result_event") == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("SET session_replication_role = replica")
        finally:
            await conn.close()
    finally:
        await admin(f"DROP ROLE IF EXISTS {login}")  # roles are the cluster's: leave none behind
