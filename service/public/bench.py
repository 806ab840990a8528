"""``rekap bench api``: the public API's cached region document against nginx serving the same
bytes as a static file, both loaded by wrk in one run, and how soon a publication is visible.

A scratch database holds one kecamatan of 120 desa with three published TPS each, so the
kecamatan's document (its 120 children's summaries) is about 20 KB, like the 21 KB body of the
figures in issue 6. The API runs under ``rekap serve`` (granian) and nginx with as many worker
processes; wrk loads each with the same threads, connections and duration. ``router_rps`` is
the same document asked with a query string, which skips the fast path: the difference is the
time Litestar's routing, injection and response building take.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import msgspec

from service.db.pool import acquire
from service.db.scratch import scratch_database
from service.errors import InvalidInput
from service.processes import REKAP, free_port, running, wait_for
from service.recap.bench import publish

KECAMATAN = "340101"
DESA = 120
TPS_PER_DESA = 3
FRESHNESS_ROUNDS = 5
NODE = f"/api/v1/public/ppwp/regions/{KECAMATAN}"
NGINX_CONF = """
worker_processes {workers};
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {root}/www; default_type application/json; etag on; }}
    }}
}}
"""


class ApiBench(msgspec.Struct, frozen=True):
    document: str
    body_bytes: int
    workers: int
    """Processes of the API and of nginx alike."""
    connections: int
    duration_s: float
    rps: float
    """Requests per second of the cached document from the API."""
    nginx_rps: float
    ratio_to_nginx: float
    p99_ms: float
    nginx_p99_ms: float
    router_rps: float
    """The same document through Litestar's router (a query string skips the fast path)."""
    freshness_ms: float
    """Median over five publications, from the commit to the document showing it."""
    freshness_max_ms: float
    errors: int
    """Non-2xx answers and socket errors wrk counted for the API (should be 0)."""


def tools() -> tuple[str, str]:
    wrk, nginx = shutil.which("wrk"), shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if wrk is None or nginx is None:
        raise InvalidInput(
            "rekap bench api needs wrk and nginx (Debian: apt-get install wrk nginx-light; "
            "deploy/local/system-packages.sh installs them)"
        )
    return wrk, nginx


async def _region(conn: asyncpg.Connection) -> list[str]:
    await conn.execute(
        """
        INSERT INTO region (code, name, level, parent_code, source) VALUES
            ('34', 'DI YOGYAKARTA', 1, NULL, 'kpu'), ('3401', 'KULON PROGO', 2, '34', 'kpu'),
            ('340101', 'TEMON', 3, '3401', 'kpu')
        """
    )
    await conn.execute(
        """
        INSERT INTO region (code, name, level, parent_code, source)
        SELECT '340101' || (2000 + d)::text, 'DESA ' || d, 4, '340101', 'kpu' FROM generate_series(1, $1) d
        """,
        DESA,
    )
    rows = await conn.fetch(
        """
        INSERT INTO tps (code, desa_code, name)
        SELECT r.code || lpad(t::text, 3, '0'), r.code, 'TPS ' || t
        FROM region r, generate_series(1, $1) t WHERE r.level = 4 ORDER BY 1
        RETURNING code
        """,
        TPS_PER_DESA,
    )
    return [r["code"] for r in rows]


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(wrk: str, url: str, connections: int, duration: float) -> tuple[float, float, int]:
    """Requests per second, p99 in ms and errors, from wrk's report."""
    done = subprocess.run(
        [wrk, "-t2", f"-c{connections}", f"-d{duration:g}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", done.stdout)
    if rps is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's report:\n{done.stdout}{done.stderr}")
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", done.stdout)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", done.stdout)
    count = int(errors.group(1)) if errors else 0
    count += sum(int(n) for n in sockets.groups()) if sockets else 0
    return float(rps.group(1)), float(p99.group(1)) * _UNITS[p99.group(2)], count


async def _freshness(url: str, pool: asyncpg.Pool, codes: list[str]) -> list[float]:
    """Publish each TPS (not yet published) in turn; ms from its commit until the document shows it."""
    seen: list[float] = []
    async with httpx.AsyncClient(timeout=10) as client:
        for code in codes:
            before = (await client.get(url)).headers["etag"]
            await publish(pool, [code])
            published = time.perf_counter()
            while (await client.get(url)).headers["etag"] == before:
                if time.perf_counter() - published > 10:
                    raise RuntimeError(f"the publication of TPS {code} did not show within 10 s")
                await asyncio.sleep(0.005)
            seen.append((time.perf_counter() - published) * 1000)
    return seen


class Load(msgspec.Struct, frozen=True):
    """How both servers are run and loaded, and the programs that do it."""

    workers: int
    connections: int
    duration: float
    wrk: str
    nginx: str


async def bench(database_url: str, *, workers: int, connections: int, duration: float) -> ApiBench:
    wrk, nginx = tools()  # before any setup: say what is missing at once
    async with scratch_database(database_url, "bench_api") as url:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        try:
            async with acquire(pool) as conn:
                codes = await _region(conn)
            await publish(pool, codes[:-FRESHNESS_ROUNDS])
            with tempfile.TemporaryDirectory(prefix="rekap-bench-api-") as folder:
                load = Load(workers, connections, duration, wrk, nginx)
                return await _measure(Path(folder), url, pool, codes, load)
        finally:
            await pool.close()


async def _measure(
    root: Path,
    url: str,
    pool: asyncpg.Pool,
    codes: list[str],
    load: Load,
) -> ApiBench:
    wrk, nginx, workers, connections, duration = (
        load.wrk,
        load.nginx,
        load.workers,
        load.connections,
        load.duration,
    )
    api_port, nginx_port = free_port(), free_port()
    env = {
        **os.environ,
        "REKAP_DATABASE_URL": url,
        "REKAP_STORAGE_DIR": str(root / "photos"),
        "REKAP_LOG_LEVEL": "warning",
    }
    api = f"http://127.0.0.1:{api_port}"
    serve = [*REKAP, "serve", "--port", str(api_port), "--workers", str(workers)]
    with running(serve, env, root / "api.log") as server:
        wait_for(api + NODE, server, root / "api.log")
        async with httpx.AsyncClient() as client:
            body = (await client.get(api + NODE)).content
        www = root / "www" / NODE.lstrip("/")
        www.parent.mkdir(parents=True)
        www.write_bytes(body)
        for folder in (root, *www.parents):
            if folder.is_relative_to(root):
                folder.chmod(0o755)
        www.chmod(0o644)
        (root / "nginx.conf").write_text(NGINX_CONF.format(workers=workers, root=root, port=nginx_port))
        command = [
            nginx,
            "-p",
            str(root),
            "-c",
            str(root / "nginx.conf"),
            "-e",
            "stderr",
            "-g",
            "daemon off;",
        ]
        with running(command, env, root / "nginx.log") as static:
            wait_for(f"http://127.0.0.1:{nginx_port}{NODE}", static, root / "nginx.log")
            _wrk(wrk, api + NODE, connections, 1)  # warm every API process
            rps, p99, errors = _wrk(wrk, api + NODE, connections, duration)
            nginx_rps, nginx_p99, _ = _wrk(wrk, f"http://127.0.0.1:{nginx_port}{NODE}", connections, duration)
            router_rps, _, _ = _wrk(wrk, api + NODE + "?via=router", connections, duration)
        fresh = await _freshness(api + NODE, pool, codes[-FRESHNESS_ROUNDS:])
    return ApiBench(
        document=NODE,
        body_bytes=len(body),
        workers=workers,
        connections=connections,
        duration_s=duration,
        rps=round(rps),
        nginx_rps=round(nginx_rps),
        ratio_to_nginx=round(round(rps) / round(nginx_rps), 3),  # of the figures printed
        p99_ms=round(p99, 2),
        nginx_p99_ms=round(nginx_p99, 2),
        router_rps=round(router_rps),
        freshness_ms=round(statistics.median(fresh), 1),
        freshness_max_ms=round(max(fresh), 1),
        errors=errors,
    )
