"""Numbered plain-SQL migrations from ``sql/``: each applied once, in order, in its own transaction.

An applied file is recorded with its checksum; if the file is later edited (or removed), migrating
refuses to run, because the database would no longer match what the files say it is.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import asyncpg
import msgspec

from service.errors import MigrationError

_PACKAGED = Path(__file__).resolve().parent / "sql"
"""Where a built wheel puts the repository's sql/ (pyproject.toml's force-include)."""
SQL_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "sql"
_FILE_NAME = re.compile(r"^(?P<version>\d{3})_(?P<name>[a-z0-9_]+)\.sql$")
# Any constant: serialises concurrent migrators (two API workers starting at once).
_LOCK_KEY = 0x72656B6170

_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migration (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class Migration(msgspec.Struct, frozen=True):
    version: int
    name: str
    checksum: str
    sql: str


class MigrationStatus(msgspec.Struct, frozen=True):
    applied: list[int]
    pending: list[int]
    edited: list[int]
    missing: list[int]

    @property
    def current(self) -> bool:
        return not (self.pending or self.edited or self.missing)


def discover(directory: Path = SQL_DIR) -> list[Migration]:
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNN_words.sql (e.g. 001_regions.sql)")
        version = int(match["version"])
        if version in migrations:
            raise MigrationError(f"{path}: version {version:03d} is used by two files")
        data = path.read_bytes()
        migrations[version] = Migration(
            version=version,
            name=match["name"],
            checksum=hashlib.sha256(data).hexdigest(),
            sql=data.decode("utf-8"),
        )
    return [migrations[v] for v in sorted(migrations)]


async def status(conn: asyncpg.Connection, migrations: list[Migration]) -> MigrationStatus:
    ledger = await conn.fetchval("SELECT to_regclass('schema_migration') IS NOT NULL")
    rows = await conn.fetch("SELECT version, checksum FROM schema_migration") if ledger else []
    applied = {r["version"]: r["checksum"] for r in rows}
    on_disk = {m.version: m for m in migrations}
    return MigrationStatus(
        applied=sorted(applied),
        pending=[v for v in on_disk if v not in applied],
        edited=sorted(v for v, c in applied.items() if v in on_disk and on_disk[v].checksum != c),
        missing=sorted(v for v in applied if v not in on_disk),
    )


async def migrate(conn: asyncpg.Connection, migrations: list[Migration]) -> list[Migration]:
    """Apply what is pending; returns the migrations applied now."""
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(_CREATE_LEDGER)
        state = await status(conn, migrations)
        if state.edited:
            raise MigrationError(
                "applied migration files were edited since: "
                + ", ".join(_label(migrations, v) for v in state.edited)
                + ". Restore them and put the change in a new numbered file."
            )
        if state.missing:
            raise MigrationError(
                "the database has migrations that are not in sql/: "
                + ", ".join(f"{v:03d}" for v in state.missing)
                + ". This checkout is older than the database."
            )
        if state.pending and state.applied and min(state.pending) < max(state.applied):
            raise MigrationError(
                f"migration {min(state.pending):03d} is older than the newest applied one "
                f"({max(state.applied):03d}); give it a number after {max(state.applied):03d}."
            )
        done = []
        for migration in migrations:
            if migration.version not in state.pending:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                    )
            except asyncpg.PostgresError as error:
                raise MigrationError(
                    f"{_label(migrations, migration.version)} failed and was rolled back: {error}"
                ) from error
            done.append(migration)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


def _label(migrations: list[Migration], version: int) -> str:
    names = {m.version: m.name for m in migrations}
    return f"{version:03d}_{names.get(version, '?')}.sql"
