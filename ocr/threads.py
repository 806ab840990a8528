"""One thread per reading process: the service runs one OCR process per core.

OpenCV and the BLAS under numpy each start a thread per core by default. With one reading
process per core those threads only compete (and OpenBLAS's spin while they wait): two processes
on two cores spent 245 ms of CPU per synthetic page with the default threads and 165 ms with one.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import cv2
from threadpoolctl import threadpool_limits


def single_threaded() -> None:
    """Limit this process's OpenCV and BLAS to one thread (a process pool's initializer)."""
    cv2.setNumThreads(1)
    threadpool_limits(limits=1)


def reading_pool(processes: int) -> ProcessPoolExecutor:
    """Processes that read photos, each on one thread. Spawned, not forked: a fork of a process
    whose BLAS threads have run can hang in them (and would inherit its open connections)."""
    spawn = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(processes, mp_context=spawn, initializer=single_threaded)
