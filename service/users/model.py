"""Roles and the scope each one acts in."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from service.regions.codes import Level


class Role(StrEnum):
    KPPS = "kpps"
    OFFICER = "officer"
    ADMIN = "admin"


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    username: str
    display_name: str
    role: Role
    tps_code: str | None = None
    scope_level: Level | None = None
    scope_region: str | None = None

    def covers(self, code: str) -> bool:
        """Whether a region or TPS code lies within this user's scope."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.KPPS:
            return code == self.tps_code
        return self.scope_level is Level.NASIONAL or (
            self.scope_region is not None and code.startswith(self.scope_region)
        )


class IssuedCredential(msgspec.Struct, frozen=True):
    """A login and its secret, shown once (only the hash is kept)."""

    user: User
    secret: str
