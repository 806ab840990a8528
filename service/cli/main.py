"""``rekap``: one command, a subcommand per job; expected failures end with a message, not a traceback."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from service.cli import (
    audit,
    bench,
    check,
    db,
    demo,
    ocr,
    recap,
    regions,
    serve,
    simulate,
    tps,
    users,
    worker,
)
from service.cli.report import print_bad_lines
from service.errors import RekapError
from service.regions.files import ImportRejected
from service.settings import Settings, SettingsError

_MODULES = (db, regions, tps, users, serve, worker, recap, check, audit, demo, ocr, bench, simulate)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="rekap", description="Counts Indonesia's votes honestly and fast.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _MODULES:
        module.register(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        result = args.run(settings, args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except ImportRejected as rejected:
        print_bad_lines(rejected.report)
        print(f"rekap: {rejected.message}", file=sys.stderr)
        return 1
    except RekapError as error:
        print(f"rekap: {error.detail or error.message}", file=sys.stderr)  # operators read English
        return 1
    except SettingsError as error:
        print(f"rekap: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
