"""Content-addressed photo storage on the local disk: a photo's name is its SHA-256.

A photo is durable before its row is committed: written to a temporary file in the target
folder, fsynced, renamed into place, and the folder fsynced. Writing the same bytes twice is
harmless (the rename replaces identical content), also at the same time: each writer has a
temporary file of its own, so a retry sent while the first attempt is still being written
cannot truncate the file that attempt is about to rename into place.

Beside each photo that was read lies its working copy (``<sha256>.work``, ``ocr.working_copy``):
upright, at most 2400 pixels long, what the review's crops are cut from. It is derived from the
photo and can be made again, so a lost one costs only the time to make it.

Beside each photo the public has asked to see small lies its thumbnail (``<sha256>.kecil``,
``service.public.photos.thumbnail``): derived the same way, made once, made again if lost.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from pathlib import Path

from service.errors import InvalidInput, NotFound, StorageFull


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def photo_address(text: str) -> str:
    """A photo's address as sent in a URL, checked before it names a file or reaches a query."""
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise InvalidInput(
            "Alamat foto tidak benar: alamat foto adalah kode SHA-256-nya, 64 karakter 0-9 dan a-f "
            "(huruf kecil). Salin alamatnya utuh.",
            detail="a photo's address is its SHA-256: 64 lowercase hexadecimal characters",
        )
    return text


class PhotoStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def working_path(self, sha256: str) -> Path:
        return self.path(sha256).with_name(f"{sha256}.work")

    def thumbnail_path(self, sha256: str) -> Path:
        return self.path(sha256).with_name(f"{sha256}.kecil")

    def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        target = self.path(sha256)
        if target.exists() and target.stat().st_size == len(data):
            return sha256
        _write(
            target,
            data,
            StorageFull(
                "Penyimpanan foto penuh, jadi foto ini belum tersimpan. Kirim lagi beberapa menit lagi.",
                detail="the photo store is full; the photo was not saved",
            ),
        )
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"Foto {sha256} tidak ada di penyimpanan foto.", detail=f"photo {sha256} is not in the store"
            ) from None

    def put_working(self, sha256: str, data: bytes) -> None:
        """Store (or replace) the working copy of the photo ``sha256``."""
        full = StorageFull(
            "Penyimpanan foto penuh; salinan kerja foto tidak tersimpan.",
            detail="the photo store is full; the working copy was not saved",
        )
        _write(self.working_path(sha256), data, full)

    def get_working(self, sha256: str) -> bytes:
        """The working copy of the photo ``sha256``; ``NotFound`` if none was made yet."""
        missing = NotFound(
            f"Foto {sha256} belum punya salinan kerja.", detail=f"photo {sha256} has no working copy yet"
        )
        return _read(self.working_path(sha256), missing)

    def put_thumbnail(self, sha256: str, data: bytes) -> None:
        """Store (or replace) the thumbnail of the photo ``sha256``."""
        full = StorageFull(
            "Penyimpanan foto penuh; foto kecilnya tidak tersimpan.",
            detail="the photo store is full; the thumbnail was not saved",
        )
        _write(self.thumbnail_path(sha256), data, full)

    def get_thumbnail(self, sha256: str) -> bytes:
        """The thumbnail of the photo ``sha256``; ``NotFound`` if none was made yet."""
        missing = NotFound(
            f"Foto {sha256} belum punya foto kecil.", detail=f"photo {sha256} has no thumbnail yet"
        )
        return _read(self.thumbnail_path(sha256), missing)


def _read(path: Path, missing: NotFound) -> bytes:
    """A derived file's bytes; ``missing`` raised when it was not made (or was lost)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise missing from None


def _write(target: Path, data: bytes, full: StorageFull) -> None:
    """``data`` durable at ``target`` or not there at all; ``full`` raised on a full disk."""
    temporary = _temporary_for(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
        _fsync_dir(target.parent)
    except OSError as error:
        temporary.unlink(missing_ok=True)  # never a partial file left behind
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise full from error
        raise


def _temporary_for(target: Path) -> Path:
    """A name in the target's folder that no concurrent writer uses: this process and thread's."""
    return target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
