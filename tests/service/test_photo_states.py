"""The photo state machine: one table in code, mirrored by the database's CHECK."""

from __future__ import annotations

import asyncpg
import pytest

from service.errors import IllegalTransition
from service.photos.states import TRANSITIONS, PhotoState, require, sources


def test_a_read_or_refused_photo_never_moves_again() -> None:
    for final in (PhotoState.READ, PhotoState.RETAKE, PhotoState.FAILED):
        for new in PhotoState:
            with pytest.raises(IllegalTransition):
                require(final, new)
    with pytest.raises(IllegalTransition):
        require(PhotoState.RECEIVED, PhotoState.READ)  # never read without being taken first
    require(PhotoState.READING, PhotoState.READING)  # a second worker after the first went silent
    assert sorted(sources(PhotoState.READING)) == ["reading", "received"]


async def test_the_database_knows_exactly_these_states(regions: asyncpg.Connection) -> None:
    user = await regions.fetchval(
        "INSERT INTO app_user (username, display_name, role, secret_hash) "
        "VALUES ('admin', 'A', 'admin', 'x') RETURNING id"
    )
    insert = (
        "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, state) "
        "VALUES ('3404072001001', 'ppwp', $1, 'image/jpeg', 1, 1, 1, $2, $3)"
    )
    for i, state in enumerate(TRANSITIONS):
        await regions.execute(insert, f"{i:064x}", user, state.value)
    with pytest.raises(asyncpg.CheckViolationError):
        await regions.execute(insert, "f" * 64, user, "published")


async def test_the_raw_reading_is_never_changed_in_the_schema_either(regions: asyncpg.Connection) -> None:
    """photo_reading is append-only (sql/018): an UPDATE, DELETE or TRUNCATE raises, whoever asks."""
    user = await regions.fetchval(
        "INSERT INTO app_user (username, display_name, role, secret_hash) "
        "VALUES ('admin', 'A', 'admin', 'x') RETURNING id"
    )
    photo = await regions.fetchval(
        "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, state) "
        "VALUES ('3404072001001', 'ppwp', $1, 'image/jpeg', 1, 1, 1, $2, 'read') RETURNING id",
        "a" * 64,
        user,
    )
    await regions.execute(
        "INSERT INTO photo_reading (photo_id, outcome, page, reading, reader_version, ms) "
        "VALUES ($1, 'page', 2, '{}', 'test', 1)",
        photo,
    )
    for statement in (
        "UPDATE photo_reading SET page = 3",
        "DELETE FROM photo_reading",
        "TRUNCATE photo_reading",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await regions.execute(statement)
    assert await regions.fetchval("SELECT page FROM photo_reading WHERE photo_id = $1", photo) == 2
