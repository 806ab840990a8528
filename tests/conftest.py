"""Test fixtures on the real PostgreSQL and Redis: each test run migrates its own template database,
and each test that writes gets a fresh copy of it."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import msgspec
import pytest

from ocr.synth.pages import generate
from service.db.migrations import discover, migrate
from service.db.pool import quote_ident
from service.db.roles import APP_ROLE, ensure_service_role
from service.processes import free_port
from service.regions.registry import import_registry
from service.settings import Settings
from service.users.credentials import new_token
from tests.registry_files import kpu_registry

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RUN_ID = uuid.uuid4().hex[:8]
# Each test process (pytest-xdist runs several) keeps its queues, caches and counters apart in the
# one Redis; a test that needs its own prefix still sets one.
os.environ["REKAP_REDIS_PREFIX"] = f"test-{RUN_ID}"
BASE = Settings.from_env()
FORMS = REPO.parent / "shared" / "forms" / "c-hasil-ppwp-2024"


def shared(relative: str) -> Path:
    """A file of ../shared/data; the test is skipped, saying why, when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{relative}, which is not present in this checkout")
    return path


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(BASE.database_url)._replace(path=f"/{name}"))


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(database_url("postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def scratch_database(*, template: str | None = None, create: bool = True) -> AsyncIterator[str]:
    """A database of this test run, dropped on leaving; yields its URL.

    ``template`` copies a database; ``create=False`` only names one (for code that creates it).
    """
    name = f"rekap_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    if create:
        copy = f" TEMPLATE {quote_ident(template)}" if template else ""
        await admin(f"CREATE DATABASE {quote_ident(name)}{copy}")
    try:
        yield database_url(name)
    finally:
        await admin(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def as_service(url: str) -> str:
    """``url`` logging in as ``rekap_app`` (sql/012_least_privilege.sql) instead of the owner:
    servers under test run with the service's privileges only. URLs of other servers (the chaos
    tests' own cluster) or users are left as they are."""
    parts, base = urlsplit(url), urlsplit(BASE.database_url)
    if (parts.hostname, parts.port, parts.username) != (base.hostname, base.port, base.username):
        return url
    _service_login()
    return _logging_in_as_service(url)


def _logging_in_as_service(url: str) -> str:
    parts = urlsplit(url)
    netloc = f"{APP_ROLE}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@functools.cache
def _service_login() -> None:
    """The cluster's ``rekap_app`` made a login role (once a run; the test server trusts local
    logins, so it needs no password). In a thread: callers may run inside an event loop."""

    async def ensure() -> None:
        conn = await asyncpg.connect(database_url("postgres"))
        try:
            await ensure_service_role(conn, _logging_in_as_service(database_url("postgres")))
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, ensure()).result()


def service_env(env: dict[str, str]) -> dict[str, str]:
    """A server's environment with the owner's URL for migrations and the service's for the rest."""
    url = env.get("REKAP_DATABASE_URL", os.environ.get("REKAP_DATABASE_URL", BASE.database_url))
    service = as_service(url)
    if service == url:
        return env
    changed = {**env, "REKAP_DATABASE_URL": service}
    changed.setdefault("REKAP_DATABASE_OWNER_URL", url)
    if env.get("REKAP_DATABASE_READ_URL"):
        changed["REKAP_DATABASE_READ_URL"] = as_service(env["REKAP_DATABASE_READ_URL"])
    return changed


@pytest.fixture(scope="session")
async def template_db() -> AsyncIterator[str]:
    """The name of a migrated database for this test run, copied by ``fresh_db``."""
    async with scratch_database() as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, discover())
        finally:
            await conn.close()
        yield database_name(url)


@pytest.fixture
async def fresh_db(template_db: str) -> AsyncIterator[str]:
    """The URL of a new, migrated, empty database of its own, dropped after the test."""
    async with scratch_database(template=template_db) as url:
        yield url


@pytest.fixture
async def empty_db() -> AsyncIterator[str]:
    """The URL of a new database with no schema at all."""
    async with scratch_database() as url:
        yield url


@pytest.fixture
async def absent_db_url() -> AsyncIterator[str]:
    """The URL of a database that does not exist yet (dropped after the test if it was created)."""
    async with scratch_database(create=False) as url:
        yield url


@pytest.fixture
async def conn(fresh_db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_db)
    yield connection
    await connection.close()


@pytest.fixture
async def regions(conn: asyncpg.Connection, tmp_path: Path) -> asyncpg.Connection:
    """A fresh database holding the small registry of tests/registry_files.py."""
    await import_registry(conn, kpu_registry(tmp_path))
    return conn


def rekap(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Runs the real ``rekap`` command line."""
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


async def sessions(database: str, usernames: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each user's Authorization header, its session made directly in the database (as a login
    makes it, without its quarter second of argon2 each)."""
    conn = await asyncpg.connect(database)
    try:
        headers = {}
        for username in usernames:
            token, digest = new_token()
            await conn.execute(
                "INSERT INTO session_token (token_hash, user_id, expires_at) "
                "SELECT $1, id, now() + interval '1 day' FROM app_user WHERE username = $2",
                digest,
                username,
            )
            headers[username] = {"Authorization": f"Bearer {token}"}
    finally:
        await conn.close()
    return headers


def bearer(api: httpx.Client, username: str, password: str) -> dict[str, str]:
    """The Authorization header of a fresh login through the API."""
    response = api.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


class Server:
    """``rekap serve`` (or ``rekap demo``) running in a subprocess on a free port."""

    def __init__(self, env: dict[str, str], command: tuple[str, ...] = ("serve",)) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkstemp(prefix="rekap-server-", suffix=".log")[1])
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "service.cli.main",
                    *command,
                    "--port",
                    str(self.port),
                    "--workers",
                    "1",
                ],
                cwd=REPO,
                env={**os.environ, **service_env(env)},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def output(self) -> str:
        return self.log.read_text()

    def wait_until_listening(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rekap exited with {self.process.returncode}:\n{self.output()}")
            try:
                httpx.get(self.url + "/schema/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"rekap did not listen on {self.url} within {timeout} s:\n{self.output()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.unlink(missing_ok=True)


class WorkerProcess:
    """``rekap worker`` in its own process group, so that kill -9 takes its OCR processes too."""

    def __init__(self, env: dict[str, str]) -> None:
        self.log = Path(tempfile.mkstemp(prefix="rekap-worker-", suffix=".log")[1])
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli.main", "worker", "--processes", "1"],
                cwd=REPO,
                env={**os.environ, **service_env(env)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def serving(env: dict[str, str]) -> Iterator[httpx.Client]:
    """``rekap serve`` running with ``env``, and a client of it; stopped on leaving."""
    server = Server(env)
    try:
        server.wait_until_listening()
        with httpx.Client(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        server.stop()


@pytest.fixture
def server_factory() -> Iterator[type[Server]]:
    started: list[Server] = []

    class Started(Server):
        def __init__(self, env: dict[str, str], command: tuple[str, ...] = ("serve",)) -> None:
            super().__init__(env, command)
            started.append(self)

    yield Started
    for server in started:
        server.stop()


def forms_dir() -> Path:
    if not (FORMS / "page1.png").exists():
        pytest.skip(
            "needs ../shared/forms/c-hasil-ppwp-2024 (the blank form), which is not present in this checkout"
        )
    return FORMS


class Synthetic:
    """Photos made by the project's own generator (``rekap ocr synth``), with their true values."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.labels = folder / "labels.csv"
        self.values: dict[str, dict[str, int]] = msgspec.json.decode((folder / "values.json").read_bytes())

    def photos(self, tps: str) -> list[Path]:
        return sorted(self.folder.glob(f"{tps}-p*.jpg"))

    def page(self, tps: str, page: int) -> Path:
        return next(self.folder.glob(f"{tps}-p{page}-*.jpg"))


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    """Two TPS (six photos) with moderate phone distortion; fixed seed, so the same photos every run."""
    folder = tmp_path_factory.mktemp("synthetic")
    generate(forms_dir(), folder, 6, seed=5, strength=0.6)
    return Synthetic(folder)
