"""``rekap demo`` (what ``make demo`` runs) on a database that does not exist yet: real regions and
photos from ``../shared``, or, without it, an example country and simulated pages; in both, the
demo's KPPS send their photos through the upload API, the worker reads them, and some TPS are
published while others wait for an officer."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import RUN_ID, Server, Synthetic, shared


def test_the_demo_serves_real_regions_and_working_accounts(
    absent_db_url: str, server_factory: type[Server], synthetic: Synthetic, tmp_path: Path
) -> None:
    shared("kpu_tps_registry")
    env = {
        "REKAP_DATABASE_URL": absent_db_url,
        "REKAP_STORAGE_DIR": str(tmp_path / "storage"),
        "REKAP_REDIS_PREFIX": f"test-demo-{RUN_ID}",
    }
    server = server_factory(env, command=("demo", "--real", "1", "--synthetic", "6", "--pause", "0"))
    server.wait_until_listening(timeout=300)
    output = server.output()
    assert f"rekap demo: {server.url}" in output

    assert httpx.get(server.url + "/health", timeout=10).json()["status"] == "ok"
    diy = httpx.get(server.url + "/api/v1/regions/34", timeout=10).json()
    assert [c["name"] for c in diy["children"]] == [
        "KULON PROGO",
        "BANTUL",
        "GUNUNGKIDUL",
        "SLEMAN",
        "KOTA YOGYAKARTA",
    ]
    jakarta = httpx.get(server.url + "/api/v1/regions/31", timeout=10).json()
    assert len(jakarta["children"]) == 6

    accounts = re.findall(r"^\s+(admin|officer|kpps)\s+(\S+)\s+(\S+)$", output, re.MULTILINE)
    assert [role for role, _, _ in accounts] == ["admin", "officer", "kpps"]
    for role, username, password in accounts:
        login = httpx.post(
            server.url + "/api/v1/auth/login", json={"username": username, "password": password}, timeout=10
        )
        assert login.status_code == 200, login.text
        assert login.json()["user"]["role"] == role
    kpps_tps = accounts[2][1].removeprefix("kpps.")
    tps = httpx.get(server.url + f"/api/v1/regions/{kpps_tps}", timeout=10).json()
    assert tps["dpt_j"] > 0 and tps["dpt_synthetic"] is False

    # The demo's OCR worker reads what the KPPS sends.
    token = httpx.post(
        server.url + "/api/v1/auth/login",
        json={"username": accounts[2][1], "password": accounts[2][2]},
        timeout=10,
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    photo = synthetic.page(sorted(synthetic.values)[0], 3).read_bytes()
    sent = httpx.post(
        server.url + f"/api/v1/tps/{kpps_tps}/ppwp/photos", files={"photo": ("p3.jpg", photo)}, headers=auth
    )
    assert sent.status_code == 201, sent.text
    deadline = time.monotonic() + 60
    while True:
        status = httpx.get(server.url + f"/api/v1/tps/{kpps_tps}/ppwp", headers=auth, timeout=10).json()
        if status["pages"][2]["state"] == "read":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.3)

    sent, published, waiting = _summary(server)
    assert "7 KPPS send their photos (1 TPS with real photos, 6 synthetic)" in server.output()
    assert sent == 21
    assert published >= 1 and waiting >= 1, server.output()
    _check_results_and_queue(server.url, accounts[1][1], accounts[1][2], published, waiting)


def test_the_demo_without_shared_data_runs_an_example_country(
    absent_db_url: str, server_factory: type[Server], tmp_path: Path
) -> None:
    env = {
        "REKAP_DATABASE_URL": absent_db_url,
        "REKAP_STORAGE_DIR": str(tmp_path / "storage"),
        "REKAP_REDIS_PREFIX": f"test-demo-example-{RUN_ID}",
        "REKAP_DATA_DIR": str(tmp_path / "no-shared-data"),
        "REKAP_FORMS_DIR": str(tmp_path / "no-shared-forms"),
    }
    server = server_factory(env, command=("demo", "--synthetic", "12", "--pause", "0"))
    server.wait_until_listening(timeout=120)
    output = server.output()
    assert "an example country loaded instead" in output
    assert "simulated pages" in output
    accounts = re.findall(r"^\s+(admin|officer|kpps)\s+(\S+)\s+(\S+)$", output, re.MULTILINE)
    sent, published, waiting = _summary(server)
    assert "12 KPPS send their photos (0 TPS with real photos, 12 synthetic)" in server.output()
    assert sent == 36
    # Every sixth synthetic TPS's form does not add up: two of twelve wait, the rest are published.
    assert (published, waiting) == (10, 2), server.output()
    nation = _check_results_and_queue(server.url, accounts[1][1], accounts[1][2], published, waiting)
    assert len(nation["children"]) == 38


def _summary(server: Server, timeout: float = 240) -> tuple[int, int, int]:
    """The demo's own account of what it sent and what became of it."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(r"rekap demo: (\d+) photos of \d+ TPS sent; (\d+) TPS published .*?, (\d+) waiting")
    while not (found := pattern.search(server.output())):
        assert time.monotonic() < deadline, server.output()
        time.sleep(1)
    sent, published, waiting = (int(g) for g in found.groups())
    return sent, published, waiting


def _check_results_and_queue(url: str, officer: str, password: str, published: int, waiting: int) -> Any:
    """/hasil counts the published TPS; the officer's queue holds the waiting ones."""
    nation = httpx.get(url + "/api/v1/public/ppwp/regions/nasional", timeout=10).json()
    assert nation["progress"]["tps_published"] >= published
    page = httpx.get(url + "/hasil", timeout=10)
    assert page.status_code == 200 and "dipublikasikan" in page.text
    token = httpx.post(
        url + "/api/v1/auth/login", json={"username": officer, "password": password}, timeout=10
    ).json()["token"]
    queue = httpx.get(url + "/api/v1/review/queue", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert queue.status_code == 200 and len(queue.json()) >= waiting, queue.text
    return nation
