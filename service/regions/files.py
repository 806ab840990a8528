"""Reading CSV files for imports: gzip or plain, with every bad line reported by number and reason."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

import msgspec

from service.errors import InvalidInput

_GZIP_MAGIC = b"\x1f\x8b"
T = TypeVar("T")


class BadLine(msgspec.Struct, frozen=True):
    line: int
    reason: str


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import did; ``bad_lines`` were skipped (with ``--skip-bad``) or stopped it."""

    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    outside_scope: int = 0
    without_data: int = 0
    bad_lines: list[BadLine] = msgspec.field(default_factory=list)


class ImportRejected(InvalidInput):
    """The file has bad lines and ``--skip-bad`` was not given: nothing was imported."""

    def __init__(
        self, report: ImportReport, advice: str = "fix them, or pass --skip-bad to import the good lines"
    ) -> None:
        super().__init__(f"{report.file}: {len(report.bad_lines)} bad line(s), nothing imported ({advice})")
        self.report = report


class BadRow(Exception):
    """Raised by a line parser: the line is reported with this reason and left out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def checked_rows(
    lines: Iterator[tuple[int, list[str]]],
    header: list[str],
    parse: Callable[[int, list[str]], T],
    report: ImportReport,
) -> Iterator[T]:
    """Parses each data line, counting it and recording every bad one in ``report``."""
    for line, fields in lines:
        report.rows += 1
        if len(fields) != len(header):
            report.bad_lines.append(BadLine(line, f"expected {len(header)} columns, found {len(fields)}"))
            continue
        try:
            yield parse(line, fields)
        except BadRow as bad:
            report.bad_lines.append(BadLine(line, bad.reason))


def read_csv(path: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[int, list[str]]]:
    """Yields (line number, fields), the header first; gzip is recognised by its magic bytes.

    ``on_bytes`` receives how many more bytes of the file (compressed, if it is) were consumed.
    """
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    size = path.stat().st_size
    with path.open("rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if compressed else raw  # type: ignore[assignment]
        reader = csv.reader(io.TextIOWrapper(binary, encoding="utf-8-sig", newline=""))
        reported = 0
        try:
            for fields in reader:
                yield reader.line_num, fields
                if on_bytes and reader.line_num % 8192 == 0:
                    position = raw.tell()
                    on_bytes(position - reported)
                    reported = position
        except (UnicodeDecodeError, csv.Error, gzip.BadGzipFile, EOFError, OSError) as error:
            raise InvalidInput(
                f"{path}:{reader.line_num + 1}: cannot read the file further ({error})"
            ) from error
        if reader.line_num == 0:
            raise InvalidInput(f"{path}: the file is empty")
        if on_bytes:
            on_bytes(size - reported)
