from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest

from service.db.migrations import SQL_DIR, discover, migrate, status
from service.errors import MigrationError
from tests.conftest import rekap


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    target = tmp_path / "sql"
    shutil.copytree(SQL_DIR, target)
    return target


async def test_a_fresh_database_gets_every_migration_in_order(empty_db: str) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        applied = await migrate(conn, discover())
        assert [m.version for m in applied] == sorted(m.version for m in discover())
        rows = await conn.fetch("SELECT version, checksum FROM schema_migration ORDER BY version")
        assert [(r["version"], r["checksum"]) for r in rows] == [(m.version, m.checksum) for m in applied]
        assert await conn.fetchval("SELECT count(*) FROM candidate WHERE contest_id = 'pemilu2024-ppwp'") == 3
        assert (await status(conn, discover())).current
    finally:
        await conn.close()


async def test_migrating_again_applies_nothing(empty_db: str) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        await migrate(conn, discover())
        assert await migrate(conn, discover()) == []
    finally:
        await conn.close()


async def test_an_edited_applied_file_is_refused(empty_db: str, sql_copy: Path) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        await migrate(conn, discover(sql_copy))
        edited = sql_copy / "002_elections.sql"
        edited.write_text(edited.read_text() + "\n-- a quiet change\n")
        with pytest.raises(MigrationError, match=r"edited since: 002_elections\.sql"):
            await migrate(conn, discover(sql_copy))
        assert (await status(conn, discover(sql_copy))).edited == [2]
    finally:
        await conn.close()


async def test_a_removed_applied_file_is_refused(empty_db: str, sql_copy: Path) -> None:
    conn = await asyncpg.connect(empty_db)
    try:
        await migrate(conn, discover(sql_copy))
        last = sorted(sql_copy.glob("*.sql"))[-1]
        last.unlink()
        with pytest.raises(MigrationError, match="not in sql/"):
            await migrate(conn, discover(sql_copy))
    finally:
        await conn.close()


async def test_a_failing_migration_is_rolled_back_whole(empty_db: str, sql_copy: Path) -> None:
    (sql_copy / "900_broken.sql").write_text(
        "CREATE TABLE half_done (id integer);\nSELECT no_such_function();\n"
    )
    conn = await asyncpg.connect(empty_db)
    try:
        with pytest.raises(MigrationError, match=r"900_broken\.sql failed and was rolled back"):
            await migrate(conn, discover(sql_copy))
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        applied = await conn.fetch("SELECT version FROM schema_migration")
        assert 900 not in {r["version"] for r in applied}
        assert (await status(conn, discover(sql_copy))).pending == [900]
    finally:
        await conn.close()


def test_badly_named_files_are_refused(sql_copy: Path) -> None:
    (sql_copy / "4_more.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNN_words\.sql"):
        discover(sql_copy)


def test_two_files_with_one_number_are_refused(sql_copy: Path) -> None:
    (sql_copy / "001_again.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="used by two files"):
        discover(sql_copy)


def test_the_command_creates_the_database_and_migrates(absent_db_url: str) -> None:
    env = {"REKAP_DATABASE_URL": absent_db_url}
    first = rekap("db", "migrate", "--create", env=env)
    assert first.returncode == 0, first.stderr
    assert "created the database" in first.stdout
    assert "applied 001_regions.sql" in first.stdout
    again = rekap("db", "migrate", env=env)
    assert "nothing to apply" in again.stdout
    assert rekap("db", "status", env=env).returncode == 0
