"""Nothing unchecked leaves through a public answer: a TPS in each state short of published, with
numbers, reasons, officers and photos found nowhere else, is searched for in the answer of every
public route of the application (every GET route that takes no login, found in its route list, so
a new route is searched too), the live feed read included.

What the public does see of published TPS is checked too (the control that the search would find
them): their numbers, their photos and the reasons of the officers who signed them off.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ocr import DecodedField, TpsDecoding
from ocr.imagefile import ImageInfo
from service.audit import store as audit
from service.audit.anchor import make_checkpoint
from service.photos import store as photos
from service.photos.states import PhotoState
from service.photos.storage import PhotoStore
from service.public.history import OFFICER, STEP
from service.regions.codes import level_of
from service.regions.registry import import_registry
from service.results import store, workflow
from service.results.states import TpsState
from service.review import store as review
from service.users.credentials import hash_secret
from service.users.model import User
from service.users.store import user_named
from service.web.pages import STATIC
from tests.conftest import Server, scratch_database
from tests.registry_files import KPU_ROWS, kpu_registry
from tests.security.conftest import built_app
from tests.tps_numbers import consistent, decoded, record

DESA = "3404072001"
TPS = {n: f"{DESA}{n:03d}" for n in range(1, 11)}
PUBLISHED, RECEIVED, READ, VERIFIED, HELD, REVIEWED, WITHDRAWN, CORRECTED, CONFIRMED, REPUBLISHED = (
    TPS.values()
)
UNPUBLISHED = {RECEIVED, READ, VERIFIED, HELD, REVIEWED, WITHDRAWN}
ROWS = [*KPU_ROWS, *([code, f"TPS {code[-3:]}", str(100 + n), "5", DESA] for n, code in TPS.items() if n > 3)]

MARKERS = (947, 983, 961, 929, 971, 953, 937, 991, 919, 913, 907, 977, 967, 943)
"""Numbers only the unpublished readings hold: no published number or sum of them is one."""
SECRET_OFFICER = "ppk.rahasia"
"""Acts on unpublished numbers only: their name stays out of public answers."""
SIGNED_OFF = ("Sesuai foto halaman satu: kotak paslon satu terbaca keliru", "Disetujui sesuai foto")
CONFIRMED_AS_READ = "Angka sesuai foto formulir"
PUBLISHED_NUMBERS = {
    PUBLISHED: consistent(1),
    CORRECTED: consistent(8),
    CONFIRMED: consistent(9),
    REPUBLISHED: consistent(11),
}


def marked(seed: int, **fields: int) -> dict[str, int]:
    return consistent(seed) | fields


def reader(numbers: dict[str, int], field: str, reason: str) -> TpsDecoding:
    """A decoding that accepted every number but ``field``, for ``reason`` (the reader's words)."""
    fields = {n: DecodedField(n, v, v, n != field, 0.5 if n == field else 1.0) for n, v in numbers.items()}
    fields[field] = DecodedField(field, numbers[field], numbers[field], False, 0.5, reason)
    return TpsDecoding(fields, [], True)


class Photos:
    """Photos sent for a TPS as the intake stores them, read as the worker reads them."""

    def __init__(self, conn: asyncpg.Connection, storage: Path, user: int) -> None:
        self.conn, self.storage, self.user = conn, storage, user
        self.public: dict[str, bytes] = {}
        self.hidden: dict[str, bytes] = {}

    async def send(self, tps: str, page: int | None, *, public: bool, label: str = "") -> None:
        """``page`` None: the reader refuses it (not a form)."""
        data = f"photo {label or page} of TPS {tps}, {uuid.uuid4().hex}".encode()
        sha = PhotoStore(self.storage).put(data)
        photo, _ = await photos.insert_photo(
            self.conn,
            tps=tps,
            sha256=sha,
            info=ImageInfo("image/jpeg", 1000, 1500),
            size_bytes=len(data),
            page_hint=page,
            user_id=self.user,
        )
        await photos.move(self.conn, photo.id, PhotoState.READING)
        await photos.save_reading(
            self.conn,
            photo.id,
            outcome="page" if page else "rejected",
            page=page,
            retake_reason=None if page else "no_form",
            reading=b"{}",
            reader_version="test",
            ms=1.0,
        )
        (self.public if public else self.hidden)[sha] = data


async def _officers(conn: asyncpg.Connection) -> dict[str, User]:
    secret = hash_secret(uuid.uuid4().hex)
    names = {SECRET_OFFICER: "340407", "ppk.depok": "340407", "kpu.sleman": "3404"}
    for name, region in names.items():
        await conn.execute(
            "INSERT INTO app_user (username, display_name, role, scope_level, scope_region, secret_hash) "
            "VALUES ($1, $1, 'officer', $2, $3, $4)",
            name,
            int(level_of(region)),
            region,
            secret,
        )
    return {name: await user_named(conn, name) for name in names}


async def _claimed(conn: asyncpg.Connection, officer: User, tps: str) -> User:
    await review.claim(conn, officer, tps, 15)
    return officer


async def _states(conn: asyncpg.Connection, shots: Photos, who: dict[str, User]) -> None:
    """Each TPS through the real workflow to its state."""
    secret, depok, sleman = who[SECRET_OFFICER], who["ppk.depok"], who["kpu.sleman"]
    # Published, with a page photographed twice before, a refused photo, and a page read after.
    await shots.send(PUBLISHED, 1, public=False, label="1, first try")
    for page in (1, 2, 3):
        await shots.send(PUBLISHED, page, public=True)
    await shots.send(PUBLISHED, None, public=False, label="of a face")
    await record(conn, PUBLISHED, PUBLISHED_NUMBERS[PUBLISHED])
    await shots.send(PUBLISHED, 2, public=False, label="2, sent after publication")
    # Each state short of published.
    for tps in UNPUBLISHED:
        await shots.send(tps, 1, public=False)
        await workflow.mark_received(conn, tps)
    for tps, marker in ((READ, 947), (VERIFIED, 983)):
        read = marked(3, suara_paslon_1=marker)
        await store.transition(
            conn, tps, TpsState.READ, numbers=read, actor_system="ocr", reason="all three pages read"
        )
    await store.transition(
        conn,
        VERIFIED,
        TpsState.VERIFIED,
        actor_system="checks",
        reason="every number read clearly and every blocking rule holds",
    )
    await workflow.record_decoding(
        conn,
        HELD,
        reader(marked(5, suara_paslon_1=961), "suara_paslon_1", "961 makes them add up (the boxes read 929)"),
        await decoded(conn, HELD),
    )
    await workflow.record_decoding(
        conn,
        REVIEWED,
        reader(marked(6, suara_paslon_2=971), "suara_paslon_2", "971 makes them add up (the boxes read 953)"),
        await decoded(conn, REVIEWED),
    )
    officer = await _claimed(conn, secret, REVIEWED)
    await review.correct(conn, officer, REVIEWED, {"suara_paslon_2": 937}, "RAHASIA-1: kotak terbaca 991")
    await record(conn, WITHDRAWN, consistent(7))
    withdrawn = reader(marked(7, suara_paslon_3=919), "suara_paslon_3", "919 fits (the boxes read 913)")
    await workflow.record_decoding(conn, WITHDRAWN, withdrawn, await decoded(conn, WITHDRAWN))
    # A new reading changes nothing published until an officer takes it back to review.
    await review.decide_new_reading(
        conn,
        await _claimed(conn, secret, WITHDRAWN),
        WITHDRAWN,
        adopt=True,
        reason="RAHASIA-4: kotak terbaca 913",
    )
    # Published after review: a rejected correction first, then one approved by a second officer.
    await shots.send(CORRECTED, 1, public=True)
    first = reader(
        marked(8, suara_paslon_1=907), "suara_paslon_1", "907 makes them add up (the boxes read 977)"
    )
    await workflow.record_decoding(conn, CORRECTED, first, await decoded(conn, CORRECTED))
    await review.correct(
        conn, await _claimed(conn, secret, CORRECTED), CORRECTED, {"suara_paslon_1": 967}, "RAHASIA-2"
    )
    await review.decide(
        conn, await _claimed(conn, sleman, CORRECTED), CORRECTED, approve=False, reason="RAHASIA-3"
    )
    right = {"suara_paslon_1": PUBLISHED_NUMBERS[CORRECTED]["suara_paslon_1"]}
    await review.correct(conn, await _claimed(conn, depok, CORRECTED), CORRECTED, right, SIGNED_OFF[0])
    await review.decide(
        conn, await _claimed(conn, sleman, CORRECTED), CORRECTED, approve=True, reason=SIGNED_OFF[1]
    )
    # Published as read after review: the reader's doubt, in its words, stays out.
    doubt = f"{PUBLISHED_NUMBERS[CONFIRMED]['suara_paslon_2']} fits too (the boxes read 943)"
    await workflow.record_decoding(
        conn,
        CONFIRMED,
        reader(PUBLISHED_NUMBERS[CONFIRMED], "suara_paslon_2", doubt),
        await decoded(conn, CONFIRMED),
    )
    await review.confirm(conn, await _claimed(conn, depok, CONFIRMED), CONFIRMED, CONFIRMED_AS_READ)
    # Published twice: the page of the first publication is an older version after the second.
    await shots.send(REPUBLISHED, 1, public=False, label="1 of the first publication")
    for page in (2, 3):
        await shots.send(REPUBLISHED, page, public=True)
    await record(conn, REPUBLISHED, consistent(10))
    await shots.send(REPUBLISHED, 1, public=True, label="1 photographed again")
    await record(conn, REPUBLISHED, PUBLISHED_NUMBERS[REPUBLISHED])
    await review.decide_new_reading(
        conn,
        await _claimed(conn, depok, REPUBLISHED),
        REPUBLISHED,
        adopt=True,
        reason="Halaman 1 difoto ulang",
    )
    await review.confirm(conn, await _claimed(conn, depok, REPUBLISHED), REPUBLISHED, CONFIRMED_AS_READ)


class Prepared(msgspec.Struct):
    url: str
    storage: Path
    public_photos: dict[str, bytes]
    hidden_photos: dict[str, bytes]
    texts: list[str]
    """Every reason recorded in a TPS's history that no published decision carries."""


@pytest.fixture(scope="module")
async def prepared(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Prepared]:
    storage = tmp_path_factory.mktemp("leak-photos")
    async with scratch_database(template=template_db) as url:
        conn = await asyncpg.connect(url)
        try:
            await import_registry(conn, kpu_registry(tmp_path_factory.mktemp("leak"), ROWS))
            who = await _officers(conn)
            shots = Photos(conn, storage, who["ppk.depok"].id)
            await _states(conn, shots, who)
            # The audit trail's signed checkpoint is public too (its digests cover unpublished events).
            await audit.save(conn, await make_checkpoint(conn, Ed25519PrivateKey.generate()))
            states = {
                tps: await conn.fetchval("SELECT state FROM tps_result WHERE tps_code = $1", tps)
                for tps in TPS.values()
            }
            events = await conn.fetch("SELECT reason, numbers_after::text AS numbers FROM tps_result_event")
        finally:
            await conn.close()
        assert {states[t] for t in UNPUBLISHED} == set(TpsState) - {TpsState.PUBLISHED}, states
        assert {states[t] for t in PUBLISHED_NUMBERS} == {TpsState.PUBLISHED}, states
        recorded = " ".join(e["reason"] + e["numbers"] for e in events)
        for n in MARKERS:  # there to be found: a leak would show them
            assert re.search(rf"\b{n}\b", recorded), n
        kept = (*SIGNED_OFF, CONFIRMED_AS_READ)
        texts = sorted({e["reason"] for e in events if not any(k in e["reason"] for k in kept)})
        yield Prepared(url, storage, shots.public, shots.hidden, texts)


@pytest.fixture(scope="module")
def server(prepared: Prepared) -> Iterator[Server]:
    server = Server(
        {
            "REKAP_DATABASE_URL": prepared.url,
            "REKAP_STORAGE_DIR": str(prepared.storage),
            "REKAP_REDIS_PREFIX": f"test-leak-{uuid.uuid4().hex[:8]}",
        }
    )
    try:
        server.wait_until_listening()
        yield server
    finally:
        server.stop()


def region_codes() -> list[str]:
    return [row[0] for row in ROWS if len(row[0]) < 13]


def tps_codes() -> list[str]:
    return [row[0] for row in ROWS if len(row[0]) == 13]


def kpu_path(code: str) -> str:
    return "/".join(code[:n] for n in (2, 4, 6, 10, 13) if len(code) >= n) + ".json"


def fillings(api: httpx.Client, prepared: Prepared) -> dict[str, list[str]]:
    """Values for each path parameter of a public route: every region, TPS, photo, export, file."""
    codes = ["nasional", *region_codes(), *tps_codes()]
    return {
        "code": codes,
        "version": [str(api.get("/api/v1/public/ppwp/version").json()["version"])],
        "sha256": [*prepared.public_photos, *prepared.hidden_photos],
        "filename": [
            *(f"{c}.csv" for c in region_codes() if len(c) in (2, 4)),
            *(f"{c}.json" for c in codes[: -len(tps_codes())]),
        ],
        "path": ["0.json", *(kpu_path(c) for c in codes[1:])],
        "file_path": sorted(str(p.relative_to(STATIC)) for p in STATIC.rglob("*") if p.is_file()),
    }


def public_routes() -> list[tuple[str, list[str], bool]]:
    """(path template, parameter names, is a live feed) of every GET route that takes no login."""
    routes = []
    for route in built_app().routes:
        if route.path.startswith("/schema"):
            continue  # the API's description, no data
        for handler in getattr(route, "route_handlers", []):
            if "GET" in handler.http_methods and "current_user" not in handler.parsed_fn_signature.parameters:
                feed = str(handler.media_type) == "text/event-stream"
                routes.append((route.path, list(route.path_parameters), feed))
    return routes


def addresses(template: str, names: list[str], values: dict[str, list[str]]) -> list[str]:
    paths = [template]
    for name in names:
        assert name in values, f"{template}: say in fillings() which values its {{{name}}} takes"
        slot = re.compile(r"\{" + name + r"(:[^}]*)?\}")
        paths = [slot.sub(value, path) for path in paths for value in values[name]]
    return paths


def feed(api: httpx.Client, path: str) -> bytes:
    """The live feed replayed from the start, read until it goes quiet (it never ends)."""
    out = b""
    try:
        with api.stream(
            "GET", path, headers={"Last-Event-ID": "0"}, timeout=httpx.Timeout(10, read=3)
        ) as answer:
            assert answer.status_code == 200, path
            deadline = time.monotonic() + 20
            for chunk in answer.iter_bytes():
                out += chunk
                if time.monotonic() > deadline:
                    break
    except httpx.ReadTimeout:
        pass  # quiet: everything there was to replay was sent
    return out


def leaks(body: bytes, prepared: Prepared) -> list[str]:
    text = body.decode("utf-8", "replace")
    found = [str(n) for n in MARKERS if re.search(rf"(?<![0-9A-Za-z.]){n}(?![0-9A-Za-z])", text)]
    found += [t for t in (*prepared.texts, SECRET_OFFICER, "RAHASIA", "boxes read") if t in text]
    found += [sha for sha in prepared.hidden_photos if sha in text]
    found += [f"bytes of {sha}" for sha, data in prepared.hidden_photos.items() if data in body]
    return found


def test_no_public_answer_holds_anything_unpublished(server: Server, prepared: Prepared) -> None:
    routes = public_routes()
    assert any(feed_ for _, _, feed_ in routes) and len(routes) > 15, routes
    with httpx.Client(base_url=server.url, timeout=30) as api:
        values = fillings(api, prepared)
        found: dict[str, list[str]] = {}
        for template, names, is_feed in routes:
            paths = addresses(template, names, values)
            answered = 0
            for path in paths:
                if is_feed:
                    body = b"".join(feed(api, p) for p in (path, f"{path}?region=34"))
                    answered += body.count(b"event: change") > 1  # replayed what changed
                else:
                    answer = api.get(path, follow_redirects=True)
                    assert answer.status_code < 500, (path, answer.text[:300])
                    answered += answer.status_code == 200
                    body = answer.content
                if hits := leaks(body, prepared):
                    found[path] = hits
            assert answered, f"{template}: no filling answered 200, so nothing of it was searched"
    assert found == {}


def test_published_tps_show_their_numbers_photos_and_signed_reasons(
    server: Server, prepared: Prepared
) -> None:
    """The control of the search: what was published is there to be found."""
    with httpx.Client(base_url=server.url, timeout=30) as api:
        documents = {tps: api.get(f"/api/v1/public/ppwp/tps/{tps}").json() for tps in TPS.values()}
        for tps, numbers in PUBLISHED_NUMBERS.items():
            assert documents[tps]["numbers"] == numbers, tps
            shown = {e["to_state"] for e in documents[tps]["history"]}
            assert TpsState.PUBLISHED in shown, tps
        reasons = {tps: [e["reason"] for e in d["history"]] for tps, d in documents.items()}
        actors = {tps: {e["actor"] for e in d["history"]} for tps, d in documents.items()}
        assert SIGNED_OFF[0] in reasons[CORRECTED]
        assert any(SIGNED_OFF[1] in r for r in reasons[CORRECTED]), reasons[CORRECTED]
        assert {"ppk.depok", "kpu.sleman", OFFICER} <= actors[CORRECTED]
        assert CONFIRMED_AS_READ in reasons[CONFIRMED] and "ppk.depok" in actors[CONFIRMED]
        hasil = api.get(f"/hasil/{CORRECTED}").text
        assert SIGNED_OFF[0] in hasil and "kpu.sleman" in hasil
        published_sets = [*PUBLISHED_NUMBERS.values(), consistent(10)]
        for tps, document in documents.items():
            for event in document["history"]:
                assert event["numbers_after"] in ({}, *published_sets), (tps, event)
                assert event["numbers_before"] in (None, *published_sets), (tps, event)
                if tps in UNPUBLISHED:
                    assert event["reason"] == STEP[TpsState(event["to_state"])], (tps, event)
                    assert event["actor"] in ("intake", "ocr", "checks", OFFICER), (tps, event)


def test_public_photos_are_the_pages_a_published_tps_was_published_with(
    server: Server, prepared: Prepared
) -> None:
    """Not a refused photo, not an older version, not a page read after the publication, nothing
    of a TPS not published; and each listed photo is served, so the list and the files agree."""
    with httpx.Client(base_url=server.url, timeout=30) as api:
        listed = {
            p["sha256"]
            for tps in TPS.values()
            for p in api.get(f"/api/v1/public/ppwp/tps/{tps}").json()["photos"]
        }
        assert listed == set(prepared.public_photos)
        pages = [p["page"] for p in api.get(f"/api/v1/public/ppwp/tps/{PUBLISHED}").json()["photos"]]
        assert pages == [1, 2, 3]
        for sha, data in prepared.public_photos.items():
            answer = api.get(f"/api/v1/public/photos/{sha}")
            assert answer.status_code == 200 and answer.content == data, sha
            assert answer.headers["cache-control"].endswith("immutable")
            again = api.get(f"/api/v1/public/photos/{sha}", headers={"If-None-Match": answer.headers["etag"]})
            assert again.status_code == 304 and again.content == b""
        for sha in prepared.hidden_photos:
            answer = api.get(f"/api/v1/public/photos/{sha}")
            assert answer.status_code == 404 and answer.json()["message"], sha
