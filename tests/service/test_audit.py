"""The audit trail: append-only for everyone, and any later edit found by ``rekap audit verify``."""

from __future__ import annotations

import itertools

import asyncpg
import msgspec
import pytest

from service.audit.verify import verify
from service.results import store
from service.results.states import TpsState
from tests.conftest import rekap
from tests.tps_numbers import consistent, record

TPS = "3404072001001"
OTHER = "3404072001002"


@pytest.fixture
async def history(regions: asyncpg.Connection) -> asyncpg.Connection:
    await record(regions, TPS, consistent(1))
    await record(regions, OTHER, consistent(2))
    return regions


async def events(conn: asyncpg.Connection, tps: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, prev_hash, hash FROM tps_result_event WHERE tps_code = $1 ORDER BY id", tps
    )


async def test_each_event_links_to_the_one_before_and_the_tps_keeps_the_newest(
    history: asyncpg.Connection,
) -> None:
    chain = await events(history, TPS)
    assert len(chain) == 4 and chain[0]["prev_hash"] is None
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(chain))
    assert (
        await history.fetchval("SELECT audit_head FROM tps_result WHERE tps_code = $1", TPS)
        == chain[-1]["hash"]
    )
    report = await verify(history)
    assert report.intact and report.events == 8 and report.chains == 2 and report.first_broken is None


async def test_an_event_written_by_hand_is_chained_and_the_next_change_goes_on_from_it(
    history: asyncpg.Connection,
) -> None:
    """The owner may still write an event directly (the service may not): the row trigger chains
    it and moves the TPS's head, and the workflow's function goes on from the stored chain."""
    await history.execute(
        "INSERT INTO tps_result_event (tps_code, ballot, actor_system, from_state, to_state, "
        "numbers_before, numbers_after, reason) SELECT tps_code, ballot, 'admin', state, state, numbers, "
        "numbers, 'catatan' FROM tps_result WHERE tps_code = $1",
        TPS,
    )
    await store.transition(
        history, TPS, TpsState.NEEDS_REVIEW, reason="diperiksa ulang", actor_system="checks"
    )
    chain = await events(history, TPS)
    assert len(chain) == 6
    assert (
        await history.fetchval("SELECT audit_head FROM tps_result WHERE tps_code = $1", TPS)
        == chain[-1]["hash"]
    )
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(chain))
    assert (await verify(history)).intact


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE tps_result_event SET reason = 'nothing happened' WHERE tps_code = $1",
        "DELETE FROM tps_result_event WHERE tps_code = $1",
    ],
)
async def test_nobody_can_change_or_remove_an_event(history: asyncpg.Connection, sql: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await history.execute(sql, TPS)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await history.execute("TRUNCATE tps_result_event CASCADE")
    assert (await verify(history)).intact


async def tampered(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    """What only someone switching the guards off (a superuser) could do."""
    await conn.execute("SET session_replication_role = replica")
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")


async def test_an_edited_row_is_the_first_broken_link(history: asyncpg.Connection, fresh_db: str) -> None:
    chain = await events(history, TPS)
    await tampered(
        history,
        "UPDATE tps_result_event SET numbers_after = numbers_after || '{\"suara_paslon_1\": 652}' WHERE id = $1",
        chain[2]["id"],
    )
    report = await verify(history)
    assert not report.intact and report.first_broken is not None
    assert report.first_broken.event_id == chain[2]["id"] and report.first_broken.tps_code == TPS
    assert "changed after it was written" in report.first_broken.problem
    assert len(report.broken) == 1, "the links after it still hold: only the edited row is named"
    done = rekap("audit", "verify", env={"REKAP_DATABASE_URL": fresh_db})
    assert done.returncode == 1 and f"event {chain[2]['id']} of TPS {TPS}" in done.stdout
    as_json = msgspec.json.decode(
        rekap("audit", "verify", "--json", env={"REKAP_DATABASE_URL": fresh_db}).stdout
    )
    assert as_json["first_broken"]["event_id"] == chain[2]["id"]


async def test_a_removed_event_and_a_cut_chain_are_found(history: asyncpg.Connection) -> None:
    chain = await events(history, TPS)
    await tampered(history, "DELETE FROM tps_result_event WHERE id = $1", chain[1]["id"])
    report = await verify(history)
    assert report.first_broken is not None and report.first_broken.event_id == chain[2]["id"]
    assert "removed or inserted" in report.first_broken.problem
    other = await events(history, OTHER)
    await tampered(history, "DELETE FROM tps_result_event WHERE id = $1", other[-1]["id"])
    cut = [b for b in (await verify(history)).broken if b.tps_code == OTHER]
    assert [b.event_id for b in cut] == [None] and "newest events are missing" in cut[0].problem


async def test_an_intact_trail_passes_on_the_command_line(history: asyncpg.Connection, fresh_db: str) -> None:
    done = rekap("audit", "verify", env={"REKAP_DATABASE_URL": fresh_db})
    assert done.returncode == 0 and done.stdout.startswith("intact: 8 events in 2 chains")
