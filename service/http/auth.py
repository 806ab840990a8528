"""Who is calling: the bearer token of the Authorization header, resolved to a user."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Request

from service.errors import AuthenticationFailed
from service.users import store
from service.users.model import User


async def provide_current_user(request: Request[Any, Any, Any], db: asyncpg.Connection) -> User:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("log in first: send the header 'Authorization: Bearer <token>'")
    return await store.user_for_token(db, token.strip())
