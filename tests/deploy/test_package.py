"""The installable package (what the container image installs) carries everything rekap reads
from disk: its migrations, the web pages' templates and assets, the OCR model."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO


def test_the_wheel_carries_the_migrations_and_the_pages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("rekap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = {p.name for p in (REPO / "sql").glob("*.sql")}
    assert {n.removeprefix("service/db/sql/") for n in names if n.startswith("service/db/sql/")} == migrations
    web = REPO / "service" / "web"
    for asset in (*web.glob("templates/*.html"), *web.glob("static/*")):
        assert asset.relative_to(REPO).as_posix() in names
    assert any(n.startswith("ocr/data/") for n in names), "the digit model and the form templates"
