"""Progress bars on stderr for long jobs (shown on a terminal, silent in logs and tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm


@contextmanager
def file_progress(path: Path, label: str) -> Iterator[Callable[[int], None]]:
    size = path.stat().st_size if path.is_file() else 0
    with tqdm(total=size, desc=label, unit="B", unit_scale=True, disable=None, leave=True) as bar:

        def advance(n: int) -> None:
            bar.update(n)

        yield advance


@contextmanager
def count_progress(total: int, label: str, unit: str) -> Iterator[Callable[[int], None]]:
    with tqdm(total=total, desc=label, unit=unit, unit_scale=True, disable=None) as bar:

        def advance(n: int) -> None:
            bar.update(n)

        yield advance
