"""Credential secrets: generated readable, stored only as argon2id hashes.

One argon2id verify (the library's defaults: 3 passes over 64 MiB, 4 lanes computed one after the
other) takes 0.13-0.15 s of one core on the 2-core test machine. Run on the event loop, twenty
failing logins held every other request of the process for seconds; so hashing and verifying run
in a thread pool (argon2's C code releases the GIL), which is also the cap on how many run at once:
``hash_slots`` gives each API process its share of the cores, so that the processes together
hash at most one secret per core, and at most that many times 64 MiB is in use for it. Logins
beyond the cap wait their turn without holding the event loop (nor, see ``store.login``, a
database connection).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.settings import Settings

_HASHER = PasswordHasher()
# No 0/O, 1/l/I: KPPS officers type these from a printed sheet on a phone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret(groups: int = 4) -> str:
    """e.g. ``k7mq-2xfa-9wtp-hn3c``: about 80 bits, easy to read aloud and type."""
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(groups))


def hash_secret(secret: str) -> str:
    """Blocks for one argon2 hash: for scripts and tests; async code uses a ``Hashing``."""
    return _HASHER.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


# Checked against when the username is unknown, so both failures take the same time.
DUMMY_HASH = hash_secret(new_secret())


class Hashing:
    """argon2 off the event loop, at most ``slots`` hashes at a time (the rest queue)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._threads = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="argon2")

    async def hash(self, secret: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._threads, hash_secret, secret)

    async def verify(self, stored_hash: str, secret: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, verify_secret, stored_hash, secret)


@functools.cache
def hashing(slots: int = 1) -> Hashing:
    """The process's pool of ``slots`` threads (made once: its threads outlive any one request)."""
    return Hashing(slots)


def hash_slots(settings: Settings) -> int:
    """An API process's share of the cores: all of them split among ``REKAP_WORKERS`` processes."""
    return max(1, (os.cpu_count() or 1) // settings.worker_count)


def new_token() -> tuple[str, bytes]:
    """A bearer token and the digest stored for it (a fast hash suffices for 256 random bits)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
