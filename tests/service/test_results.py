"""The consistency rules on a TPS's numbers, the TPS states, and the regional totals."""

from __future__ import annotations

import asyncio

import asyncpg
import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocr import FieldReading, PageReading
from ocr.fields import field_reading
from ocr.form import CATALOGUE, RULES, Page, Relation, Severity
from ocr.reading import Alternative
from service.errors import Conflict, Forbidden, IllegalTransition
from service.recap import totals
from service.regions.registry import import_registry
from service.results import store, workflow
from service.results.checks import check_ballots, check_evidence, check_tps
from service.results.states import TRANSITIONS, TpsState, require
from service.users.model import Role
from service.users.store import upsert_user
from tests.conftest import rekap
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, record

TPS = "3404072001001"
QUAD = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


# The rules, one by one ----------------------------------------------------------------------


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_each_rule_passes_on_consistent_numbers_and_fails_when_broken(rule: object) -> None:
    numbers = consistent()
    registered = numbers["pemilih_dpt_j"]
    assert check_tps(numbers, registered) == []
    broken = dict(numbers)
    target = rule.left[0]  # type: ignore[attr-defined]
    if rule.relation is Relation.AT_MOST:  # type: ignore[attr-defined]
        right = sum(broken.get(f, registered) for f in rule.right)  # type: ignore[attr-defined]
        broken[target] = right + 1
    else:
        broken[target] += rule.tolerance + 1  # type: ignore[attr-defined]
    if target == "pemilih_dpt_j" and rule.name == "pemilih_terdaftar":  # type: ignore[attr-defined]
        broken = dict(numbers)
        registered -= 1
    findings = check_tps(broken, registered)
    found = {f.rule: f for f in findings}
    assert rule.name in found, [f.rule for f in findings]  # type: ignore[attr-defined]
    finding = found[rule.name]  # type: ignore[attr-defined]
    assert finding.severity is rule.severity and finding.keterangan and finding.explanation  # type: ignore[attr-defined]


def test_the_real_2024_anomaly_800_votes_at_a_tps_of_300() -> None:
    numbers = consistent()
    numbers |= {"suara_total": 800, "suara_sah": 790, "suara_tidak_sah": 10}
    rules = {f.rule for f in check_tps(numbers, 300)}
    assert "suara_terdaftar" in rules


def test_warnings_do_not_block() -> None:
    numbers = consistent()
    findings = check_tps(numbers, numbers["pemilih_dpt_j"] + 5)
    assert [f.rule for f in findings] == ["pemilih_terdaftar"]
    assert findings[0].severity is Severity.WARNING


# States ----------------------------------------------------------------------------------------


def test_published_is_reached_only_from_verified_or_reviewed() -> None:
    into_published = {old for old, targets in TRANSITIONS.items() if TpsState.PUBLISHED in targets}
    assert into_published == {TpsState.VERIFIED, TpsState.REVIEWED}
    into_checked = {old for old, targets in TRANSITIONS.items() if TpsState.VERIFIED in targets}
    assert into_checked == {TpsState.READ}
    for state in (TpsState.RECEIVED, TpsState.READ, TpsState.NEEDS_REVIEW):
        with pytest.raises(IllegalTransition):
            require(state, TpsState.PUBLISHED)


async def test_the_database_knows_exactly_the_tps_states(regions: asyncpg.Connection) -> None:
    """tps_result.state's CHECK holds every state of the table and nothing else."""
    insert = "INSERT INTO tps_result (tps_code, ballot, state, numbers) VALUES ($1, 'ppwp', $2, '{}')"
    codes = await regions.fetch("SELECT code FROM tps ORDER BY code LIMIT $1", len(TpsState) + 1)
    for row, state in zip(codes, TpsState, strict=False):
        await regions.execute(insert, row["code"], state.value)
    with pytest.raises(asyncpg.CheckViolationError):
        await regions.execute(insert, codes[-1]["code"], "checked")
    assert set(TRANSITIONS) == set(TpsState)
    assert all(targets <= set(TpsState) for targets in TRANSITIONS.values())


@pytest.fixture
async def people(regions: asyncpg.Connection) -> dict[str, object]:
    return {
        "ppk": await upsert_user(
            regions,
            username="ppk.340407",
            display_name="PPK",
            role=Role.OFFICER,
            secret="s-long-1",
            scope_region="340407",
        ),
        "other": await upsert_user(
            regions,
            username="ppk.317101",
            display_name="PPK J",
            role=Role.OFFICER,
            secret="s-long-2",
            scope_region="317101",
        ),
        "kpps": await upsert_user(
            regions,
            username="kpps.3404072001001",
            display_name="KPPS",
            role=Role.KPPS,
            secret="s-long-3",
            tps_code=TPS,
        ),
    }


async def test_clear_consistent_numbers_are_verified_and_published_with_their_history(
    regions: asyncpg.Connection,
) -> None:
    numbers = consistent()
    await regions.execute(
        "UPDATE tps SET dpt_l = $2, dpt_p = $3, dpt_j = $4 WHERE code = $1",
        TPS,
        numbers["pemilih_dpt_l"],
        numbers["pemilih_dpt_p"],
        numbers["pemilih_dpt_j"],
    )
    result = await record(regions, TPS, numbers)
    assert result.state is TpsState.PUBLISHED and result.numbers == numbers
    events = await store.history(regions, TPS)
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [
        (None, "received", "intake"),
        ("received", "read", "ocr"),
        ("read", "verified", "checks"),
        ("verified", "published", "checks"),
    ]
    await totals.apply_all(regions)
    desa = await totals.region_totals(regions, TPS[:10])
    assert desa.numbers["suara_sah"] == numbers["suara_sah"] and desa.tps_published == 1
    assert desa.tps_expected == 3
    nation = await totals.region_totals(regions, None)
    assert nation.numbers["suara_paslon_2"] == numbers["suara_paslon_2"] and nation.tps_expected == 4


async def test_numbers_that_break_a_rule_wait_for_an_officer(
    regions: asyncpg.Connection, people: dict[str, object]
) -> None:
    numbers = consistent()
    misread = numbers | {"suara_paslon_1": numbers["suara_paslon_1"] + 500}  # 152 read as 652
    held = await record(regions, TPS, misread)
    assert held.state is TpsState.NEEDS_REVIEW
    assert "suara_sah" in {f.rule for f in held.findings}
    await totals.apply_all(regions)
    assert (await totals.region_totals(regions, TPS[:10])).numbers["suara_paslon_1"] == 0, (
        "nothing unchecked counts"
    )
    with pytest.raises(Conflict, match="belum dapat diterbitkan"):
        await workflow.publish(regions, TPS, people["ppk"], "go")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        await workflow.sign_off(regions, TPS, people["kpps"], numbers, "mine")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        await workflow.sign_off(regions, TPS, people["other"], numbers, "not mine")  # type: ignore[arg-type]
    reviewed = await workflow.sign_off(
        regions,
        TPS,
        people["ppk"],
        {"suara_paslon_1": numbers["suara_paslon_1"]},
        "photo shows 1, not 6",  # type: ignore[arg-type]
    )
    assert reviewed.state is TpsState.REVIEWED and reviewed.numbers == numbers
    # Signed off once: the table has no move from reviewed to reviewed, and the answer is a
    # conflict (409), not a crash.
    with pytest.raises(Conflict, match="tidak sedang menunggu tinjauan"):
        await workflow.sign_off(regions, TPS, people["ppk"], numbers, "again")  # type: ignore[arg-type]
    published = await workflow.publish(regions, TPS, people["ppk"], "checked against the photo")  # type: ignore[arg-type]
    assert published.state is TpsState.PUBLISHED
    last = (await store.history(regions, TPS))[-2]
    assert last.actor == "ppk.340407" and last.reason == "photo shows 1, not 6"
    assert last.numbers_before["suara_paslon_1"] == misread["suara_paslon_1"]  # type: ignore[index]
    await totals.apply_all(regions)
    assert (await totals.region_totals(regions, "34")).numbers["suara_paslon_1"] == numbers["suara_paslon_1"]


# Totals: incremental equals rebuilt ---------------------------------------------------------

TPS_CODES = ("3404072001001", "3404072001002", "3404072001003", "3171011001001")
OPERATION = st.tuples(
    st.sampled_from(TPS_CODES),
    st.sampled_from(["clear", "misread", "review", "publish", "apply"]),
    st.integers(0, 2**16),
)


async def _run(url: str, operations: list[tuple[str, str, int]]) -> None:
    conn = await asyncpg.connect(url)
    try:
        # Starting each example afresh: only a superuser can, with the audit trail's guards off.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "TRUNCATE tps_result_event, tps_result, recap_delta, region_total, tps_decoding CASCADE"
        )
        await conn.execute("SET session_replication_role = DEFAULT")
        officer = await upsert_user(
            conn, username="kpu.ri", display_name="KPU RI", role=Role.OFFICER, secret="s-long-9"
        )
        for tps, action, seed in operations:
            numbers = consistent(seed)
            current = await store.load(conn, tps)
            if action in ("clear", "misread"):
                if action == "misread":
                    numbers["suara_paslon_3"] += 7
                await record(conn, tps, numbers)
            elif action == "review" and current and current.state is TpsState.NEEDS_REVIEW:
                await workflow.sign_off(conn, tps, officer, numbers, "as on the photo")
            elif action == "publish" and current and current.state is TpsState.REVIEWED:
                await workflow.publish(conn, tps, officer, "approved")
            elif action == "apply":
                await totals.apply_deltas(conn, batch=1 + seed % 3)
        await totals.apply_all(conn)
        incremental = await totals.snapshot(conn)
        await totals.rebuild(conn)
        assert await totals.snapshot(conn) == incremental
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def totals_db(template_db: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.conftest import scratch_database

    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("totals")))
        await conn.close()
        yield url


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(OPERATION, max_size=25))
def test_incremental_totals_equal_a_rebuild(totals_db: str, operations: list[tuple[str, str, int]]) -> None:
    asyncio.run(_run(totals_db, operations))


async def test_concurrent_changes_in_one_village_lose_no_increment(
    regions: asyncpg.Connection, fresh_db: str
) -> None:
    codes = [f"3404072001{n:03d}" for n in range(4, 34)]
    await regions.executemany(
        "INSERT INTO tps (code, desa_code, name) VALUES ($1, '3404072001', $2)",
        [(c, f"TPS {c[-3:]}") for c in codes],
    )
    pool = await asyncpg.create_pool(fresh_db, min_size=10, max_size=10)
    try:

        async def publish_one(code: str, seed: int) -> int:
            numbers = consistent(seed)
            async with pool.acquire() as conn:
                await record(conn, code, numbers)
                await totals.apply_deltas(conn, batch=3)  # appliers racing the writers
            return numbers["suara_sah"]

        sums = await asyncio.gather(*(publish_one(c, i) for i, c in enumerate(codes)))
    finally:
        await pool.close()
    await totals.apply_all(regions)
    desa = await totals.region_totals(regions, "3404072001")
    assert desa.tps_published == len(codes)
    assert desa.numbers["suara_sah"] == sum(sums)
    assert (await totals.region_totals(regions, "34")).numbers["suara_sah"] == sum(sums)


async def test_the_command_line_rebuilds_and_shows_totals(regions: asyncpg.Connection, fresh_db: str) -> None:
    numbers = consistent(7)
    await record(regions, TPS, numbers)
    env = {"REKAP_DATABASE_URL": fresh_db}
    # received, read, verified, published in one statement: one change, with the four events
    assert rekap("recap", "apply", env=env).stdout.startswith("1 change(s) applied")
    assert [e.to_state for e in await store.history(regions, TPS)] == [
        "received",
        "read",
        "verified",
        "published",
    ]
    applied = await totals.snapshot(regions)
    announced = await regions.fetch("SELECT version, tps FROM public_change ORDER BY version")
    assert [(r["version"], r["tps"]) for r in announced] == [(1, [TPS])]
    done = rekap("recap", "rebuild", env=env)
    assert done.returncode == 0 and "rebuilt" in done.stdout
    assert await totals.snapshot(regions) == applied
    # A rebuild may have changed anything: the next version says so.
    assert await regions.fetchval("SELECT tps FROM public_change WHERE version = 2") is None
    shown = msgspec.json.decode(rekap("recap", "totals", "3404", env=env).stdout)
    assert shown["numbers"]["suara_sah"] == numbers["suara_sah"] and shown["tps_published"] == 1
    bad = rekap("recap", "totals", "34.04", env=env)
    assert bad.returncode == 1 and "digits only" in bad.stderr


def test_the_recap_benchmark_reports_its_figures_and_totals_equal_to_a_rebuild() -> None:
    """Tiny mode: the keys issue 20 asks for, every TPS published and seen by the public API,
    totals equal to a rebuild (never a timing)."""
    done = rekap("bench", "recap", "--tps", "90", "--writers", "3", "--json")
    assert done.returncode == 0, done.stderr
    figures = msgspec.json.decode(done.stdout)
    for key in ("changes_per_s", "freshness_p99_ms", "rebuild_s_per_million_tps", "cpu_ms_per_change"):
        assert key in figures
    assert figures["tps"] == 90 and figures["writers"] == 3 and figures["failed"] == 0
    assert figures["incremental_equals_rebuild"] is True and figures["nation_suara_sah"] > 0
    bad = rekap("bench", "recap", "--writers", "0")
    assert bad.returncode == 1 and "--writers" in bad.stderr


def test_the_catalogue_holds_every_rule_of_the_domain() -> None:
    assert {r.number for r in CATALOGUE} == set(range(1, 10))
    assert all(r.explanation and r.keterangan for r in CATALOGUE)


def _page_two(digits: list[int], bubbles: list[int | None]) -> PageReading:
    probs = np.full((3, 10), 1e-4)
    probs[[0, 1, 2], digits] = 0.99
    field = field_reading("suara_paslon_1", probs, [False] * 3, QUAD, bubbles)
    others = [
        FieldReading(
            n,
            1,
            1.0,
            [Alternative(1, 1.0)],
            [[Alternative(0, 1.0)]] * 2 + [[Alternative(1, 1.0)]],
            QUAD,
            None,
        )
        for n in ("suara_paslon_2", "suara_paslon_3")
    ]
    return PageReading(Page.PASLON, 1.0, 0, [field, *others], 0, {}, "test")


def test_rule_8_digits_against_bubbles() -> None:
    assert check_evidence([_page_two([0, 5, 2], [None, 5, 2])]) == []
    (finding,) = check_evidence([_page_two([0, 5, 2], [None, 5, 7])])
    assert (finding.rule, finding.number, finding.left, finding.right) == ("bubbles", 8, 52, 57)
    assert finding.severity is Severity.BLOCKING and finding.fields == ("suara_paslon_1",)


def test_rule_9_voters_agree_across_ballots() -> None:
    assert check_ballots({"ppwp": 212, "dpr": 212, "dpd": 212}) == []
    (finding,) = check_ballots({"ppwp": 212, "dpr": 209})
    assert (finding.number, finding.left, finding.right, finding.severity) == (9, 212, 209, Severity.WARNING)
