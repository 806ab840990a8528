"""HTTP: logging in with a credential, and who the bearer of a token is."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State

from service.http.clients import client_address
from service.settings import Settings
from service.users import store
from service.users.model import User
from service.users.throttle import LoginThrottle


class LoginRequest(msgspec.Struct, frozen=True):
    username: str
    password: str


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
        data: LoginRequest,
        db: asyncpg.Connection,
        state: State,
        settings: Settings,
    ) -> LoginResponse:
        username = data.username.strip().lower()
        client = client_address(request, settings.trusted_networks)
        throttle = LoginThrottle(state.redis, settings)
        await throttle.attempt(username, client)
        token, expires_at, user = await store.login(
            db, username, data.password, timedelta(hours=settings.token_ttl_hours)
        )
        await throttle.succeeded(username, client)
        return LoginResponse(token=token, expires_at=expires_at, user=user)

    @get("/me", summary="The user the bearer token belongs to")
    async def me(self, current_user: User) -> User:
        return current_user
