"""``rekap serve``: the API under granian (measured ahead of uvicorn for Litestar on this machine)."""

from __future__ import annotations

import argparse
from typing import Any

from granian import Granian
from granian.constants import Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels

from service.settings import Settings

HEADER_TIMEOUT_MS = 10_000
"""A request's headers (under a kilobyte) must arrive within this, or granian closes the
connection: a client opening connections and trickling headers holds none for long. The body's
deadline is the application's (service/http/bodies.py), which granian has no setting for."""


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    add_listen_options(serve)
    serve.set_defaults(run=run_serve)


def add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: REKAP_HOST)")
    parser.add_argument("--port", type=int, help="port (default: REKAP_PORT)")
    parser.add_argument("--workers", type=int, help="processes (default: REKAP_WORKERS, 0 = cores)")


def run_serve(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    serve(settings, host, port, args.workers or settings.worker_count)
    return 0


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    print(f"rekap listening on http://{host}:{port} with {workers} worker(s)", flush=True)
    Granian(
        "service.http.app:create_server",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        http1_settings=HTTP1Settings(header_read_timeout=HEADER_TIMEOUT_MS),
        log_level=LogLevels(settings.log_level),
    ).serve()
