"""Recording a level's recap form (D.Hasil) and tracing each difference down to the TPS.

The officer of a kecamatan (PPK), kabupaten/kota, provinsi or the nation records, per child
region and field, the number on their form. Each is compared with the sum of the published
numbers under that child; a difference is kept as a discrepancy that names the child, the
field, both numbers, and the TPS under the child that are not (yet) counted or are counted
with other numbers than expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
import msgspec

from ocr.form import BALLOT
from service.errors import Forbidden, InvalidInput
from service.recap import totals
from service.regions.codes import Level, level_of
from service.results.store import COUNTED
from service.users.model import Role, User
from service.web.labels import label

LEVELS = {
    "kecamatan": Level.KECAMATAN,
    "kabkota": Level.KABKOTA,
    "provinsi": Level.PROVINSI,
    "nasional": Level.NASIONAL,
}
NATION = "nasional"
MAX_NUMBER = 300_000_000
"""More than the nation's voters: a larger number is a typing error, refused before the database."""


class TpsTrace(msgspec.Struct, frozen=True):
    tps: str
    state: str
    """``missing`` when nothing was received from it."""
    value: int | None
    """Its number for the field, when it is counted (published)."""


class Discrepancy(msgspec.Struct, frozen=True, kw_only=True):
    child: str
    field: str
    recorded: int
    expected: int
    """The sum of the published numbers under the child."""
    difference: int
    tps: list[TpsTrace]


class RecapRecorded(msgspec.Struct, frozen=True, kw_only=True):
    level: str
    region: str
    recorded: int
    discrepancies: list[Discrepancy]
    recorded_at: datetime


def region_of(level_name: str, region: str) -> tuple[Level, str]:
    """The level and the region code ('' for the nation) named in a URL or a CSV row."""
    level = LEVELS.get(level_name)
    if level is None:
        raise InvalidInput(
            f"Tingkat rekapitulasi harus salah satu dari {', '.join(LEVELS)}, bukan '{level_name}'.",
            detail=f"level must be one of {', '.join(LEVELS)}, not {level_name!r}",
        )
    if level is Level.NASIONAL:
        if region not in (NATION, ""):
            raise InvalidInput(
                f"Rekapitulasi nasional tidak memakai kode wilayah; tulis '{NATION}' sebagai wilayahnya.",
                detail=f"the national recap has no region code; use '{NATION}'",
            )
        return level, ""
    if level_of(region) is not level:
        raise InvalidInput(
            f"Kode {region} bukan kode {level.title} "
            f"(kode {level.title} terdiri dari {level.code_length} angka).",
            detail=f"{region} is not a {level_name} code ({level.code_length} digits)",
        )
    return level, region


def _named(level: Level | None, region: str | None) -> str:
    """``kecamatan 340407``; ``nasional`` for the nation."""
    if level in (None, Level.NASIONAL) or not region:
        return "nasional"
    return f"{level.title} {region}"


def _may_record(user: User, level: Level, region: str) -> None:
    if user.role is Role.ADMIN:
        return
    if user.role is not Role.OFFICER:
        raise Forbidden(
            "D.Hasil hanya dicatat oleh petugas rekapitulasi (PPK, KPU kabupaten/kota, provinsi atau RI).",
            detail="only recap officers record a D.Hasil",
        )
    if user.scope_level is not level or (user.scope_region or "") != region:
        raise Forbidden(
            f"Akun ini mencatat rekapitulasi {_named(user.scope_level, user.scope_region)}, "
            f"bukan rekapitulasi {_named(level, region)}.",
            detail=f"this login records the recap of {user.scope_region or 'the nation'}, "
            f"not of {region or 'the nation'}",
        )


async def record(
    conn: asyncpg.Connection,
    user: User,
    level_name: str,
    region: str,
    children: Mapping[str, Mapping[str, int]],
) -> RecapRecorded:
    level, code = region_of(level_name, region)
    _may_record(user, level, code)
    if not children:
        raise InvalidInput(
            "Tidak ada angka yang dikirim: isi angka D.Hasil untuk setiap wilayah di bawahnya.",
            detail="no numbers: send {child region code: {field: number}}",
        )
    for child, fields in children.items():
        if level_of(child) is not Level(level + 1) or not child.startswith(code):
            raise InvalidInput(
                f"Wilayah {child} tidak langsung berada di bawah {code or 'nasional'}.",
                detail=f"{child} is not a region directly under {code or 'the nation'}",
            )
        unknown = sorted(set(fields) - set(COUNTED))
        if unknown:
            raise InvalidInput(
                f"Wilayah {child}: {', '.join(label(f) for f in unknown)} bukan isian D.Hasil.",
                detail=f"{child}: not fields of the recap: {', '.join(unknown)} (use {', '.join(COUNTED)})",
            )
        for field, value in fields.items():
            if not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
                largest = f"{MAX_NUMBER:,}".replace(",", ".")
                raise InvalidInput(
                    f"Wilayah {child}, {label(field)}: angka harus bilangan bulat 0 sampai {largest}, "
                    f"bukan {value}.",
                    detail=f"{child}: every number is a whole number from 0 to {MAX_NUMBER:,}",
                )
    known = {
        r["code"]
        for r in await conn.fetch("SELECT code FROM region WHERE code = ANY($1::text[])", list(children))
    }
    if missing := sorted(set(children) - known):
        raise InvalidInput(
            f"Wilayah berikut tidak ada dalam daftar wilayah: {', '.join(missing)}. Periksa kodenya.",
            detail=f"not in the registry: {', '.join(missing)}",
        )
    await totals.apply_all(conn)
    found: list[Discrepancy] = []
    async with conn.transaction():
        for child, fields in sorted(children.items()):
            expected = (await totals.region_totals(conn, child)).numbers
            for field, value in fields.items():
                row_id = await conn.fetchval(
                    "INSERT INTO d_hasil (ballot, level, region_code, child_code, field, value, recorded_by) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    BALLOT,
                    int(level),
                    code,
                    child,
                    field,
                    value,
                    user.id,
                )
                if value != expected[field]:
                    trace = await _trace(conn, child, field)
                    await conn.execute(
                        "INSERT INTO recap_discrepancy "
                        "(d_hasil_id, child_code, field, recorded, expected, tps) "
                        "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
                        row_id,
                        child,
                        field,
                        value,
                        expected[field],
                        msgspec.json.encode(trace).decode(),
                    )
                    found.append(
                        Discrepancy(
                            child=child,
                            field=field,
                            recorded=value,
                            expected=expected[field],
                            difference=value - expected[field],
                            tps=trace,
                        )
                    )
        now = await conn.fetchval("SELECT now()")
    return RecapRecorded(
        level=level_name,
        region=code or NATION,
        recorded=sum(len(f) for f in children.values()),
        discrepancies=found,
        recorded_at=now,
    )


async def _trace(conn: asyncpg.Connection, child: str, field: str) -> list[TpsTrace]:
    """The TPS under ``child`` that are not counted (every one, with its state), then the
    counted ones with their number, largest first, so that a misread stands out at the top."""
    rows = await conn.fetch(
        """
        SELECT t.code, coalesce(r.state, 'missing') AS state,
               CASE WHEN r.state = 'published' THEN (r.numbers->>$3)::int END AS value
        FROM tps t LEFT JOIN tps_result r ON r.tps_code = t.code AND r.ballot = $2
        WHERE t.code LIKE $1 || '%'
        ORDER BY (r.state = 'published') NULLS FIRST, value DESC NULLS LAST, t.code
        LIMIT 50
        """,
        child,
        BALLOT,
        field,
    )
    return [TpsTrace(r["code"], r["state"], r["value"]) for r in rows]
