"""The one place that starts Tesseract (after OCRmyPDF's ``_exec/tesseract.py``).

Calls take keyword-only typed arguments and always a timeout. The binary is checked once per
command (version ≥ 4 for the LSTM engine and a character whitelist it honours, English data
installed); what is missing is named with the Debian package that provides it, since only an
operator can fix it. The reading itself goes through pytesseract; its errors become ours here.

A timeout raises ``TesseractTimeout`` rather than returning empty text: only the caller knows
whether the text was optional evidence (``ocr.header`` records the timeout and goes on) or needed.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache

import msgspec
import pytesseract

from ocr.cells import Gray

COMMAND = "tesseract"
LANGUAGE = "eng"
MIN_MAJOR = 4
CHECK_TIMEOUT_S = 10.0
INSTALL = "apt-get install tesseract-ocr tesseract-ocr-eng"
_VERSION = re.compile(r"tesseract\s+v?(\d+)\.(\d+)(?:\.(\d+))?", re.IGNORECASE)


class TesseractError(Exception):
    """Tesseract could not be used; the message says what an operator should do."""


class TesseractMissing(TesseractError):
    """The binary or its English data is absent, or too old."""

    def __init__(self, command: str, found: str) -> None:
        super().__init__(
            f"Tesseract {MIN_MAJOR} or newer with English data is needed at {command!r} ({found}). "
            f"Install the Debian packages tesseract-ocr and tesseract-ocr-eng: {INSTALL}"
        )


class TesseractTimeout(TesseractError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"Tesseract did not finish within {seconds:g} s")


class TesseractFailed(TesseractError):
    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(f"Tesseract exited with {returncode}: {stderr.strip()[-500:]}")


class Engine(msgspec.Struct, frozen=True):
    command: str
    version: tuple[int, int, int]
    languages: frozenset[str]


@cache
def engine(command: str = COMMAND) -> Engine:
    """The installed Tesseract behind ``command``, checked once (a failed check is not cached,
    so installing the package mends a running process)."""
    version = _version(command)
    if version[0] < MIN_MAJOR:
        raise TesseractMissing(command, f"version {'.'.join(map(str, version))} found")
    listed = _run_check(command, "--list-langs").splitlines()
    languages = frozenset(line.strip() for line in listed if line.strip() and not line.startswith("List of"))
    if LANGUAGE not in languages:
        raise TesseractMissing(command, f"no {LANGUAGE!r} language data; it has {sorted(languages)}")
    return Engine(command, version, languages)


def read_text(image: Gray, *, whitelist: str, psm: int, timeout_s: float, command: str = COMMAND) -> str:
    """The text Tesseract reads in ``image`` (8-bit grey), with only ``whitelist``'s characters.

    ``psm`` is Tesseract's page segmentation mode (6: one block of lines, 7: one line).
    """
    checked = engine(command)
    pytesseract.pytesseract.tesseract_cmd = checked.command  # pytesseract's one setting for it
    config = f"--psm {psm} --dpi 300 -c tessedit_char_whitelist={whitelist}"
    try:
        text: str = pytesseract.image_to_string(image, lang=LANGUAGE, config=config, timeout=timeout_s)
    except pytesseract.TesseractNotFoundError as error:
        raise TesseractMissing(command, "it disappeared since it was checked") from error
    except pytesseract.TesseractError as error:
        raise TesseractFailed(int(error.status), str(error.message)) from error
    except RuntimeError as error:  # pytesseract's only word for a timeout; it has killed the process
        if "timeout" not in str(error):
            raise
        raise TesseractTimeout(timeout_s) from error
    return text.strip()


def _version(command: str) -> tuple[int, int, int]:
    out = _run_check(command, "--version")
    match = _VERSION.search(out)
    if match is None:
        raise TesseractMissing(command, f"no version in its output {out[:80]!r}")
    return (int(match[1]), int(match[2]), int(match[3] or 0))


def _run_check(command: str, flag: str) -> str:
    try:
        done = subprocess.run([command, flag], capture_output=True, timeout=CHECK_TIMEOUT_S, check=False)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
        raise TesseractMissing(command, f"cannot run it: {error.strerror}") from error
    except subprocess.TimeoutExpired as error:
        raise TesseractMissing(command, f"{flag} did not answer within {CHECK_TIMEOUT_S:g} s") from error
    if done.returncode != 0:
        raise TesseractMissing(command, f"{flag} exited with {done.returncode}")
    # Tesseract 3 wrote its version to stderr.
    return (done.stdout + done.stderr).decode(errors="replace")
