"""The whole chaos run (about a minute and a half): every scenario passes and no accepted photo is lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tests.conftest import REPO

RUN_TIMEOUT_S = 420


def test_every_fault_is_survived_and_nothing_accepted_is_lost() -> None:
    if not (shutil.which("redis-server") and list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        pytest.skip("needs the PostgreSQL and Redis server packages (make setup installs them)")
    run = subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.run"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = run.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)  # it stops what it started and unmounts its filesystem
        out, err = run.communicate(timeout=60)
        pytest.fail(f"the chaos run took over {RUN_TIMEOUT_S} s:\n{out}\n{err[-3000:]}")
    assert out.strip(), err[-3000:]
    summary = msgspec.json.decode(out)
    failures = {s["name"]: s["detail"] for s in summary["scenarios"] if not s["passed"] and not s["skipped"]}
    assert failures == {}, out
    assert summary["lost"] == 0, out
    assert summary["passed"] + summary["skipped"] == len(summary["scenarios"]) == 5
    # A scenario skipped here (no tmpfs to fill: photo_store_full) is not passed; under CI, whose
    # machine can mount one, it fails the run instead of hiding in the count.
    skipped = {s["name"]: s["detail"] for s in summary["scenarios"] if s["skipped"]}
    assert not (os.environ.get("CI") and skipped), f"skipped under CI: {skipped}"
    assert run.returncode == 0, err[-3000:]
