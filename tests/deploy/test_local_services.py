"""deploy/local/services.sh starts a project-local PostgreSQL and Redis when none is reachable."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, rekap

SCRIPT = REPO / "deploy" / "local" / "services.sh"


@pytest.fixture
def local_env() -> Iterator[dict[str, str]]:
    if not (shutil.which("redis-server") and list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        pytest.skip("needs the PostgreSQL and Redis server packages (make setup installs them)")
    # Under the repository, not /tmp: PostgreSQL runs as its own user, which must reach the folder.
    local = REPO / ".local" / f"test-services-{uuid.uuid4().hex[:8]}"
    env = {
        "REKAP_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/rekap",
        "REKAP_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "REKAP_LOCAL_DIR": str(local),
    }
    yield env
    services("stop", env)
    shutil.rmtree(local, ignore_errors=True)


def services(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), action], capture_output=True, text=True, timeout=120, env={**os.environ, **env}
    )


def test_unreachable_servers_are_started_locally_and_used(local_env: dict[str, str]) -> None:
    assert "down" in services("status", local_env).stdout
    started = services("start", local_env)
    assert started.returncode == 0, started.stderr
    assert "PostgreSQL: started a local server" in started.stdout
    assert "Redis: started a local server" in started.stdout
    assert (Path(local_env["REKAP_LOCAL_DIR"]) / "postgres" / "PG_VERSION").is_file()

    migrated = rekap("db", "migrate", "--create", env=local_env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied 001_regions.sql" in migrated.stdout

    again = services("start", local_env)
    assert "PostgreSQL: using the server" in again.stdout and "Redis: using the server" in again.stdout

    stopped = services("stop", local_env)
    assert "stopped the local server" in stopped.stdout
    assert services("status", local_env).stdout.count("down") == 2
