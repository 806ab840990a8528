"""What ``rekap demo`` sends, as the KPPS of each demo TPS would: the real photos of
``c1_form_images`` (each to its own TPS) and synthetic photos of more TPS, through the upload API,
at a pace a person can watch. The worker reads them; what adds up is published, the rest waits
for an officer in /petugas.

Without the blank forms (no ``../shared``) the synthetic photos are simulated pages that carry
their numbers (``service.sim.pages``), which the demo's worker takes as read
(``REKAP_SIMULATED_OCR=1``); the demo says so.
"""

from __future__ import annotations

import asyncio
import csv
import random
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx
import msgspec
import numpy as np

from ocr.form import Page
from ocr.synth.pages import blank_pages, tps_photos, tps_values
from service.sim import pages as simulated
from service.users.credentials import new_secret
from service.users.model import Role
from service.users.store import upsert_user

REAL_PHOTOS = "c1_form_images"
BROKEN_EVERY = 6
"""One synthetic TPS in this many has a form that does not add up (the pairs' votes written ten
more than the valid votes), as some real ones do: an officer must look at it."""
STRENGTH = 0.5
"""How much the synthetic photos are distorted (see ``ocr.synth.pages.photograph``)."""


class DemoTps(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    photos: tuple[str, ...] = ()
    """The real photos of this TPS; none for a synthetic one."""
    numbers: dict[str, int] | None = None
    """What a synthetic TPS's form says (its photos are drawn from them when sent)."""


class Sent(msgspec.Struct, kw_only=True):
    tps: int = 0
    photos: int = 0
    refused: list[str] = []


def real_tps(data: Path, known: set[str]) -> list[DemoTps]:
    """The TPS of the real photos that are in the loaded registry, each with its photos."""
    index = data / REAL_PHOTOS / "images_index.csv"
    if not index.is_file():
        return []
    by_tps: dict[str, list[str]] = {}
    with index.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            path = data / REAL_PHOTOS / "images" / row["file"]
            if row["kode_tps"] in known and path.is_file():
                by_tps.setdefault(row["kode_tps"], []).append(str(path))
    return [DemoTps(code=code, photos=tuple(files)) for code, files in sorted(by_tps.items())]


async def plan(
    conn: asyncpg.Connection, data: Path, *, real: int, synthetic: int, exclude: set[str], seed: int = 1
) -> list[DemoTps]:
    """Up to ``real`` TPS with real photos and ``synthetic`` more (registry TPS with a DPT, spread
    at random), alternating so that both kinds arrive from the start; none of ``exclude``."""
    known = {r["code"] for r in await conn.fetch("SELECT code FROM tps")} - exclude
    with_photos = real_tps(data, known)[:real]
    taken = [t.code for t in with_photos] + sorted(exclude)
    rows = await conn.fetch(
        "SELECT code, dpt_l, dpt_p FROM tps WHERE dpt_j IS NOT NULL AND code <> ALL($1::text[]) "
        "ORDER BY md5(code || $2) LIMIT $3",
        taken,
        str(seed),
        synthetic,
    )
    rng = np.random.default_rng(seed)
    drawn = []
    for n, row in enumerate(rows):
        numbers = tps_values(rng, dpt=(row["dpt_l"], row["dpt_p"]))
        if n % BROKEN_EVERY == BROKEN_EVERY - 1:
            numbers["suara_paslon_1"] += 10
        drawn.append(DemoTps(code=row["code"], numbers=numbers))
    out: list[DemoTps] = []
    while with_photos or drawn:
        out.extend(source.pop(0) for source in (with_photos, drawn) if source)
    return out


async def kpps_accounts(
    conn: asyncpg.Connection, tps: list[DemoTps], on_done: Callable[[int], None]
) -> dict[str, str]:
    """A KPPS login for each demo TPS (``kpps.<code>``, as the real ones are named); its secret."""
    secrets = {}
    for t in tps:
        secret = new_secret()
        await upsert_user(
            conn,
            username=f"kpps.{t.code}",
            display_name=f"KPPS {t.code}",
            role=Role.KPPS,
            tps_code=t.code,
            secret=secret,
        )
        secrets[t.code] = secret
        on_done(1)
    return secrets


class Photographer:
    """A demo TPS's photos: the real files, or its numbers drawn on the blank form (or, without
    the form, simulated pages)."""

    def __init__(self, forms: Path, seed: int = 1) -> None:
        self.blanks = blank_pages(forms) if (forms / "page1.png").is_file() else None
        self.rng = np.random.default_rng(seed)

    @property
    def simulated(self) -> bool:
        return self.blanks is None

    def photos(self, tps: DemoTps) -> list[bytes]:
        if tps.photos:
            return [Path(p).read_bytes() for p in tps.photos]
        assert tps.numbers is not None
        if self.blanks is None:
            return [simulated.photo(tps.code, page, tps.numbers) for page in Page]
        return tps_photos(self.blanks, tps.numbers, self.rng, strength=STRENGTH)


async def send(
    base: str,
    tps: list[DemoTps],
    secrets: dict[str, str],
    photographer: Photographer,
    *,
    pause_s: float,
    on_photo: Callable[[int], None],
) -> Sent:
    """Each TPS's KPPS logs in and sends its pages, one TPS after another, ``pause_s`` apart."""
    sent = Sent()
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for t in tps:
            login = await client.post(
                "/api/v1/auth/login", json={"username": f"kpps.{t.code}", "password": secrets[t.code]}
            )
            if login.status_code != 200:
                sent.refused.append(f"{t.code}: login {login.status_code} {login.text[:200]}")
                continue
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            photos = await asyncio.to_thread(photographer.photos, t)
            random.Random(t.code).shuffle(photos)  # a KPPS does not always start with page 1
            for n, data in enumerate(photos, 1):
                answer = await client.post(
                    f"/api/v1/tps/{t.code}/ppwp/photos",
                    files={"photo": (f"{t.code}-{n}.jpg", data, "image/jpeg")},
                    headers=auth,
                )
                if answer.status_code == 201:
                    sent.photos += 1
                else:
                    sent.refused.append(f"{t.code}: {answer.status_code} {answer.text[:200]}")
                on_photo(1)
            sent.tps += 1
            await asyncio.sleep(pause_s)
    return sent


async def outcome(conn: asyncpg.Connection, tps: list[DemoTps]) -> dict[str, int]:
    """How many of the demo's TPS are in each state now."""
    rows = await conn.fetch(
        "SELECT state, count(*) AS n FROM tps_result WHERE tps_code = ANY($1::text[]) GROUP BY state",
        [t.code for t in tps],
    )
    return {r["state"]: r["n"] for r in rows}
