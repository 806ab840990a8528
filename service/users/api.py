"""HTTP: logging in with a credential, logging out, and who the bearer of a token is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from service.http.auth import bearer_token
from service.http.clients import client_address
from service.settings import Settings
from service.users import store
from service.users.credentials import hash_slots, hashing
from service.users.model import User
from service.users.throttle import LoginThrottle


class LoginRequest(msgspec.Struct, frozen=True):
    username: Annotated[str, msgspec.Meta(max_length=100)]
    """A username has at most 64 characters (sql/003_users.sql); room for spaces around it."""
    password: Annotated[str, msgspec.Meta(max_length=256)]


class LoginResponse(msgspec.Struct, frozen=True):
    token: str
    expires_at: datetime
    user: User


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @post(
        "/login",
        summary="Exchange a username and password for a bearer token",
        description="429 with Retry-After after too many failed attempts for a username or address.",
        status_code=200,
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        state: State,
        settings: NamedDependency[Settings],
    ) -> LoginResponse:
        """No request connection (``db``): the pool lends one per query, none is held while argon2
        verifies the password in its thread pool (credentials.py)."""
        username = data.username.strip().lower()
        client = client_address(request, settings.trusted_networks)
        throttle = LoginThrottle(state.redis, settings)
        await throttle.attempt(username, client)
        ttl = timedelta(hours=settings.token_ttl_hours)
        hasher = hashing(hash_slots(settings))
        token, expires_at, user = await store.login(state.pool, username, data.password, ttl, hasher=hasher)
        await throttle.succeeded(username, client)
        return LoginResponse(token=token, expires_at=expires_at, user=user)

    @post(
        "/logout",
        summary="End the session of the bearer token",
        description=(
            "204 whether or not the token still had a session (logging out twice, or after it "
            "expired, is no error); 401 without an 'Authorization: Bearer' header."
        ),
        status_code=HTTP_204_NO_CONTENT,
    )
    async def logout(self, request: Request[Any, Any, Any], db: NamedDependency[asyncpg.Connection]) -> None:
        await store.logout(db, bearer_token(request))

    @get("/me", summary="The user the bearer token belongs to")
    async def me(self, current_user: NamedDependency[User]) -> User:
        return current_user
