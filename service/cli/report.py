"""Printing what a command did."""

from __future__ import annotations

import sys

import msgspec

from service.regions.files import ImportReport

SHOWN_BAD_LINES = 20


def print_struct(result: msgspec.Struct, as_json: bool) -> None:
    """A command's result: one line of JSON (``--json``), else indented for a person."""
    encoded = msgspec.json.encode(result)
    print(encoded.decode() if as_json else msgspec.json.format(encoded).decode())


def print_report(report: ImportReport, seconds: float) -> None:
    print_bad_lines(report)
    print(
        f"{report.file}: {report.rows} rows in {seconds:.1f} s: {report.inserted} inserted, "
        f"{report.updated} updated, {report.unchanged} unchanged"
        + (f", {report.outside_scope} outside --only" if report.outside_scope else "")
        + (f", {report.without_data} without data" if report.without_data else "")
        + (f", {len(report.bad_lines)} bad lines skipped" if report.bad_lines else "")
    )


def print_bad_lines(report: ImportReport) -> None:
    for bad in report.bad_lines[:SHOWN_BAD_LINES]:
        print(f"{report.file}:{bad.line}: {bad.reason}", file=sys.stderr)
    if len(report.bad_lines) > SHOWN_BAD_LINES:
        print(f"... and {len(report.bad_lines) - SHOWN_BAD_LINES} more bad lines", file=sys.stderr)
