"""HTTP: logging in with a credential, and who the bearer of a token is."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import msgspec
from litestar import Controller, get, post

from service.settings import Settings
from service.users import store
from service.users.model import User


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

    @post("/login", summary="Exchange a username and password for a bearer token", status_code=200)
    async def login(self, data: LoginRequest, db: asyncpg.Connection, settings: Settings) -> LoginResponse:
        token, expires_at, user = await store.login(
            db,
            data.username.strip().lower(),
            data.password,
            timedelta(hours=settings.token_ttl_hours),
        )
        return LoginResponse(token=token, expires_at=expires_at, user=user)

    @get("/me", summary="The user the bearer token belongs to")
    async def me(self, current_user: User) -> User:
        return current_user
