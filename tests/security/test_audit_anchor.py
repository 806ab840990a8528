"""Finding 8: a superuser switched the guards off (session_replication_role = replica), edited a
vote and recomputed every hash with tps_event_digest; ``rekap audit verify`` still said intact.
A checkpoint signed earlier with a key outside the database now shows the rewrite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import msgspec
import pytest

from service.audit.anchor import Checkpoint
from tests.conftest import as_service, rekap, serving
from tests.tps_numbers import consistent, record

SLEMAN = "3404072001001"
OTHER_SLEMAN = "3404072001002"
JAGAKARSA = "3171011001001"
UNREAD = "3404072001003"
"""A TPS of the registry with no history in ``service``: its first reading always writes events
(a new reading of a published TPS only waits beside it, and writes none)."""


class Auditor:
    """The auditor's settings (its key and log in a folder of the test) and commands."""

    def __init__(self, folder: Path, database: str) -> None:
        self.key = folder / "audit" / "signing.key"
        self.log = folder / "audit" / "checkpoints.jsonl"
        self.env = {
            "REKAP_DATABASE_URL": as_service(database),
            "REKAP_AUDIT_KEY_FILE": str(self.key),
            "REKAP_AUDIT_LOG_FILE": str(self.log),
        }

    def run(self, *args: str) -> tuple[int, str]:
        done = rekap("audit", *args, env=self.env)
        return done.returncode, done.stdout + done.stderr

    def checkpoint(self) -> Checkpoint:
        code, out = self.run("checkpoint")
        assert code == 0, out
        return msgspec.json.decode(self.log.read_bytes().splitlines()[-1], type=Checkpoint)

    @property
    def public_key(self) -> str:
        return self.key.with_name("signing.key.pub").read_text().strip()


@pytest.fixture
async def service(regions: asyncpg.Connection, fresh_db: str) -> AsyncIterator[asyncpg.Connection]:
    """The service's connection to a database with the history of three TPS in two provinces."""
    conn = await asyncpg.connect(as_service(fresh_db))
    for seed, tps in enumerate((SLEMAN, OTHER_SLEMAN, JAGAKARSA), start=1):
        await record(conn, tps, consistent(seed))
    yield conn
    await conn.close()


@pytest.fixture
def auditor(tmp_path: Path, fresh_db: str) -> Auditor:
    made = Auditor(tmp_path, fresh_db)
    code, out = made.run("keygen")
    assert code == 0 and made.public_key in out, out
    assert made.key.stat().st_mode & 0o077 == 0, "the signing key is readable by its owner only"
    code, out = made.run("keygen")
    assert code == 1 and "already holds a key" in out
    return made


async def rewrite_as_superuser(owner: asyncpg.Connection, tps: str, paslon_1: int) -> None:
    """The finding's attack: guards off, a vote edited, every hash after it recomputed."""
    async with owner.transaction():
        await owner.execute("SET LOCAL session_replication_role = replica")
        first = await owner.fetchval(
            "SELECT min(id) FROM tps_result_event WHERE tps_code = $1 AND numbers_after ? 'suara_paslon_1'",
            tps,
        )
        await owner.execute(
            "UPDATE tps_result_event SET numbers_after = numbers_after || jsonb_build_object('suara_paslon_1', $2::int) "
            "WHERE id = $1",
            first,
            paslon_1,
        )
        chain = await owner.fetch("SELECT id FROM tps_result_event WHERE tps_code = $1 ORDER BY id", tps)
        previous = None
        for row in chain:
            previous = await owner.fetchval(
                "UPDATE tps_result_event SET prev_hash = $2, hash = tps_event_digest($2, tps_code, ballot, at, "
                "actor_user, actor_system, from_state, to_state, numbers_before, numbers_after, reason) "
                "WHERE id = $1 RETURNING hash",
                row["id"],
                previous,
            )
        await owner.execute("UPDATE tps_result SET audit_head = $2 WHERE tps_code = $1", tps, previous)


async def test_a_superusers_rewrite_passes_plain_verify_but_not_the_checkpoint(
    service: asyncpg.Connection, regions: asyncpg.Connection, auditor: Auditor
) -> None:
    checkpoint = auditor.checkpoint()
    assert checkpoint.chains == 3 and sorted(checkpoint.regions) == ["31", "34"]
    code, out = auditor.run("verify", "--against", str(auditor.log))
    assert code == 0 and "nothing up to it was rewritten" in out, out

    await rewrite_as_superuser(regions, SLEMAN, 999)

    code, out = auditor.run("verify")
    assert code == 0 and out.startswith("intact"), "the rewrite recomputed every link, as in the finding"
    code, out = auditor.run("verify", "--against", str(auditor.log), "--public-key", auditor.public_key)
    assert code == 1, out
    assert "BROKEN: the history up to the checkpoint" in out and "province(s) 34" in out
    report = msgspec.json.decode(auditor.run("verify", "--against", str(auditor.log), "--json")[1])
    assert report["signature_valid"] and not report["extends_checkpoint"]
    assert report["changed_regions"] == ["34"] and report["chains"]["intact"]


async def test_an_honest_history_that_grew_after_the_checkpoint_extends_it(
    service: asyncpg.Connection, auditor: Auditor
) -> None:
    first = auditor.checkpoint()
    await record(service, SLEMAN, consistent(7))  # a new reading of a TPS already checkpointed
    await record(service, UNREAD, consistent(8))  # a TPS first read after it
    code, out = auditor.run("verify", "--against", str(auditor.log))
    assert code == 0, out

    second = auditor.checkpoint()
    assert second.seq > first.seq and second.chains == first.chains + 1
    assert len(auditor.log.read_bytes().splitlines()) == 2
    older = auditor.log.with_name("first.json")
    older.write_bytes(msgspec.json.encode(first))
    code, out = auditor.run("verify", "--against", str(older))
    assert code == 0, out


async def test_a_forged_or_foreign_checkpoint_proves_nothing(
    service: asyncpg.Connection, auditor: Auditor, tmp_path: Path
) -> None:
    checkpoint = auditor.checkpoint()
    forged = tmp_path / "forged.json"
    forged.write_bytes(msgspec.json.encode(msgspec.structs.replace(checkpoint, events=checkpoint.events + 1)))
    code, out = auditor.run("verify", "--against", str(forged))
    assert code == 1 and "signature does not hold" in out, out

    stranger = Auditor(tmp_path / "stranger", auditor.env["REKAP_DATABASE_URL"])
    assert stranger.run("keygen")[0] == 0
    code, out = stranger.run("verify", "--against", str(auditor.log))
    assert code == 1 and "another signing key" in out, out

    code, out = auditor.run("verify", "--against", str(tmp_path / "missing.json"))
    assert code == 1 and "cannot read a checkpoint" in out


async def test_a_checkpoint_waits_for_events_being_written_and_covers_them(
    service: asyncpg.Connection, fresh_db: str, auditor: Auditor
) -> None:
    """The boundary is taken when no event is in flight: an event written (not yet committed)
    while the checkpoint starts is inside it once committed, never lost between the two."""
    writer = await asyncpg.connect(as_service(fresh_db))
    try:
        transaction = writer.transaction()
        await transaction.start()
        await record(writer, UNREAD, consistent(9))
        pending = asyncio.create_task(asyncio.to_thread(auditor.checkpoint))
        await asyncio.sleep(1)
        assert not pending.done(), "the checkpoint must wait for the event in flight"
        await transaction.commit()
        checkpoint = await asyncio.wait_for(pending, timeout=60)
    finally:
        await writer.close()
    newest = await service.fetchval("SELECT max(seq) FROM tps_result_event")
    assert checkpoint.seq == newest
    code, out = auditor.run("verify", "--against", str(auditor.log))
    assert code == 0, out


async def test_checkpoints_are_published_for_anyone_to_copy_and_check(
    service: asyncpg.Connection, auditor: Auditor
) -> None:
    env = {"REKAP_DATABASE_URL": auditor.env["REKAP_DATABASE_URL"]}
    with serving(env) as api:
        missing = api.get("/api/v1/public/audit/checkpoints/latest")
        assert missing.status_code == 404 and missing.json()["message"]
        first, second = auditor.checkpoint(), auditor.checkpoint()
        latest = api.get("/api/v1/public/audit/checkpoints/latest")
        assert latest.status_code == 200 and "max-age" in latest.headers["cache-control"]
        assert msgspec.json.decode(latest.content, type=Checkpoint) == second
        log = api.get("/api/v1/public/audit/checkpoints", params={"after": 0, "limit": 1}).json()
        assert [msgspec.convert(e["checkpoint"], Checkpoint) for e in log] == [first]
        rest = api.get("/api/v1/public/audit/checkpoints", params={"after": log[0]["id"]}).json()
        assert [e["checkpoint"]["signature"] for e in rest] == [second.signature]
        assert api.get("/api/v1/public/audit/checkpoints", params={"limit": 0}).status_code == 400

        code, out = auditor.run(
            "verify", "--against", str(api.base_url.join("/api/v1/public/audit/checkpoints/latest"))
        )
        assert code == 0, out
    code, out = auditor.run("verify", "--against", str(auditor.log))
    assert code == 0, out
