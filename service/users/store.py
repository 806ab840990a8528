"""Users and sessions in PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from service.errors import AuthenticationFailed, InvalidInput, NotFound
from service.regions.codes import Level, level_of
from service.regions.store import require_region
from service.users.credentials import (
    DUMMY_HASH,
    hash_secret,
    new_token,
    token_digest,
    verify_secret,
)
from service.users.model import Role, User


def _user(row: asyncpg.Record) -> User:
    level = row["scope_level"]
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        tps_code=row["tps_code"],
        scope_level=None if level is None else Level(level),
        scope_region=row["scope_region"],
    )


async def upsert_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    role: Role,
    secret: str,
    tps_code: str | None = None,
    scope_region: str | None = None,
    scope_level: Level | None = None,
) -> User:
    """Creates the user, or gives an existing one a new secret (re-issuing a lost credential)."""
    if role is Role.OFFICER and scope_level is None:
        scope_level = Level.NASIONAL if scope_region is None else level_of(scope_region)
    if tps_code is not None and not await conn.fetchval("SELECT 1 FROM tps WHERE code = $1", tps_code):
        raise NotFound(f"TPS {tps_code} is not in the registry")
    if scope_region is not None:
        await require_region(conn, scope_region)
    try:
        row = await conn.fetchrow(
            """
            INSERT INTO app_user (username, display_name, role, tps_code, scope_level, scope_region,
                                  secret_hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (username) DO UPDATE
                SET display_name = EXCLUDED.display_name, secret_hash = EXCLUDED.secret_hash,
                    disabled_at = NULL
                WHERE (app_user.role, app_user.tps_code, app_user.scope_level, app_user.scope_region)
                      IS NOT DISTINCT FROM
                      (EXCLUDED.role, EXCLUDED.tps_code, EXCLUDED.scope_level, EXCLUDED.scope_region)
            RETURNING id, username, display_name, role, tps_code, scope_level, scope_region
            """,
            username,
            display_name,
            role.value,
            tps_code,
            None if scope_level is None else int(scope_level),
            scope_region,
            hash_secret(secret),
        )
    except asyncpg.CheckViolationError as error:
        raise InvalidInput(f"user {username!r} is not valid: {error.constraint_name}") from error
    except asyncpg.UniqueViolationError as error:
        raise InvalidInput(f"TPS {tps_code} already has a KPPS credential") from error
    if row is None:
        raise InvalidInput(f"user {username!r} exists with another role or scope; choose another username")
    return _user(row)


async def login(
    conn: asyncpg.Connection, username: str, secret: str, ttl: timedelta
) -> tuple[str, datetime, User]:
    row = await conn.fetchrow(
        """
        SELECT id, username, display_name, role, tps_code, scope_level, scope_region, secret_hash
        FROM app_user WHERE username = $1 AND disabled_at IS NULL
        """,
        username,
    )
    if not verify_secret(row["secret_hash"] if row else DUMMY_HASH, secret) or row is None:
        raise AuthenticationFailed("username or password is wrong")
    token, digest = new_token()
    expires_at = await conn.fetchval(
        "INSERT INTO session_token (token_hash, user_id, expires_at) "
        "VALUES ($1, $2, now() + $3) RETURNING expires_at",
        digest,
        row["id"],
        ttl,
    )
    return token, expires_at, _user(row)


async def user_for_token(conn: asyncpg.Connection, token: str) -> User:
    row = await conn.fetchrow(
        """
        SELECT u.id, u.username, u.display_name, u.role, u.tps_code, u.scope_level, u.scope_region
        FROM session_token s JOIN app_user u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL
        """,
        token_digest(token),
    )
    if row is None:
        raise AuthenticationFailed("the session has expired or is not valid; log in again")
    return _user(row)


async def user_named(conn: asyncpg.Connection, username: str) -> User:
    row = await conn.fetchrow(
        "SELECT id, username, display_name, role, tps_code, scope_level, scope_region FROM app_user "
        "WHERE username = $1 AND disabled_at IS NULL",
        username.strip().lower(),
    )
    if row is None:
        raise NotFound(f"no active user named {username!r}")
    return _user(row)
