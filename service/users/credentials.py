"""Credential secrets: generated readable, stored only as argon2id hashes."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# No 0/O, 1/l/I: KPPS officers type these from a printed sheet on a phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret(groups: int = 4) -> str:
    """e.g. ``k7mq-2xfa-9wtp-hn3c``: about 80 bits, easy to read aloud and type."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(groups))


def hash_secret(secret: str) -> str:
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


# Checked against when the username is unknown, so both failures take the same time.
DUMMY_HASH = hash_secret(new_secret())


def new_token() -> tuple[str, bytes]:
    """A bearer token and the digest stored for it (a fast hash suffices for 256 random bits)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
