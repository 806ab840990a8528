"""Who is calling: the bearer token of the Authorization header, resolved to a user."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar import Request
from litestar.di import NamedDependency

from service.errors import AuthenticationFailed
from service.users import store
from service.users.model import User

LOG_IN_FIRST = "Silakan masuk dulu dengan nama pengguna dan kata sandi Anda."


def bearer_token(request: Request[Any, Any, Any]) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed(LOG_IN_FIRST, detail="no 'Authorization: Bearer <token>' header")
    return token.strip()


async def provide_current_user(
    request: Request[Any, Any, Any], db: NamedDependency[asyncpg.Connection]
) -> User:
    return await store.user_for_token(db, bearer_token(request))
