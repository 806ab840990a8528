"""``rekap demo`` (what ``make demo`` runs) on a database that does not exist yet."""

from __future__ import annotations

import re
import time
from pathlib import Path

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
    server = server_factory(env, command=("demo",))
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
