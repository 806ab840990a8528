"""Request bodies through a real server (service/http/bodies.py): slow bodies hold no database
connection and are cut off, oversize bodies are refused from their declared length, long texts
and deeply nested JSON are refused with a 4xx in Indonesian."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from service.http.bodies import JSON_BODY_LIMIT, MAX_JSON_DEPTH, JsonDepth, JsonTooDeep
from tests.conftest import serving
from tests.security.conftest import HELD, JAGAKARSA

POOL_SIZE = 3
BODY_TIMEOUT_S = 10
SLOW_UPLOADS = 20
SLOW_DECISIONS = 5


@pytest.fixture(scope="module")
def server(server_env: dict[str, str]) -> Iterator[httpx.Client]:
    """The security database behind a small pool, with room for twenty uploads of one login in a
    minute (the package's server allows three) and a body deadline a test can wait for."""
    env = {
        **server_env,
        "REKAP_REDIS_PREFIX": server_env["REKAP_REDIS_PREFIX"] + "-bodies",
        "REKAP_DB_POOL_SIZE": str(POOL_SIZE),
        "REKAP_UPLOADS_PER_MINUTE": "100",
        "REKAP_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT_S),
    }
    with serving(env) as client:
        yield client


def started(client: httpx.Client, path: str, headers: dict[str, str], body: bytes) -> socket.socket:
    """A POST whose head and the first bytes of its body are sent, the rest left to the caller."""
    url = httpx.URL(str(client.base_url))
    sock = socket.create_connection((url.host, url.port or 80), timeout=60)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.host}", *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    return sock


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        response.close()
        sock.close()


def trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """A byte a second on each connection, as the penetration test's slow uploads sent them."""
    while not stop.wait(1):
        for sock in socks:
            try:
                sock.sendall(b"\0")
            except OSError:
                continue


def test_slow_bodies_hold_no_database_connection_and_are_cut_off(
    server: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    """Twenty uploads declaring a megabyte and trickling it, and a few slow review decisions,
    on a pool of three: reads that need the database still answer; the slow bodies get 408."""
    kpps = {**login(f"kpps.{JAGAKARSA}"), "Content-Type": "image/jpeg", "Content-Length": "1000000"}
    officer = {**login("ppk.depok"), "Content-Type": "application/json", "Content-Length": "100"}
    slow = [
        started(server, f"/api/v1/tps/{JAGAKARSA}/ppwp/photos", kpps, b"\xff") for _ in range(SLOW_UPLOADS)
    ] + [started(server, f"/api/v1/review/{HELD}/confirm", officer, b"{") for _ in range(SLOW_DECISIONS)]
    stop = threading.Event()
    sender = threading.Thread(target=trickle, args=(slow, stop))
    sender.start()
    try:
        for _ in range(2 * POOL_SIZE):
            region = server.get("/api/v1/regions/34")
            assert region.status_code == 200, region.text
            queue = server.get("/api/v1/review/queue", headers=login("ppk.depok"))
            assert queue.status_code == 200, queue.text
    finally:
        stop.set()
        sender.join()
    for sock in slow:
        status, headers, body = answer(sock)
        assert status == 408, body
        assert b"terlalu lambat" in body and headers["connection"] == "close"
    assert server.get("/api/v1/regions/34").status_code == 200


def test_a_body_larger_than_its_route_takes_is_refused_from_its_declared_length(
    server: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    """A 38 MB login is answered after its first kilobyte; a photo route takes a photo's size."""
    declared = {"Content-Type": "application/json", "Content-Length": str(38 * 1024 * 1024)}
    status, headers, body = answer(
        started(server, "/api/v1/auth/login", declared, b'{"password":"' + bytes(1024))
    )
    assert status == 413 and headers["connection"] == "close"
    assert httpx.Response(status, content=body).json() == {
        "error": "RequestTooLarge",
        "message": f"Isi permintaan terlalu besar (paling besar {JSON_BODY_LIMIT // 1024} KB).",
    }
    photo = {**login(f"kpps.{JAGAKARSA}"), "Content-Type": "image/jpeg", "Content-Length": str(10**9)}
    status, _, body = answer(started(server, f"/api/v1/tps/{JAGAKARSA}/ppwp/photos", photo, b"\xff"))
    refused = httpx.Response(status, content=body).json()
    assert status == 413 and refused["reason"] == "too_large" and "Foto terlalu besar" in refused["message"]


def test_a_reason_longer_than_the_limit_is_refused(
    server: httpx.Client, login: Callable[[str], dict[str, str]]
) -> None:
    officer = login("ppk.depok")
    long = server.post(f"/api/v1/review/{HELD}/confirm", json={"reason": "x" * 1001}, headers=officer)
    assert long.status_code == 400, long.text
    assert long.json()["message"] == "Isian alasan ('reason') terlalu panjang: paling banyak 1000 karakter."
    huge = server.post(f"/api/v1/review/{HELD}/reject", json={"reason": "x" * 10**7}, headers=officer)
    assert huge.status_code == 413, huge.text
    correction = {"numbers": {"x" * 65: 1}, "reason": "angka terbaca salah"}
    wrong = server.post(f"/api/v1/review/{HELD}/correct", json=correction, headers=officer)
    assert wrong.status_code == 400 and "terlalu panjang" in wrong.json()["message"]
    login_name = server.post("/api/v1/auth/login", json={"username": "a" * 101, "password": "x"})
    assert login_name.status_code == 400 and "username" in login_name.json()["message"]


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/recap/kecamatan/340407/ppwp"])
def test_deeply_nested_json_is_refused_without_a_login(server: httpx.Client, path: str) -> None:
    """Refused as it streams in: 100,000 levels sent without a length get 400 after their first
    kilobyte; sent with their length (200 KB) they are refused for their size first."""
    streamed = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    first_chunk = b"%x\r\n%s\r\n" % (1024, b"[" * 1024)
    status, _, body = answer(started(server, path, streamed, first_chunk))
    assert status == 400, body
    assert httpx.Response(status, content=body).json()["error"] == "JsonTooDeep"
    fits = server.post(path, content=b"[" * 1000 + b"]" * 1000, headers={"Content-Type": "application/json"})
    assert fits.status_code == 400 and "bersarang terlalu dalam" in fits.json()["message"]
    whole = server.post(
        path, content=b"[" * 100_000 + b"]" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert whole.status_code == 413
    assert server.get("/api/v1/regions/34").status_code == 200


def test_nesting_is_followed_across_pieces_and_strings() -> None:
    depth = JsonDepth()
    for piece in (b'{"a": "[[[[\\', b'"[[[[", "b": [', b"[]]}"):
        depth.feed(piece)
    assert depth.depth == 0 and not depth.in_string
    deep = JsonDepth()
    deep.feed(b"[" * MAX_JSON_DEPTH)
    with pytest.raises(JsonTooDeep):
        deep.feed(b"{")
