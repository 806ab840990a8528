"""The published results as a NIST SP 1500-100 Election Results Reporting document (the JSON
Common Data Format, version 2): an ElectionReport with the GpUnit tree and the VoteCounts of
the PPWP contest per unit, streamed in pieces from one read-only snapshot.

Mapping: Indonesia is the ``country``, a provinsi a ``state``, a kabupaten/kota a ``county``, a
kecamatan ``other``/"kecamatan", a desa/kelurahan a ``village`` and a TPS a ``polling-place``.
A pair (presidential and vice-presidential candidate) is one CandidateSelection of two
Candidates. The format has no field for invalid votes: each unit's ballots cast (``total``) and
its invalid votes (``other``/"suara-tidak-sah") are BallotCounts of the Election. Only published
numbers appear: a TPS not yet published is a unit without counts, and a region's counts are the
sums of its published TPS (its SubUnitsReported of TotalSubUnits TPS).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from importlib.metadata import version as package_version

import asyncpg
import msgspec

from ocr.form import PAIRS
from service.db.pool import acquire
from service.errors import NotFound
from service.public.results import data_version
from service.regions.codes import CODE_LENGTHS, Level, level_of

BATCH = 500
UNIT_TYPES = {
    Level.NASIONAL: ("country", None),
    Level.PROVINSI: ("state", None),
    Level.KABKOTA: ("county", None),
    Level.KECAMATAN: ("other", "kecamatan"),
    Level.DESA: ("village", None),
    Level.TPS: ("polling-place", None),
}
NATION_ID = "gp-idn"
ELECTION = "pemilu2024"
CONTEST = "pemilu2024-ppwp"
COUNTS = (*PAIRS, "suara_total", "suara_tidak_sah")
"""Per unit: the pairs' votes, ballots cast and invalid votes."""


class LanguageString(msgspec.Struct, frozen=True, tag_field="@type", tag="ElectionResults.LanguageString"):
    Content: str
    Language: str = "id"


class Text(msgspec.Struct, frozen=True, tag_field="@type", tag="ElectionResults.InternationalizedText"):
    Text: list[LanguageString]


def text(content: str) -> Text:
    return Text([LanguageString(content)])


class ExternalIdentifier(
    msgspec.Struct, frozen=True, tag_field="@type", tag="ElectionResults.ExternalIdentifier"
):
    Value: str
    Type: str = "national-level"


class ReportingUnit(
    msgspec.Struct, frozen=True, omit_defaults=True, tag_field="@type", tag="ElectionResults.ReportingUnit"
):
    id: str = msgspec.field(name="@id")
    Type: str
    Name: Text
    OtherType: str | None = None
    ComposingGpUnitIds: list[str] | None = None
    ExternalIdentifier: list[ExternalIdentifier] | None = None
    TotalSubUnits: int | None = None
    SubUnitsReported: int | None = None
    VotersRegistered: int | None = None
    VotersParticipated: int | None = None


class VoteCounts(msgspec.Struct, frozen=True, tag_field="@type", tag="ElectionResults.VoteCounts"):
    GpUnitId: str
    Count: int
    Type: str = "total"


class BallotCounts(
    msgspec.Struct, frozen=True, omit_defaults=True, tag_field="@type", tag="ElectionResults.BallotCounts"
):
    GpUnitId: str
    BallotsCast: int
    Type: str
    OtherType: str | None = None


class Candidate(
    msgspec.Struct, frozen=True, omit_defaults=True, tag_field="@type", tag="ElectionResults.Candidate"
):
    id: str = msgspec.field(name="@id")
    BallotName: Text
    IsTopTicket: bool | None = None


class Sums(msgspec.Struct, frozen=True):
    """A unit's published numbers: pairs' votes, ballots cast, invalid votes, TPS counted."""

    votes: tuple[int, ...]
    total: int
    invalid: int
    published: int


def unit_id(code: str | None) -> str:
    return NATION_ID if code is None else f"gp-{code}"


def _encode(value: object) -> bytes:
    return msgspec.json.encode(value)


async def election_report(pool: asyncpg.Pool, code: str | None, level: Level) -> AsyncIterator[bytes]:
    """The report for Indonesia (``code`` None) or one region: the units above it (without
    counts), the region, and everything under it down to each TPS."""
    prefix = code or ""
    async with acquire(pool) as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        sums = await _region_sums(conn, prefix)
        expected = await _tps_expected(conn, prefix)
        root = sums.get(prefix)
        complete = root is not None and root.published == expected.get(prefix, 0) > 0
        header = {
            "@type": "ElectionResults.ElectionReport",
            "Format": "precinct-level",
            "GeneratedDate": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "Issuer": "rekap",
            "IssuerAbbreviation": "rekap",
            "SequenceStart": 1,
            "SequenceEnd": 1,
            "Status": "unofficial-complete" if complete else "unofficial-partial",
            "VendorApplicationId": f"rekap {package_version('rekap')}",
            "Notes": f"Published numbers only, as of rekap data version {await data_version(conn)}.",
        }
        yield _encode(header)[:-1] + b',"GpUnit":['
        first = True
        async for unit in _units(conn, prefix, level, sums, expected):
            yield unit if first else b"," + unit
            first = False
        yield b'],"Election":[' + await _election_head(conn) + b',"Contest":[' + await _contest_head(conn)
        for i in range(len(PAIRS)):
            yield (b"," if i else b"") + await _selection_head(conn, i) + b'"VoteCounts":['
            yield b",".join(_encode(VoteCounts(unit_id(c or None), s.votes[i])) for c, s in sums.items())
            async for chunk in _tps_counts(conn, prefix, _votes_of(i)):
                yield b"," + chunk if sums else chunk
            yield b"]}"
        yield b']}],"BallotCounts":['
        yield b",".join(b",".join(_ballots(unit_id(c or None), s.total, s.invalid)) for c, s in sums.items())
        async for chunk in _tps_counts(conn, prefix, lambda code, n: _ballots(code, n[-2], n[-1])):
            yield b"," + chunk if sums else chunk
        yield b"]}]}"


def _votes_of(pair: int) -> Pieces:
    return lambda unit, numbers: [_encode(VoteCounts(unit, numbers[pair]))]


def _ballots(unit: str, total: int, invalid: int) -> list[bytes]:
    return [
        _encode(BallotCounts(unit, total, "total")),
        _encode(BallotCounts(unit, invalid, "other", "suara-tidak-sah")),
    ]


async def _region_sums(conn: asyncpg.Connection, prefix: str) -> dict[str, Sums]:
    """The published sums of the region (``""``: Indonesia) and of every region under it."""
    columns = ", ".join(f"sum({c})" for c in (*COUNTS, "tps_published"))
    rows = await conn.fetch(
        f"""
        SELECT region_code AS code, {columns} FROM region_total
        WHERE ballot = 'ppwp' AND region_code LIKE $1 || '%' AND length(region_code) >= length($1)
        GROUP BY region_code
        UNION ALL
        SELECT left(region_code, n) AS code, {columns}
        FROM region_total, unnest(ARRAY[0, 2]) AS n
        WHERE ballot = 'ppwp' AND level = 2 AND region_code LIKE $1 || '%' AND n >= length($1)
        GROUP BY 1
        """,  # noqa: S608 - constant columns
        prefix,
    )
    sums = {
        r["code"]: Sums(tuple(int(r[i]) for i in (1, 2, 3)), int(r[4]), int(r[5]), int(r[6])) for r in rows
    }
    return dict(sorted(sums.items()))


async def _tps_expected(conn: asyncpg.Connection, prefix: str) -> dict[str, int]:
    """TPS in the registry under ``prefix`` and under each region below it."""
    rows = await conn.fetch(
        "SELECT left(code, n) AS code, count(*) AS n FROM tps, unnest(ARRAY[0, 2, 4, 6, 10]) AS n "
        "WHERE code LIKE $1 || '%' AND n >= length($1) GROUP BY 1",
        prefix,
    )
    return {r["code"]: r["n"] for r in rows}


async def _units(
    conn: asyncpg.Connection, prefix: str, level: Level, sums: dict[str, Sums], expected: dict[str, int]
) -> AsyncIterator[bytes]:
    """The ReportingUnits: Indonesia, the regions on the way to ``prefix``, then ``prefix``'s tree."""
    above = [prefix[:n] for lv, n in CODE_LENGTHS.items() if Level.NASIONAL < lv < level]
    names = {
        r["code"]: r["name"]
        for r in await conn.fetch(
            "SELECT code, name FROM region WHERE code = ANY($1::text[])", [*above, prefix]
        )
    }

    def region(code: str, name: str, children: list[str]) -> bytes:
        kind, other = UNIT_TYPES[level_of(code) if code else Level.NASIONAL]
        counted = sums.get(code)
        return _encode(
            ReportingUnit(
                id=unit_id(code or None),
                Type=kind,
                OtherType=other,
                Name=text(name),
                ComposingGpUnitIds=[unit_id(c) for c in children] or None,
                ExternalIdentifier=[ExternalIdentifier(code)] if code else None,
                TotalSubUnits=expected.get(code) if code.startswith(prefix) else None,
                SubUnitsReported=counted.published if counted is not None else None,
            )
        )

    path = ["", *above]
    for parent, child in zip(path, [*above, prefix], strict=True):
        if parent != prefix:
            yield region(parent, names.get(parent, "Indonesia"), [child])
    cursor = conn.cursor(
        """
        SELECT g.code, g.name,
               coalesce((SELECT array_agg(c.code ORDER BY c.code) FROM region c WHERE c.parent_code = g.code),
                        (SELECT array_agg(t.code ORDER BY t.code) FROM tps t WHERE t.desa_code = g.code),
                        '{}') AS children
        FROM region g WHERE g.code LIKE $1 || '%' ORDER BY g.code
        """,
        prefix,
        prefetch=BATCH,
    )
    if not prefix:
        provinces = await conn.fetch("SELECT code FROM region WHERE level = 1 ORDER BY code")
        yield region("", "Indonesia", [r["code"] for r in provinces])
    async for row in cursor:
        yield region(row["code"], row["name"], list(row["children"]))
    tps = conn.cursor(
        """
        SELECT t.code, t.name, r.state = 'published' AS published, r.numbers->>'pemilih_dpt_j' AS dpt,
               r.numbers->>'pengguna_total_j' AS voters
        FROM tps t LEFT JOIN tps_result r ON r.tps_code = t.code AND r.ballot = 'ppwp'
        WHERE t.code LIKE $1 || '%' ORDER BY t.code
        """,
        prefix,
        prefetch=BATCH,
    )
    async for row in tps:
        published = bool(row["published"])
        yield _encode(
            ReportingUnit(
                id=unit_id(row["code"]),
                Type="polling-place",
                Name=text(row["name"]),
                ExternalIdentifier=[ExternalIdentifier(row["code"])],
                VotersRegistered=int(row["dpt"]) if published and row["dpt"] else None,
                VotersParticipated=int(row["voters"]) if published and row["voters"] else None,
            )
        )


Pieces = Callable[[str, list[int]], list[bytes]]


async def _tps_counts(conn: asyncpg.Connection, prefix: str, pieces: Pieces) -> AsyncIterator[bytes]:
    """Counts of each published TPS under ``prefix``, in batches; ``pieces(unit, numbers)`` gives
    the encoded items of one TPS from its pairs' votes, ballots cast and invalid votes."""
    cursor = conn.cursor(
        f"""
        SELECT tps_code, {", ".join(f"(numbers->>'{c}')::int" for c in COUNTS)}
        FROM tps_result WHERE ballot = 'ppwp' AND state = 'published' AND tps_code LIKE $1 || '%'
        ORDER BY tps_code
        """,  # noqa: S608 - constant columns
        prefix,
        prefetch=BATCH,
    )
    batch: list[bytes] = []
    async for row in cursor:
        batch.extend(pieces(unit_id(row[0]), [int(v or 0) for v in list(row)[1:]]))
        if len(batch) >= BATCH:
            yield b",".join(batch)
            batch = []
    if batch:
        yield b",".join(batch)


async def _election_head(conn: asyncpg.Connection) -> bytes:
    """The Election object up to its contests, with every candidate (two per pair)."""
    election = await conn.fetchrow("SELECT name, held_on FROM election WHERE id = $1", ELECTION)
    if election is None:
        raise NotFound(
            "Data pemilu belum dimuat; ekspor NIST belum dapat dibuat.",
            detail="the election is not loaded yet (rekap db migrate loads it)",
        )
    people = await conn.fetch(
        "SELECT ballot_number, name, running_mate FROM candidate WHERE contest_id = $1 "
        "ORDER BY ballot_number",
        CONTEST,
    )
    candidates: list[Candidate] = []
    for r in people:
        candidates.append(Candidate(f"cand-{r['ballot_number']}-capres", text(r["name"]), True))
        candidates.append(Candidate(f"cand-{r['ballot_number']}-cawapres", text(r["running_mate"] or "")))
    day = election["held_on"].isoformat()
    head = {
        "@type": "ElectionResults.Election",
        "Name": text(election["name"]),
        "Type": "general",
        "StartDate": day,
        "EndDate": day,
        "ElectionScopeId": NATION_ID,
        "Candidate": candidates,
    }
    return _encode(head)[:-1]


async def _contest_head(conn: asyncpg.Connection) -> bytes:
    name = await conn.fetchval("SELECT name FROM contest WHERE id = $1", CONTEST)
    head = {
        "@id": "contest-ppwp",
        "@type": "ElectionResults.CandidateContest",
        "Name": name,
        "ElectionDistrictId": NATION_ID,
        "VotesAllowed": 1,
        "NumberElected": 1,
    }
    return _encode(head)[:-1] + b',"ContestSelection":['


async def _selection_head(conn: asyncpg.Connection, index: int) -> bytes:
    n = index + 1
    head = {
        "@id": f"cs-{n}",
        "@type": "ElectionResults.CandidateSelection",
        "SequenceOrder": n,
        "CandidateIds": [f"cand-{n}-capres", f"cand-{n}-cawapres"],
    }
    return _encode(head)[:-1] + b","
