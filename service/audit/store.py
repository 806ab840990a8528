"""Where checkpoints go once signed: the ``audit_checkpoint`` table the public API serves, and the
auditor's log file (one JSON document a line); and where a checker reads one back from."""

from __future__ import annotations

import os
import urllib.request
from datetime import datetime
from pathlib import Path

import asyncpg
import msgspec

from service.audit.anchor import Checkpoint
from service.errors import InvalidInput, NotFound

NO_CHECKPOINT = "Belum ada checkpoint audit yang ditandatangani."


class NoCheckpoint(NotFound):
    """No checkpoint has been made yet."""


class CheckpointUnreadable(InvalidInput):
    """What was given as a checkpoint is not one."""


class CheckpointEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    checkpoint: Checkpoint


async def save(conn: asyncpg.Connection, checkpoint: Checkpoint) -> int:
    checkpoint_id: int = await conn.fetchval(
        "INSERT INTO audit_checkpoint (made_at, seq, document) VALUES ($1, $2, $3) RETURNING id",
        datetime.fromisoformat(checkpoint.made_at),
        checkpoint.seq,
        msgspec.json.encode(checkpoint).decode(),
    )
    return checkpoint_id


async def latest_document(conn: asyncpg.Connection) -> bytes:
    """The newest checkpoint's JSON, exactly as signed and stored."""
    document = await conn.fetchval("SELECT document FROM audit_checkpoint ORDER BY id DESC LIMIT 1")
    if document is None:
        raise NoCheckpoint(NO_CHECKPOINT)
    return str(document).encode()


async def listing(conn: asyncpg.Connection, after: int, limit: int) -> list[CheckpointEntry]:
    """Checkpoints in the order they were made, after id ``after``: a log anyone can copy in pages."""
    rows = await conn.fetch(
        "SELECT id, document FROM audit_checkpoint WHERE id > $1 ORDER BY id LIMIT $2", after, limit
    )
    return [
        CheckpointEntry(id=r["id"], checkpoint=msgspec.json.decode(r["document"], type=Checkpoint))
        for r in rows
    ]


def append_log(log_file: Path, checkpoint: Checkpoint) -> None:
    """One line more, on disk before returning (the copy that outlives the database's)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        out.write(msgspec.json.encode(checkpoint) + b"\n")
        out.flush()
        os.fsync(out.fileno())


def read_checkpoint(source: str, *, timeout_s: float = 30) -> Checkpoint:
    """A checkpoint from a file or an http(s) URL: one JSON document, or a log of them one a line
    (its last); the public API's latest, or a copy of it kept anywhere."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout_s) as answer:  # noqa: S310 - http(s) only
                data: bytes = answer.read()
        except (OSError, ValueError) as error:  # unreachable, refused, an error status, a malformed URL
            raise CheckpointUnreadable(f"cannot fetch a checkpoint from {source}: {error}") from error
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as error:
            raise CheckpointUnreadable(f"cannot read a checkpoint from {source}: {error}") from error
    try:
        return msgspec.json.decode(data, type=Checkpoint)
    except msgspec.DecodeError as error:
        lines = [line for line in data.splitlines() if line.strip()]
        if len(lines) < 2:
            raise CheckpointUnreadable(f"{source} holds no rekap audit checkpoint: {error}") from error
    try:
        return msgspec.json.decode(lines[-1], type=Checkpoint)
    except msgspec.DecodeError as error:
        raise CheckpointUnreadable(
            f"the last line of {source} is no rekap audit checkpoint: {error}"
        ) from error
