"""``rekap worker``: the OCR worker (see ``service.photos.worker``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from service.photos.worker import Worker
from service.settings import Settings


def register(commands: Any) -> None:
    worker = commands.add_parser("worker", help="read queued photos with the OCR core, on every core")
    worker.add_argument(
        "--processes",
        type=int,
        default=None,
        help="OCR processes (default REKAP_OCR_PROCESSES: one per core)",
    )
    worker.set_defaults(run=run_worker)


async def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    processes = args.processes or settings.ocr_process_count
    await Worker(settings, processes=max(1, processes)).run(stop)
    return 0
