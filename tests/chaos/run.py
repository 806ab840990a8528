"""``python -m tests.chaos.run``: scripted faults against running rekap services.

Starts its own PostgreSQL, Redis, photo filesystem, ``rekap serve`` and ``rekap worker``, runs
each scenario, then audits every photo accepted during the whole run once more. Prints a JSON
summary; exits 1 when a scenario failed or an accepted photo was lost. Everything it started
is stopped (and its tmpfs unmounted) on the way out, also after Ctrl-C or SIGTERM; after a
failure the run's folder, with the services' logs, is kept and named in the summary.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import traceback
from collections.abc import Awaitable, Callable

import msgspec

from tests.chaos.faults import (
    photo_store_full,
    postgres_restarted_during_uploads_and_reads,
    redis_restarted_during_uploads,
    worker_killed_mid_job,
)
from tests.chaos.ledger import Lost, half_written, lost_photos
from tests.chaos.outcome import Outcome
from tests.chaos.retries import duplicate_and_out_of_order_retries
from tests.chaos.stack import Stack

Scenario = Callable[[Stack], Awaitable[Outcome]]
SCENARIOS: dict[str, Scenario] = {
    "worker_killed_mid_job": worker_killed_mid_job,
    "redis_restarted_during_uploads": redis_restarted_during_uploads,
    "postgres_restarted_during_uploads_and_reads": postgres_restarted_during_uploads_and_reads,
    "photo_store_full": photo_store_full,
    "duplicate_and_out_of_order_retries": duplicate_and_out_of_order_retries,
}
SCENARIO_TIMEOUT_S = 240


class Summary(msgspec.Struct, kw_only=True):
    scenarios: list[Outcome]
    passed: int
    failed: int
    skipped: int
    lost: int
    audit: dict[str, object]
    photos: str
    seconds: float
    setup_seconds: float
    logs: str | None = None


async def _run_one(stack: Stack, name: str, scenario: Scenario) -> Outcome:
    start = time.monotonic()
    try:
        async with asyncio.timeout(SCENARIO_TIMEOUT_S):
            outcome = await scenario(stack)
    except Exception as error:  # noqa: BLE001 - reported as this scenario's failure; the others still run
        (stack.logs / f"{name}.traceback").write_text(traceback.format_exc())
        outcome = Outcome(name=name, passed=False, lost=0, detail=f"the scenario itself failed: {error!r}")
    finally:
        _restore(stack)
    outcome.seconds = round(time.monotonic() - start, 2)
    return outcome


def _restore(stack: Stack) -> None:
    """Dependencies up again for the next scenario, whatever this one left."""
    if not stack.postgres.running():
        stack.postgres.start()
    if stack.redis.process is None:
        stack.redis.start()
    stack.storage.release()


async def _audit(stack: Stack, outcomes: list[Outcome]) -> tuple[dict[str, object], int]:
    """Every photo accepted in the run, checked again at the end, and every row against its
    file; returns the figures and the losses no scenario had counted."""
    accepted = stack.accepted
    lost = await lost_photos(stack.postgres.url, stack.storage.path, accepted, within=30)
    lost += await half_written(stack.postgres.url, stack.storage.path)
    counted = {x.photo_id for o in outcomes for x in o.lost_photos}
    new: dict[int, Lost] = {x.photo_id: x for x in lost if x.photo_id not in counted}
    figures: dict[str, object] = {
        "accepted": len({a.photo_id for a in accepted}),
        "lost_since_their_scenario": [msgspec.structs.asdict(x) for x in new.values()],
    }
    return figures, len(new)


async def run(stack: Stack, names: list[str], setup_seconds: float) -> Summary:
    start = time.monotonic()
    await stack.register()
    outcomes = [await _run_one(stack, name, SCENARIOS[name]) for name in names]
    audit, audit_lost = await _audit(stack, outcomes)
    return Summary(
        scenarios=outcomes,
        passed=sum(o.passed for o in outcomes),
        failed=sum(not o.passed and not o.skipped for o in outcomes),
        skipped=sum(o.skipped for o in outcomes),
        lost=sum(o.lost for o in outcomes) + audit_lost,
        audit=audit,
        photos=stack.photos.kind,
        seconds=round(time.monotonic() - start, 2),
        setup_seconds=round(setup_seconds, 2),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SCENARIOS),
        help="run this scenario (repeatable); default: all",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the run's folder (logs, data) even when it passes"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stopped as by Ctrl-C: everything started is stopped
    start = time.monotonic()
    stack = Stack(keep=args.keep)
    try:
        with stack:
            summary = asyncio.run(run(stack, args.only or list(SCENARIOS), time.monotonic() - start))
            ok = summary.failed == 0 and summary.lost == 0
            if not ok or args.keep:
                summary.logs = str(stack.logs)
            stack.failed = not ok
    except KeyboardInterrupt:
        print(f"interrupted; its services are stopped, its folder kept: {stack.root}", file=sys.stderr)
        return 130
    print(msgspec.json.format(msgspec.json.encode(summary)).decode())
    return 0 if ok else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
