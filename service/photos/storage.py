"""Content-addressed photo storage on the local disk: a photo's name is its SHA-256.

A photo is durable before its row is committed: written to a temporary file in the target
folder, fsynced, renamed into place, and the folder fsynced. Writing the same bytes twice is
harmless (the rename replaces identical content).
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

from service.errors import NotFound, StorageFull


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PhotoStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        target = self.path(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return sha256
        temporary = target.with_name(f".{sha256}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(target)
            _fsync_dir(target.parent)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                temporary.unlink(missing_ok=True)
                raise StorageFull(
                    "the photo store is full; the photo was not saved. Try again in a few minutes."
                ) from error
            raise
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"photo {sha256} is not in the store") from None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
