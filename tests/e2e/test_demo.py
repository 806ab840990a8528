"""``rekap demo`` (what ``make demo`` runs) on a database that does not exist yet."""

from __future__ import annotations

import re

import httpx

from tests.conftest import Server, shared


def test_the_demo_serves_real_regions_and_working_accounts(
    absent_db_url: str, server_factory: type[Server]
) -> None:
    shared("kpu_tps_registry")
    server = server_factory({"REKAP_DATABASE_URL": absent_db_url}, command=("demo",))
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
