"""Signed checkpoints: the audit trail's heads anchored outside the database.

``rekap audit verify`` recomputes every chain, but a superuser can switch the guards off, edit an
event and recompute every hash after it with ``tps_event_digest``: the chains then verify. What
such a rewrite cannot redo is a signature made earlier with a key the database never held. A
checkpoint signs, as of a boundary S (sql/013_audit_checkpoints.sql), the head of every TPS chain
among the events with ``seq <= S``: one digest per province and a root over them. Later, the
same digest recomputed from the database must give the same root; an event edited before S
changes its chain's head at S, and the province it lies in is named.

The heads themselves are not published (823,000 TPS × 5 ballots each checkpoint): the database
recomputes them, so a checkpoint stays a few kilobytes whatever the size of the election.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import asyncpg
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from service.audit.keys import public_hex, signature_holds
from service.audit.verify import AuditReport, verify
from service.errors import DependencyUnavailable

FORMAT = "rekap-audit-checkpoint/1"
_BOUNDARY_LOCK = (1919249249, 1969514868)
"""The advisory lock each event's trigger holds shared (sql/013_audit_checkpoints.sql)."""
_HEADS = """
SELECT r.tps_code, r.ballot, h.hash
FROM tps_result r
CROSS JOIN LATERAL (
    SELECT e.hash FROM tps_result_event e
    WHERE e.tps_code = r.tps_code AND e.ballot = r.ballot AND (e.seq IS NULL OR e.seq <= $1)
    ORDER BY e.id DESC LIMIT 1
) h
ORDER BY r.tps_code, r.ballot COLLATE "C"
"""


class RegionDigest(msgspec.Struct, frozen=True, kw_only=True):
    chains: int
    digest: str
    """SHA-256 (hex) of the lines "tps_code ballot head-hash-hex\\n" of the province's chains,
    sorted by TPS code and ballot."""


class CheckpointBody(msgspec.Struct, frozen=True, kw_only=True):
    """What is signed: its JSON with keys sorted (``signed_bytes``)."""

    format: str = FORMAT
    made_at: str
    """UTC, ISO 8601."""
    seq: int
    """The boundary: the events written with a seq up to this one (and those from before seqs)."""
    events: int
    chains: int
    root: str
    """SHA-256 (hex) of the lines "province chains digest\\n", sorted by province."""
    regions: dict[str, RegionDigest]
    public_key: str
    """The signer's Ed25519 key (hex); a checker compares it with the key published apart."""


class Checkpoint(CheckpointBody, frozen=True, kw_only=True):
    signature: str
    """Ed25519 over ``signed_bytes`` of the body, hex."""

    def body(self) -> CheckpointBody:
        fields = msgspec.structs.asdict(self)
        del fields["signature"]
        return CheckpointBody(**fields)


class Heads(msgspec.Struct, frozen=True, kw_only=True):
    events: int
    chains: int
    root: str
    regions: dict[str, RegionDigest]


class AnchorReport(msgspec.Struct, frozen=True, kw_only=True):
    """``rekap audit verify --against``: the chains, and whether they extend the checkpoint."""

    intact: bool
    checkpoint_made_at: str
    checkpoint_seq: int
    signature_valid: bool
    signed_by_expected_key: bool
    extends_checkpoint: bool
    """The database's heads at the checkpoint's boundary give its signed root."""
    changed_regions: list[str]
    """Provinces whose chains at the boundary differ from the checkpoint's."""
    problems: list[str]
    chains: AuditReport


def signed_bytes(body: CheckpointBody) -> bytes:
    return msgspec.json.encode(body, order="sorted")


async def take_boundary(conn: asyncpg.Connection, *, wait_s: float = 10) -> int:
    """The largest seq of an event written so far, once no event is being written: from then on
    the events up to it never change (sql/013_audit_checkpoints.sql). Writers pause only while
    the ones in flight finish."""
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'")
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *_BOUNDARY_LOCK)
            seq: int = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM tps_result_event")
    except asyncpg.LockNotAvailableError as error:
        raise DependencyUnavailable(
            f"events kept being written for {wait_s:g} s without a pause: no checkpoint now, try again"
        ) from error
    return seq


async def heads(conn: asyncpg.Connection, seq: int) -> Heads:
    """The digest of every chain's head among the events up to ``seq``."""
    regions: dict[str, RegionDigest] = {}
    province, digest, chains = "", hashlib.sha256(), 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for row in conn.cursor(_HEADS, seq, prefetch=10_000):
            code = row["tps_code"][:2]
            if code != province:
                if chains:
                    regions[province] = RegionDigest(chains=chains, digest=digest.hexdigest())
                province, digest, chains = code, hashlib.sha256(), 0
            digest.update(f"{row['tps_code']} {row['ballot']} {row['hash'].hex()}\n".encode())
            chains += 1
        if chains:
            regions[province] = RegionDigest(chains=chains, digest=digest.hexdigest())
        events: int = await conn.fetchval(
            "SELECT count(*) FROM tps_result_event WHERE seq IS NULL OR seq <= $1", seq
        )
    return Heads(
        events=events,
        chains=sum(r.chains for r in regions.values()),
        root=root_of(regions),
        regions=regions,
    )


def root_of(regions: dict[str, RegionDigest]) -> str:
    root = hashlib.sha256()
    for code in sorted(regions):
        root.update(f"{code} {regions[code].chains} {regions[code].digest}\n".encode())
    return root.hexdigest()


async def make_checkpoint(conn: asyncpg.Connection, key: Ed25519PrivateKey) -> Checkpoint:
    seq = await take_boundary(conn)
    made_at = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    found = await heads(conn, seq)
    body = CheckpointBody(
        made_at=made_at,
        seq=seq,
        events=found.events,
        chains=found.chains,
        root=found.root,
        regions=found.regions,
        public_key=public_hex(key.public_key()),
    )
    return Checkpoint(**msgspec.structs.asdict(body), signature=key.sign(signed_bytes(body)).hex())


async def verify_against(
    conn: asyncpg.Connection, checkpoint: Checkpoint, public_key: Ed25519PublicKey
) -> AnchorReport:
    """Whether the checkpoint is signed by ``public_key`` and the database's chains extend it
    (and every chain still recomputes, as plain ``verify`` checks)."""
    problems = []
    expected_key = checkpoint.public_key == public_hex(public_key)
    if not expected_key:
        problems.append(
            "the checkpoint names another signing key than the published one you gave: it proves nothing"
        )
    try:
        signature = bytes.fromhex(checkpoint.signature)
    except ValueError:
        signature = b""
    valid = expected_key and signature_holds(public_key, signature, signed_bytes(checkpoint.body()))
    if expected_key and not valid:
        problems.append("its signature does not hold: the checkpoint was altered or not signed by that key")
    found = await heads(conn, checkpoint.seq)
    changed = sorted(
        code
        for code in checkpoint.regions.keys() | found.regions.keys()
        if checkpoint.regions.get(code) != found.regions.get(code)
    )
    extends = found.root == checkpoint.root and not changed
    if not extends:
        problems.append(
            f"the history up to the checkpoint of {checkpoint.made_at} was rewritten: the chains' heads "
            f"then no longer match in province(s) {', '.join(changed) or '?'}"
        )
    if found.events != checkpoint.events:
        problems.append(
            f"the checkpoint counted {checkpoint.events} events up to its boundary; the database now "
            f"has {found.events} there"
        )
    chains = await verify(conn)
    if not chains.intact:
        problems.append("a chain no longer recomputes (see the broken links)")
    return AnchorReport(
        intact=not problems,
        checkpoint_made_at=checkpoint.made_at,
        checkpoint_seq=checkpoint.seq,
        signature_valid=valid,
        signed_by_expected_key=expected_key,
        extends_checkpoint=extends,
        changed_regions=changed,
        problems=problems,
        chains=chains,
    )
