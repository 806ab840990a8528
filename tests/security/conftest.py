"""One database and one real server for the security tests: the small registry, a user of every
role and scope, and a TPS in each state whose numbers the public must not see."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import cv2
import httpx
import numpy as np
import pytest
from litestar import Litestar

from service.http.app import create_app
from service.photos.storage import PhotoStore
from service.regions.codes import level_of
from service.regions.registry import import_registry
from service.results import workflow
from service.review import store as review
from service.users.credentials import hash_secret
from service.users.model import Role, User
from service.users.store import user_named
from tests.conftest import BASE, scratch_database, serving, sessions
from tests.registry_files import kpu_registry
from tests.tps_numbers import consistent, decoded, decoding, record

PASSWORD = "security-pass-1"
PUBLISHED = "3404072001001"
HELD = "3404072001002"
"""Read, a blocking rule broken: waits for review (``needs_review``)."""
REVIEWED = "3404072001003"
"""Corrected by one officer, waiting for another's approval (``reviewed``)."""
JAGAKARSA = "3171011001001"
"""Nothing received at first: the upload limit's tests send photos for it, and a public test
publishes it and takes it back."""
UPLOADS_PER_MINUTE = 3

HELD_NUMBERS = consistent(2) | {"suara_paslon_1": consistent(2)["suara_paslon_1"] + 500}
REVIEWED_READ = consistent(3) | {"suara_paslon_2": consistent(3)["suara_paslon_2"] + 400}
REVIEWED_NUMBERS = consistent(3)
PHOTOS = {tps: f"a photo of page 1 of TPS {tps}".encode() for tps in (PUBLISHED, HELD, REVIEWED)}
"""Stored bytes need not be an image for the public photo endpoint, which serves them as stored."""

USERS: dict[str, tuple[Role, str | None, str | None]] = {
    f"kpps.{PUBLISHED}": (Role.KPPS, PUBLISHED, None),
    f"kpps.{HELD}": (Role.KPPS, HELD, None),
    f"kpps.{REVIEWED}": (Role.KPPS, REVIEWED, None),
    f"kpps.{JAGAKARSA}": (Role.KPPS, JAGAKARSA, None),
    "ppk.depok": (Role.OFFICER, None, "340407"),
    "ppk.jagakarsa": (Role.OFFICER, None, "317101"),
    "kpu.sleman": (Role.OFFICER, None, "3404"),
    "admin.rekap": (Role.ADMIN, None, None),
}


def built_app() -> Litestar:
    """The application as the server builds it, in this process (its routes, its OpenAPI document)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Litestar's, about the web pages' handlers
        return create_app(BASE)


def page_photo(seed: int = 0, size: tuple[int, int] = (1100, 800)) -> bytes:
    """A JPEG that passes the upload's checks (format, size, complete): grey paper with noise."""
    rng = np.random.default_rng(seed)
    paper = np.clip(rng.normal(220, 15, size), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", paper, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return data.tobytes()


async def _users(conn: asyncpg.Connection) -> dict[str, User]:
    """``USERS``, sharing one hash of ``PASSWORD``: argon2 takes a quarter of a second a hash."""
    secret_hash = hash_secret(PASSWORD)
    for username, (role, tps, region) in USERS.items():
        await conn.execute(
            "INSERT INTO app_user (username, display_name, role, tps_code, scope_level, scope_region, "
            "secret_hash) VALUES ($1, $1, $2, $3, $4, $5, $6)",
            username,
            role.value,
            tps,
            None if role is not Role.OFFICER else int(level_of(region or "")),
            region,
            secret_hash,
        )
    return {username: await user_named(conn, username) for username in USERS}


async def _photo(conn: asyncpg.Connection, storage: Path, tps: str, user: int) -> None:
    await store_read_photo(conn, storage, tps, user, PHOTOS[tps], (1000, 1500))


async def store_read_photo(
    conn: asyncpg.Connection, storage: Path, tps: str, user: int, data: bytes, size: tuple[int, int]
) -> int:
    """``data`` stored as a photo of ``tps`` sent by ``user`` (``size``: width, height), read as
    page 1 (an empty reading); its id."""
    photo: int = await conn.fetchval(
        "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, "
        "state) VALUES ($1, 'ppwp', $2, 'image/jpeg', $3, $5, $6, $4, 'read') RETURNING id",
        tps,
        PhotoStore(storage).put(data),
        len(data),
        user,
        *size,
    )
    await conn.execute(
        "INSERT INTO photo_reading (photo_id, outcome, page, reading, reader_version, ms) "
        "VALUES ($1, 'page', 1, '{}', 't', 1)",
        photo,
    )
    return photo


@pytest.fixture(scope="package")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("security-photos")


@pytest.fixture(scope="package")
async def security_db(
    template_db: str, tmp_path_factory: pytest.TempPathFactory, storage: Path
) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("security")))
            users = await _users(conn)
            for tps in PHOTOS:
                await _photo(conn, storage, tps, users[f"kpps.{tps}"].id)
            await record(conn, PUBLISHED, consistent(1))
            await workflow.record_decoding(conn, HELD, decoding(HELD_NUMBERS), await decoded(conn, HELD))
            await workflow.record_decoding(
                conn, REVIEWED, decoding(REVIEWED_READ), await decoded(conn, REVIEWED)
            )
            officer = users["ppk.depok"]
            await review.claim(conn, officer, REVIEWED, 15)
            await review.correct(conn, officer, REVIEWED, REVIEWED_NUMBERS, "foto: angka terbaca salah")
        finally:
            await conn.close()
        yield url


@pytest.fixture(scope="package")
def server_env(security_db: str, storage: Path) -> dict[str, str]:
    return {
        "REKAP_DATABASE_URL": security_db,
        "REKAP_STORAGE_DIR": str(storage),
        "REKAP_REDIS_PREFIX": f"test-security-{uuid.uuid4().hex[:8]}",
        "REKAP_UPLOADS_PER_MINUTE": str(UPLOADS_PER_MINUTE),
    }


@pytest.fixture(scope="package")
def api(server_env: dict[str, str]) -> Iterator[httpx.Client]:
    with serving(server_env) as client:
        yield client


@pytest.fixture(scope="package")
async def login(security_db: str) -> Callable[[str], dict[str, str]]:
    """The Authorization header of a user of ``USERS``, by username. The sessions are made at
    once (as a login makes them, without its quarter second of argon2 each), so that the tests
    comparing the database before and after refused calls see no new session."""
    return (await sessions(security_db, USERS)).__getitem__
