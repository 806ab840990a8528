"""Published results per region and per TPS, read from PostgreSQL.

Only ``published`` numbers appear here: region totals come from ``region_total`` (whose vote
columns count published TPS only), a TPS shows its numbers and photos only once published
(``service.public.photos``), and its history only what published decisions said
(``service.public.history``). A published TPS also carries the anomaly flags of its own numbers
(``service.results.anomalies.tps_anomalies``): informative, shown beside them, never withholding
them.
"""

from __future__ import annotations

import asyncpg
import msgspec

from ocr.form import PAIRS
from service.errors import NotFound
from service.public.history import public_history
from service.public.photos import public_pages, thumbnail_url
from service.recap import totals
from service.regions.codes import CODE_LENGTHS, Level, level_of
from service.results import store as results
from service.results.anomalies import tps_anomalies
from service.results.states import TpsState


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    kpu_id: int
    name: str
    votes: int
    share: float
    """Of the valid votes counted so far (0 when none)."""


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    tps_expected: int
    tps_published: int
    share: float


class Child(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    votes: list[int]
    """Per pair, in ballot order."""
    suara_sah: int
    progress: Progress


class RegionResult(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    level: str
    candidates: list[Candidate]
    suara_sah: int
    suara_tidak_sah: int
    suara_total: int
    progress: Progress
    children: list[Child]
    version: int
    """Rises whenever any published number changes."""


class PublicPhoto(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    url: str
    sha256: str
    thumbnail_url: str | None = None
    """The photo shown small (440 pixels on its longer side, a JPEG of about 13 KB); rekap's own
    documents always give it."""


class Flag(msgspec.Struct, frozen=True, kw_only=True):
    """Something unusual in a TPS's numbers, for the reader to weigh: the numbers stand."""

    kind: str
    """``turnout_over_100`` or ``landslide`` (``service.results.anomalies``)."""
    message: str
    """In Indonesian, with the numbers concerned."""
    fields: list[str]
    """The numbers it is about."""


class TpsResult(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    name: str
    state: str
    published: bool
    numbers: dict[str, int] | None
    """``None`` until the TPS's numbers are published."""
    photos: list[PublicPhoto]
    flags: list[Flag] = []
    """Anomaly flags of the published numbers; none while unpublished."""
    history: list[results.Event]
    """Every change of state since the first photo, with its time; of the numbers and reasons only
    those of published decisions (``service.public.history``)."""
    version: int


async def data_version(conn: asyncpg.Connection) -> int:
    """The newest published change (``public_change``): rises whenever anything public changes."""
    version: int = await conn.fetchval("SELECT coalesce(max(version), 0) FROM public_change")
    return version


async def candidates(conn: asyncpg.Connection) -> list[tuple[int, int, str]]:
    rows = await conn.fetch(
        "SELECT ballot_number, kpu_id, name || ' - ' || running_mate AS name FROM candidate "
        "WHERE contest_id = 'pemilu2024-ppwp' ORDER BY ballot_number"
    )
    return [(r["ballot_number"], r["kpu_id"], r["name"]) for r in rows]


def _progress(expected: int, published: int) -> Progress:
    return Progress(
        tps_expected=expected,
        tps_published=published,
        share=round(published / expected, 4) if expected else 0.0,
    )


async def region(conn: asyncpg.Connection, code: str | None) -> RegionResult:
    level = Level.NASIONAL if code is None else level_of(code)
    if level is Level.TPS:
        raise NotFound(
            f"Kode {code} adalah kode TPS: buka /tps/{code}.", detail=f"{code} is a TPS: ask /tps/{code}"
        )
    name = "Indonesia"
    if code is not None:
        row = await conn.fetchrow("SELECT name FROM region WHERE code = $1", code)
        if row is None:
            raise NotFound(
                f"Wilayah dengan kode {code} tidak ada dalam daftar wilayah. Periksa kodenya.",
                detail=f"region {code} is not in the registry",
            )
        name = row["name"]
    own = await totals.region_totals(conn, code)
    valid = own.numbers["suara_sah"]
    people = await candidates(conn)
    return RegionResult(
        code=code or "",
        name=name,
        level=level.label,
        candidates=[
            Candidate(
                number=n,
                kpu_id=kpu_id,
                name=label,
                votes=own.numbers[pair],
                share=round(own.numbers[pair] / valid, 4) if valid else 0.0,
            )
            for (n, kpu_id, label), pair in zip(people, PAIRS, strict=True)
        ],
        suara_sah=valid,
        suara_tidak_sah=own.numbers["suara_tidak_sah"],
        suara_total=own.numbers["suara_total"],
        progress=_progress(own.tps_expected, own.tps_published),
        children=await _children(conn, code or "", level),
        version=await data_version(conn),
    )


async def _children(conn: asyncpg.Connection, code: str, level: Level) -> list[Child]:
    child_level = Level(level + 1)
    n = CODE_LENGTHS[child_level]
    expected = {
        r["code"]: r["n"]
        for r in await conn.fetch(
            "SELECT code, tps AS n FROM region_tps_count WHERE code LIKE $1 || '%' AND length(code) = $2",
            code,
            n,
        )
    }
    if child_level is Level.TPS:
        rows = await conn.fetch(
            """
            SELECT t.code, t.name, r.numbers::text AS numbers, r.state
            FROM tps t LEFT JOIN tps_result r ON r.tps_code = t.code AND r.ballot = 'ppwp'
            WHERE t.desa_code = $1 ORDER BY t.code
            """,
            code,
        )
        out = []
        for r in rows:
            published = r["state"] == TpsState.PUBLISHED
            numbers = msgspec.json.decode(r["numbers"]) if published else {}
            out.append(
                Child(
                    code=r["code"],
                    name=r["name"],
                    votes=[numbers.get(p, 0) for p in PAIRS],
                    suara_sah=numbers.get("suara_sah", 0),
                    progress=_progress(1, int(published)),
                )
            )
        return out
    source_level = max(child_level, Level.KABKOTA)  # provinces are summed from their kab/kota
    rows = await conn.fetch(
        f"""
        SELECT g.code, g.name, coalesce(t.p1, 0) AS p1, coalesce(t.p2, 0) AS p2, coalesce(t.p3, 0) AS p3,
               coalesce(t.sah, 0) AS sah, coalesce(t.published, 0) AS published
        FROM region g LEFT JOIN (
            SELECT left(region_code, {n}) AS code, sum(suara_paslon_1) AS p1, sum(suara_paslon_2) AS p2,
                   sum(suara_paslon_3) AS p3, sum(suara_sah) AS sah, sum(tps_published) AS published
            FROM region_total WHERE ballot = 'ppwp' AND level = $3 AND region_code LIKE $1 || '%'
            GROUP BY 1
        ) t ON t.code = g.code
        WHERE g.level = $2 AND g.code LIKE $1 || '%' ORDER BY g.code
        """,  # noqa: S608 - a code length, not input
        code,
        int(child_level),
        int(source_level),
    )
    return [
        Child(
            code=r["code"],
            name=r["name"],
            votes=[int(r["p1"]), int(r["p2"]), int(r["p3"])],
            suara_sah=int(r["sah"]),
            progress=_progress(expected.get(r["code"], 0), int(r["published"])),
        )
        for r in rows
    ]


async def tps(conn: asyncpg.Connection, code: str) -> TpsResult:
    if level_of(code) is not Level.TPS:
        raise NotFound(
            f"Kode {code} bukan kode TPS: kode TPS terdiri dari 13 angka.",
            detail=f"{code} is not a TPS code (13 digits)",
        )
    row = await conn.fetchrow("SELECT name FROM tps WHERE code = $1", code)
    if row is None:
        raise NotFound(
            f"TPS {code} tidak ada dalam daftar TPS. Periksa kodenya.",
            detail=f"TPS {code} is not in the registry",
        )
    result = await results.load(conn, code)
    published = result is not None and result.state is TpsState.PUBLISHED
    photos = [
        PublicPhoto(
            page=p.page,
            url=f"/api/v1/public/photos/{p.sha256}",
            sha256=p.sha256,
            thumbnail_url=thumbnail_url(p.sha256),
        )
        for p in await public_pages(conn, code)
    ]
    numbers = result.numbers if published and result else None
    flags = [
        Flag(kind=a.kind, message=a.message, fields=list(a.fields))
        for a in (tps_anomalies(code, numbers) if numbers else [])
    ]
    history = await public_history(conn, code, published=published)
    return TpsResult(
        code=code,
        name=row["name"],
        state=result.state.value if result else "missing",
        published=published,
        numbers=numbers,
        photos=photos,
        flags=flags,
        history=history,
        version=await data_version(conn),
    )
