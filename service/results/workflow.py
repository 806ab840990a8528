"""How a TPS's numbers move: read by the OCR, checked, signed off, published.

System steps are recorded with the system part that acted (``ocr``, ``checks``); an officer's
with their user. No function here publishes a number that failed a blocking rule unless an
officer signed it off (``sign_off``) first.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from ocr import TpsDecoding, publication
from ocr.form import LABEL, MAX_COUNT, PAGE_OF
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.results import new_reading, store
from service.results.checks import Finding, blocking_findings, check_tps, evidence_findings
from service.results.states import TpsState, allowed
from service.results.store import TpsResult
from service.users.model import Role, User


async def registered_dpt(conn: asyncpg.Connection, tps: str) -> int | None:
    value: int | None = await conn.fetchval("SELECT dpt_j FROM tps WHERE code = $1", tps)
    return value


async def mark_received(conn: asyncpg.Connection, tps: str) -> None:
    """The first photo of a TPS arrived (later photos change nothing here)."""
    await store.transition(
        conn, tps, TpsState.RECEIVED, actor_system="intake", reason="foto pertama diterima", first=True
    )


async def record_decoding(
    conn: asyncpg.Connection,
    tps: str,
    decoding: TpsDecoding,
    decoding_id: int,
    evidence: list[publication.Conflict] | None = None,
) -> TpsResult:
    """All pages of the TPS were read: check the numbers, verify and publish them, or hold them
    (``ocr.publication.verdict`` decides, as ``rekap ocr eval`` counts it).

    ``evidence``: the pages' readings against themselves (rule 8, ``ocr.publication.conflicts``).
    One statement writes every move: the public sees the outcome, never a TPS half way through it.
    """
    numbers = {name: field.value for name, field in decoding.fields.items() if field.value is not None}
    evidence = evidence or []
    for _ in range(store.ATTEMPTS):
        current, dpt = await store.load_with_dpt(conn, tps)
        if current is not None and current.state in new_reading.HELD:
            async with conn.transaction():
                await store.lock_tps(conn, tps)
                held = await store.load(conn, tps, lock=True)
                if held is not None and held.state in new_reading.HELD:
                    return await new_reading.hold(conn, held, decoding_id, numbers)
            continue
        findings = check_tps(numbers, dpt) + evidence_findings(evidence)
        result = await store.apply(
            conn,
            tps,
            current,
            _moves(current, decoding, evidence, dpt, findings),
            numbers=numbers,
            findings=findings,
            decoding_id=decoding_id,
        )
        if result is not None:
            return result
    raise store.changing(tps)


def _moves(
    current: TpsResult | None,
    decoding: TpsDecoding,
    evidence: list[publication.Conflict],
    dpt: int | None,
    findings: list[Finding],
) -> list[store.Move]:
    """From the TPS as it is to published, or to waiting for an officer with the reasons."""
    moves = (
        []
        if current
        else [store.Move(state=TpsState.RECEIVED, actor_system="intake", reason="foto diterima")]
    )
    moves.append(store.Move(state=TpsState.READ, actor_system="ocr", reason="ketiga halaman terbaca"))
    decision = publication.verdict(decoding, evidence, dpt)
    if not decision.publish:
        unclear = [f"{LABEL.get(name, name)}: {reason}" for name, reason in decision.unclear.items()]
        reasons = [f.keterangan for f in blocking_findings(findings)] + unclear
        moves.append(
            store.Move(state=TpsState.NEEDS_REVIEW, actor_system="checks", reason="; ".join(reasons))
        )
        return moves
    return [
        *moves,
        store.Move(
            state=TpsState.VERIFIED,
            actor_system="checks",
            reason="setiap angka terbaca jelas dan semua aturan yang memblokir terpenuhi",
        ),
        store.Move(state=TpsState.PUBLISHED, actor_system="checks", reason="terverifikasi otomatis"),
    ]


def require_officer(user: User, tps: str) -> None:
    """Only recap officers (or administrators) whose area covers the TPS act on its numbers."""
    if user.role not in (Role.OFFICER, Role.ADMIN):
        raise Forbidden(
            "Hanya petugas rekapitulasi yang meninjau, mengesahkan atau menerbitkan angka TPS",
            detail="only a recap officer acts on a TPS's numbers",
        )
    if not user.covers(tps):
        raise Forbidden(
            f"TPS {tps} di luar wilayah akun ini", detail=f"TPS {tps} is outside the area of this login"
        )


def reason_given(reason: str) -> str:
    """The officer's reason, which must be there: it is kept with the numbers for everyone to read."""
    if not reason.strip():
        raise InvalidInput(
            "Tuliskan alasannya: alasan disimpan bersama angka dan dapat dibaca semua orang",
            detail="a reason is required",
        )
    if "\x00" in reason:  # PostgreSQL stores no NUL; said before any state is judged
        raise InvalidInput(
            "Alasan berisi karakter kosong (NUL) yang tidak dapat disimpan; ketik ulang alasannya",
            detail="the reason holds a NUL character",
        )
    return reason.strip()


async def sign_off(
    conn: asyncpg.Connection, tps: str, officer: User, numbers: Mapping[str, int], reason: str
) -> TpsResult:
    """An officer confirms or corrects the numbers of a TPS held for review, saying why."""
    require_officer(officer, tps)
    why = reason_given(reason)
    unknown = sorted(set(numbers) - set(PAGE_OF))
    if unknown:
        raise InvalidInput(
            f"Bukan isian formulir C.Hasil: {', '.join(unknown)}", detail=f"unknown fields: {unknown}"
        )
    if any(not 0 <= v <= MAX_COUNT for v in numbers.values()):
        raise InvalidInput(
            f"Setiap angka pada formulir antara 0 dan {MAX_COUNT}", detail=f"a number outside 0-{MAX_COUNT}"
        )
    async with conn.transaction():
        await store.lock_tps(conn, tps)
        current = await store.load(conn, tps, lock=True)
        if current is None:
            raise NotFound(f"TPS {tps} belum punya angka", detail=f"TPS {tps} has no numbers yet")
        if not allowed(current.state, TpsState.REVIEWED):
            raise Conflict(
                f"TPS {tps} tidak sedang menunggu tinjauan",
                detail=f"TPS {tps} is {current.state}, not waiting for review",
            )
        merged = {**current.numbers, **numbers}
        findings: list[Finding] = check_tps(merged, await registered_dpt(conn, tps))
        return await store.transition(
            conn,
            tps,
            TpsState.REVIEWED,
            numbers=merged,
            findings=findings,
            actor_user=officer.id,
            reason=why,
        )


async def publish(conn: asyncpg.Connection, tps: str, officer: User, reason: str) -> TpsResult:
    require_officer(officer, tps)
    async with conn.transaction():
        await store.lock_tps(conn, tps)
        current = await store.load(conn, tps, lock=True)
        if current is None or not allowed(current.state, TpsState.PUBLISHED):
            state = "no numbers" if current is None else current.state
            raise Conflict(
                f"TPS {tps} belum dapat diterbitkan: angkanya belum terverifikasi atau disahkan petugas",
                detail=f"TPS {tps} cannot be published: it is {state}, not verified or signed off",
            )
        return await store.transition(
            conn, tps, TpsState.PUBLISHED, actor_user=officer.id, reason=reason.strip() or "diterbitkan"
        )
