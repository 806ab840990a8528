"""Everything a chaos run starts, wired as production wires it: its own PostgreSQL and Redis, a
photo store on a tiny filesystem, ``rekap db migrate``, a small registry with one KPPS login per
TPS, ``rekap serve`` and ``rekap worker``. Closing it stops and removes all of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

import asyncpg
import httpx

from service.regions.registry import import_registry
from service.users.model import Role
from service.users.store import upsert_user
from tests.chaos.client import Accepted, Officer, Tally
from tests.chaos.photos import PhotoSource
from tests.chaos.services import PhotoFilesystem, PostgresCluster, RedisServer
from tests.conftest import FORMS, REPO, Server, WorkerProcess
from tests.registry_files import kpu_registry

PASSWORD = "chaos-secret-1234"
DESA = "3404072001"
TPS = tuple(f"{DESA}{n:03d}" for n in range(1, 8))
REGISTRY = [
    ["34", "DAERAH ISTIMEWA YOGYAKARTA", "1", "1", ""],
    ["3404", "SLEMAN", "2", "2", "34"],
    ["340407", "DEPOK", "3", "3", "3404"],
    [DESA, "CATURTUNGGAL", "4", "4", "340407"],
    *[[code, f"TPS {code[-3:]}", str(5 + i), "5", DESA] for i, code in enumerate(TPS)],
]
STORAGE_MB = 48
CLAIM_SECONDS = 2
"""The worker's queue_claim_seconds: short, so that recovery shows within the run."""


class Stack:
    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix="rekap-chaos-"))
        self.root.chmod(0o755)  # PostgreSQL's own user must reach its folders inside
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self._closing = contextlib.ExitStack()
        self.workers: list[WorkerProcess] = []
        self.server: Server | None = None
        self.accepted: list[Accepted] = []
        """Every upload answered 200/201 during the run."""
        self.failed = False
        """Set by the runner: keep the run's folder and logs."""

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close(failed=True)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(failed=self.failed or error is not None)

    def _start(self) -> None:
        self.postgres = PostgresCluster(self.root)
        self._closing.callback(self.postgres.close)
        self.postgres.init()
        self.postgres.start()
        self.redis = RedisServer(self.root)
        self._closing.callback(self.redis.close)
        self.redis.start()
        self.storage = PhotoFilesystem(self.root, STORAGE_MB)
        self._closing.callback(self.storage.close)
        self.env = {
            "REKAP_DATABASE_URL": self.postgres.url,
            "REKAP_REDIS_URL": self.redis.url,
            "REKAP_REDIS_PREFIX": "chaos",
            "REKAP_STORAGE_DIR": str(self.storage.path),
            "REKAP_QUEUE_CLAIM_SECONDS": str(CLAIM_SECONDS),
            "REKAP_MAX_PHOTO_MB": "3",
            "REKAP_LOG_LEVEL": "info",
        }
        migrate = subprocess.run(
            [sys.executable, "-m", "service.cli.main", "db", "migrate", "--create"],
            cwd=REPO,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"rekap db migrate failed:\n{migrate.stdout}{migrate.stderr}")
        self.photos = PhotoSource(FORMS, self.root)
        self.server = Server(self.env)
        self.server.wait_until_listening()
        self.url = self.server.url

    async def register(self) -> None:
        """The registry and the KPPS logins (in-process, as the tests do)."""
        conn = await asyncpg.connect(self.postgres.url, timeout=10)
        try:
            await import_registry(conn, kpu_registry(self.root, REGISTRY))
            for code in TPS:
                await upsert_user(
                    conn,
                    username=f"kpps.{code}",
                    display_name=f"KPPS {code}",
                    role=Role.KPPS,
                    secret=PASSWORD,
                    tps_code=code,
                )
        finally:
            await conn.close()

    async def officer(self, tps: str, tally: Tally) -> Officer:
        async with httpx.AsyncClient(base_url=self.url, timeout=20) as http:
            response = await http.post(
                "/api/v1/auth/login", json={"username": f"kpps.{tps}", "password": PASSWORD}
            )
        response.raise_for_status()
        return Officer(self.url, tps, response.json()["token"], tally, self.accepted)

    def start_worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env)
        self.workers.append(worker)
        return worker

    def worker_alive(self) -> WorkerProcess:
        """The running worker, started if none runs."""
        running = [w for w in self.workers if w.process.poll() is None]
        return running[-1] if running else self.start_worker()

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()

    def close(self, *, failed: bool) -> None:
        """Stop every process and unmount; the run's folder stays (with its logs) after a failure."""
        try:
            self.stop_workers()
            if self.server is not None:
                shutil.copy(self.server.log, self.logs / "server.log")
                self.server.stop()
            for n, worker in enumerate(self.workers):
                shutil.move(worker.log, self.logs / f"worker-{n}.log")
        finally:
            self._closing.close()
            if not (failed or self.keep):
                shutil.rmtree(self.root, ignore_errors=True)
