"""The Ed25519 key that signs audit checkpoints, kept in a file outside the database.

Whoever controls the database must not be able to sign: the key lives only where checkpoints
are made (the auditor), and its public half is published apart from rekap (``<key>.pub``), so
that anyone can check a checkpoint without trusting the server that hands it out. The
cryptography comes from ``cryptography`` (pyca), never from code of our own.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from service.errors import InvalidInput


class SigningKeyUnavailable(InvalidInput):
    """The signing key file is missing, unreadable or not an Ed25519 key."""


class PublicKeyInvalid(InvalidInput):
    """A public key given to check checkpoints with is not one."""


def public_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".pub")


def generate(key_file: Path) -> Ed25519PublicKey:
    """A new key in ``key_file`` (readable by its owner only) and its public half beside it;
    refuses to replace a key, which would orphan every checkpoint it signed."""
    if key_file.exists():
        raise SigningKeyUnavailable(
            f"{key_file} already holds a key: checkpoints signed with it could no longer be checked "
            "against a new one. Move it away first if it really must be replaced."
        )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    public_path(key_file).write_text(public_hex(key.public_key()) + "\n")
    return key.public_key()


def load_signing_key(key_file: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningKeyUnavailable(
            f"no signing key at {key_file} (REKAP_AUDIT_KEY_FILE): create one with `rekap audit keygen`"
        ) from None
    except (OSError, ValueError, TypeError) as error:
        raise SigningKeyUnavailable(
            f"{key_file} (REKAP_AUDIT_KEY_FILE) is not a usable key: {error}"
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyUnavailable(f"{key_file} (REKAP_AUDIT_KEY_FILE) is not an Ed25519 key")
    return key


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key as rekap prints it: 64 hex digits (the raw 32 bytes)."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.strip()))
    except ValueError:
        raise PublicKeyInvalid(
            "a public key is 64 hexadecimal digits, as `rekap audit public-key` prints it"
        ) from None


def read_public_key(given: str | None, key_file: Path) -> Ed25519PublicKey:
    """The key to check checkpoints with: ``given`` (the hex, or a file holding it), else the
    public half of this host's signing key."""
    if given is None:
        if public_path(key_file).is_file():
            return parse_public_key(public_path(key_file).read_text())
        return load_signing_key(key_file).public_key()
    path = Path(given)
    return parse_public_key(path.read_text() if path.is_file() else given)


def signature_holds(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
