"""The chaos run's own PostgreSQL cluster, Redis server and tiny photo filesystem: real processes
and a real mount that the scenarios stop, kill and fill, never the machine's shared ones."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import free_port

COMMAND_TIMEOUT_S = 60


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"waited {timeout} s for {what}")


class PostgresCluster:
    """``initdb`` into a folder of the run, started and stopped with ``pg_ctl`` on a free port.

    PostgreSQL refuses to run as root; then it runs as its own system user, as
    deploy/local/services.sh does.
    """

    def __init__(self, root: Path) -> None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
        if not versions:
            raise RuntimeError("PostgreSQL's server programs are not installed (make setup)")
        self.bin = versions[-1].parent
        self.data = root / "postgres"
        self.sockets = root / "postgres-run"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/rekap"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)

    def init(self) -> None:
        for folder in (self.data, self.sockets):
            folder.mkdir(mode=0o700)
            if os.geteuid() == 0:
                shutil.chown(folder, "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
        )

    def crash(self) -> None:
        """Stop at once, as a crash would: no checkpoint, sessions cut; the next start recovers."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        if self.running():
            with contextlib.suppress(subprocess.SubprocessError):
                self.crash()


class RedisServer:
    """A Redis without persistence: a restart loses the queue, the worst case for the queue."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "redis"
        self.folder.mkdir()
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (make setup)")
        with (self.folder / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                 "--save", "", "--appendonly", "no"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        _wait_until(lambda: _reachable(self.port), 10, f"Redis to listen on port {self.port}")

    def kill(self) -> None:
        """kill -9: the stream, its consumer group and every pending entry are gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=COMMAND_TIMEOUT_S)
        self.process = None

    def close(self) -> None:
        self.kill()


class PhotoFilesystem:
    """The photo store on a tmpfs of ``size_mb``, so that it can really be filled up.

    ``mounted`` is False when mounting is impossible (not root, no mount privilege): the folder
    is then an ordinary one, and ``unavailable`` says why.
    """

    def __init__(self, root: Path, size_mb: int) -> None:
        self.path = root / "photos"
        self.path.mkdir()
        self.ballast = self.path / ".ballast"
        self.mounted = False
        self.unavailable: str | None = None
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(self.path)],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        if result.returncode == 0:
            self.mounted = True
        else:
            self.unavailable = f"cannot mount a tmpfs: {result.stderr.strip() or result.returncode}"

    def fill(self, leave_bytes: int) -> int:
        """Write ballast until the filesystem refuses, then free ``leave_bytes`` (less than a
        photo, so that a photo's write starts and fails half-way); the bytes left free."""
        chunk = bytes(1024 * 1024)
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            while os.write(fd, chunk):
                pass
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
        finally:
            os.close(fd)
        size = self.ballast.stat().st_size
        os.truncate(self.ballast, max(0, size - leave_bytes))
        return self.free_bytes()

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize

    def release(self) -> None:
        self.ballast.unlink(missing_ok=True)

    def close(self) -> None:
        self.release()
        if self.mounted:
            result = subprocess.run(
                ["umount", str(self.path)], capture_output=True, timeout=COMMAND_TIMEOUT_S, check=False
            )
            if result.returncode != 0:  # still busy: detach it now, it goes when the last user does
                subprocess.run(
                    ["umount", "-l", str(self.path)],
                    capture_output=True,
                    timeout=COMMAND_TIMEOUT_S,
                    check=False,
                )
            self.mounted = False
