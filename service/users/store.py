"""Users and sessions in PostgreSQL.

A session is a row of ``session_token`` (the SHA-256 of a bearer token). It ends when its
``expires_at`` passes (``REKAP_TOKEN_TTL_HOURS``, 12 by default: an election night's shift), when
its bearer logs out, when the user's secret is issued again (the old credential sheet may be in
the wrong hands) and when the user is disabled. Ended sessions are deleted, not flagged: an expired
one when it is next presented, and each user's expired ones at their next login, so the table
holds at most the sessions of the last TTL plus one stale set per user who never returned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from service.errors import AuthenticationFailed, InvalidInput, NotFound
from service.regions.codes import Level, level_of
from service.regions.store import require_region
from service.users.credentials import DUMMY_HASH, Hashing, hashing, new_token, token_digest
from service.users.model import Role, User

WRONG_CREDENTIALS = "Nama pengguna atau kata sandi salah."
SESSION_INVALID = "Sesi ini tidak berlaku lagi; silakan masuk lagi."
SESSION_EXPIRED = "Sesi Anda sudah berakhir (kedaluwarsa); silakan masuk lagi."
_COLUMNS = "id, username, display_name, role, tps_code, scope_level, scope_region"


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
    hasher: Hashing | None = None,
) -> User:
    """Creates the user, or gives an existing one a new secret (re-issuing a lost credential),
    ending its sessions and enabling it again."""
    if role is Role.OFFICER and scope_level is None:
        scope_level = Level.NASIONAL if scope_region is None else level_of(scope_region)
    if tps_code is not None and not await conn.fetchval("SELECT 1 FROM tps WHERE code = $1", tps_code):
        raise NotFound(f"TPS {tps_code} is not in the registry")
    if scope_region is not None:
        await require_region(conn, scope_region)
    secret_hash = await (hasher or hashing()).hash(secret)
    try:
        async with conn.transaction():
            row = await conn.fetchrow(
                f"""
                INSERT INTO app_user (username, display_name, role, tps_code, scope_level, scope_region,
                                      secret_hash)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (username) DO UPDATE
                    SET display_name = EXCLUDED.display_name, secret_hash = EXCLUDED.secret_hash,
                        disabled_at = NULL
                    WHERE (app_user.role, app_user.tps_code, app_user.scope_level, app_user.scope_region)
                          IS NOT DISTINCT FROM
                          (EXCLUDED.role, EXCLUDED.tps_code, EXCLUDED.scope_level, EXCLUDED.scope_region)
                RETURNING {_COLUMNS}
                """,  # noqa: S608 - constant columns
                username,
                display_name,
                role.value,
                tps_code,
                None if scope_level is None else int(scope_level),
                scope_region,
                secret_hash,
            )
            if row is not None:
                await end_sessions(conn, row["id"])
    except asyncpg.CheckViolationError as error:
        raise InvalidInput(f"user {username!r} is not valid: {error.constraint_name}") from error
    except asyncpg.UniqueViolationError as error:
        raise InvalidInput(f"TPS {tps_code} already has a KPPS credential") from error
    if row is None:
        raise InvalidInput(f"user {username!r} exists with another role or scope; choose another username")
    return _user(row)


async def end_sessions(conn: asyncpg.Connection, user_id: int) -> int:
    """Ends every session of a user; how many there were."""
    ended: int = await conn.fetchval(
        "WITH ended AS (DELETE FROM session_token WHERE user_id = $1 RETURNING 1) SELECT count(*) FROM ended",
        user_id,
    )
    return ended


async def login(
    db: asyncpg.Pool | asyncpg.Connection,
    username: str,
    secret: str,
    ttl: timedelta,
    *,
    hasher: Hashing | None = None,
) -> tuple[str, datetime, User]:
    """A new session for the user whose secret this is. Given the pool (as the API does), each
    query takes a connection of its own, so that none is held while the secret is verified.

    The session is only made if the secret verified is still the user's and the user is still
    enabled: a re-issue or a disable that lands during the verification is not undone by it."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS}, secret_hash FROM app_user WHERE username = $1 AND disabled_at IS NULL",  # noqa: S608
        username,
    )
    verified = await (hasher or hashing()).verify(row["secret_hash"] if row else DUMMY_HASH, secret)
    if not verified or row is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS, detail="wrong username or password")
    token, digest = new_token()
    expires_at = await db.fetchval(
        """
        WITH expired AS (DELETE FROM session_token WHERE user_id = $2 AND expires_at <= now())
        INSERT INTO session_token (token_hash, user_id, expires_at)
        SELECT $1, id, now() + $3 FROM app_user
        WHERE id = $2 AND secret_hash = $4 AND disabled_at IS NULL
        RETURNING expires_at
        """,
        digest,
        row["id"],
        ttl,
        row["secret_hash"],
    )
    if expires_at is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS, detail="wrong username or password")
    return token, expires_at, _user(row)


async def user_for_token(conn: asyncpg.Connection, token: str) -> User:
    digest = token_digest(token)
    row = await conn.fetchrow(
        """
        SELECT u.id, u.username, u.display_name, u.role, u.tps_code, u.scope_level, u.scope_region,
               s.expires_at <= now() AS expired
        FROM session_token s JOIN app_user u ON u.id = s.user_id
        WHERE s.token_hash = $1 AND u.disabled_at IS NULL
        """,
        digest,
    )
    if row is None:
        raise AuthenticationFailed(SESSION_INVALID, detail="no session has this token (ended or never made)")
    if row["expired"]:
        await conn.execute("DELETE FROM session_token WHERE token_hash = $1", digest)
        raise AuthenticationFailed(SESSION_EXPIRED, detail="the session of this token expired")
    return _user(row)


async def logout(conn: asyncpg.Connection, token: str) -> None:
    """Ends the session of this token, if it has one (logging out twice is not an error)."""
    await conn.execute("DELETE FROM session_token WHERE token_hash = $1", token_digest(token))


async def set_disabled(conn: asyncpg.Connection, username: str, *, disabled: bool) -> tuple[User, int]:
    """Disables a user (ending its sessions; a login is refused as if the secret were wrong) or
    enables it again with the secret it had; the user and how many sessions ended."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""
            UPDATE app_user SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) END
            WHERE username = $1 RETURNING {_COLUMNS}
            """,  # noqa: S608 - constant columns
            username.strip().lower(),
            disabled,
        )
        if row is None:
            raise NotFound(f"no user named {username!r}")
        ended = await end_sessions(conn, row["id"]) if disabled else 0
    return _user(row), ended


async def user_named(conn: asyncpg.Connection, username: str) -> User:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM app_user WHERE username = $1 AND disabled_at IS NULL",  # noqa: S608
        username.strip().lower(),
    )
    if row is None:
        raise NotFound(f"no active user named {username!r}")
    return _user(row)
