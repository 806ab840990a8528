"""What recap officers do with a TPS held for review, each step checked against the officer's area.

Looking at a TPS claims nothing. An officer who acts claims it ("Tinjau": nobody else may act on
it until the claim is released or expires), then confirms the numbers as read (published at
once: no number changed), corrects them (the correction waits for a second officer: four eyes),
or asks the KPPS for a new photo of a page. A second officer approves the correction (published)
or rejects it (back to review). Confirming or approving numbers that break a blocking rule needs
the officer to say so a second time (``over_findings``). A new photo of a TPS already published
or signed off waits beside its numbers (``new_reading``) until an officer takes it or sets it aside.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
import msgspec

from ocr import DecodedField
from ocr.form import BALLOT, PAGE_OF
from ocr.reading import Alternative
from service.errors import Conflict, Forbidden, InvalidInput, NotFound
from service.results import new_reading, store, workflow
from service.results.checks import Finding, blocking, blocking_findings
from service.results.new_reading import NewReading
from service.results.states import TpsState
from service.review import crops, flags
from service.times import wib
from service.users.model import Role, User


class QueueItem(msgspec.Struct, frozen=True, kw_only=True):
    tps_code: str
    name: str
    state: str
    waiting_for: str
    """``review`` (an officer decides), ``approval`` (a second officer approves a correction) or
    ``new_reading`` (a new photo of a published or signed-off TPS read other numbers) or
    ``kpps_flag`` (only the KPPS's report of a number read wrong)."""
    flags: int = 0
    """Open reports of the KPPS that a number was read wrong."""
    disagreement: int
    """How far apart the numbers of the broken blocking rules are, summed."""
    voters: int
    """Registered voters (DPT) of the TPS, when known."""
    claimed_by: str | None
    claimed_until: datetime | None


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    tps_code: str
    officer: str
    expires_at: datetime


class Correction(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    proposed_by: str
    proposed_at: datetime
    numbers_before: dict[str, int]
    numbers_after: dict[str, int]
    changed: store.Changed
    """Field → (before, after), only the fields the correction changes."""
    reason: str


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """Where the TPS is, for the review screen's header (to notice a photo of another TPS's form)."""

    tps_number: int
    desa: str
    kecamatan: str
    kabupaten: str


class Retake(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    reason: str
    requested_by: str
    requested_at: datetime


class ReviewPhoto(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    url: str


class ReviewDetail(msgspec.Struct, frozen=True, kw_only=True):
    tps_code: str
    place: Place | None
    state: str
    numbers: dict[str, int]
    findings: list[Finding]
    """Each broken rule in plain words (``explanation``; ``keterangan`` in Indonesian)."""
    fields: list[DecodedField]
    """Each field as decoded (``value``) and as its boxes read (``read``): the fields the reader
    was unsure of or changed first, then the rest."""
    photos: list[ReviewPhoto]
    crops: dict[str, str]
    """Field name → address of a JPEG of its three boxes on the current photo, for the fields
    whose boxes the reader found; in the form's order."""
    alternatives: dict[str, list[Alternative]]
    """Field name → the most probable readings of its boxes, best first, each ``[value,
    probability]`` (``null``: every box empty); the same fields as ``crops``."""
    correction: Correction | None
    new_reading: NewReading | None
    """A new photo's numbers waiting beside those of a published or signed-off TPS."""
    flags: list[flags.Flag]
    """The KPPS's open reports of a number read wrong ("angka ini salah"), by field."""
    retakes: list[Retake]
    claimed_by: str | None
    claimed_until: datetime | None


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    tps_code: str
    state: str
    numbers: dict[str, int]


class _Decoded(msgspec.Struct, frozen=True):
    """The fields of a stored decoding (``ocr.TpsDecoding``), all that the review shows of it."""

    fields: dict[str, DecodedField] = {}


def _scope(user: User) -> str:
    return "" if user.role is Role.ADMIN else user.scope_region or ""


async def queue(conn: asyncpg.Connection, officer: User, limit: int = 50) -> list[QueueItem]:
    """TPS in the officer's area waiting for a decision, most consequential first."""
    if officer.role not in (Role.OFFICER, Role.ADMIN):
        raise Forbidden(
            "Antrean tinjauan hanya untuk petugas rekapitulasi",
            detail="only recap officers have a review queue",
        )
    rows = await conn.fetch(
        """
        SELECT r.tps_code, t.name, r.state, r.findings::text AS findings, coalesce(t.dpt_j, 0) AS voters,
               (c.id IS NOT NULL) AS awaiting_approval, (n.id IS NOT NULL) AS new_reading,
               flagged.n AS flags,
               u.username AS claimed_by, k.expires_at
        FROM tps_result r
        JOIN tps t ON t.code = r.tps_code
        LEFT JOIN correction c ON c.tps_code = r.tps_code AND c.ballot = r.ballot AND c.decided_at IS NULL
        LEFT JOIN new_reading n ON n.tps_code = r.tps_code AND n.ballot = r.ballot AND n.decided_at IS NULL
        LEFT JOIN LATERAL (
            SELECT count(*) AS n FROM kpps_flag f
            WHERE f.tps_code = r.tps_code AND f.ballot = r.ballot AND f.closed_at IS NULL
        ) flagged ON true
        LEFT JOIN review_claim k ON k.tps_code = r.tps_code AND k.ballot = r.ballot AND k.expires_at > now()
        LEFT JOIN app_user u ON u.id = k.officer_id
        WHERE r.ballot = $1 AND r.tps_code LIKE $2 || '%'
          AND (r.state = 'needs_review' OR c.id IS NOT NULL OR n.id IS NOT NULL OR flagged.n > 0)
        """,
        BALLOT,
        _scope(officer),
    )
    items = []
    for r in rows:
        findings = msgspec.json.decode(r["findings"], type=list[Finding])
        items.append(
            QueueItem(
                tps_code=r["tps_code"],
                name=r["name"],
                state=r["state"],
                waiting_for="approval"
                if r["awaiting_approval"]
                else "new_reading"
                if r["new_reading"]
                else "review"
                if r["state"] == "needs_review"
                else "kpps_flag",
                disagreement=sum(abs(f.left - f.right) for f in blocking_findings(findings)),
                voters=r["voters"],
                flags=r["flags"],
                claimed_by=r["claimed_by"],
                claimed_until=r["expires_at"],
            )
        )
    items.sort(key=lambda i: (-i.disagreement, -i.voters, i.tps_code))
    return items[:limit]


async def claim(conn: asyncpg.Connection, officer: User, tps: str, minutes: int) -> Claim:
    """Hold the TPS for ``minutes``; the officer's own claim is extended, another's refused."""
    workflow.require_officer(officer, tps)
    if await store.load(conn, tps) is None:
        raise NotFound(
            f"TPS {tps} belum punya angka untuk ditinjau", detail=f"TPS {tps} has no numbers to review yet"
        )
    row = await conn.fetchrow(
        """
        INSERT INTO review_claim (tps_code, ballot, officer_id, expires_at)
        VALUES ($1, $2, $3, now() + make_interval(mins => $4))
        ON CONFLICT (tps_code, ballot) DO UPDATE
            SET officer_id = EXCLUDED.officer_id, claimed_at = now(), expires_at = EXCLUDED.expires_at
            WHERE review_claim.officer_id = EXCLUDED.officer_id OR review_claim.expires_at <= now()
        RETURNING expires_at
        """,
        tps,
        BALLOT,
        officer.id,
        minutes,
    )
    if row is None:
        holder = await claimed(conn, tps)
        assert holder is not None
        raise Conflict(
            f"TPS {tps} sedang ditinjau {holder.officer} sampai {wib(holder.expires_at)}; "
            "pilih TPS lain dari antrean",
            detail=f"claimed by {holder.officer} until {holder.expires_at.isoformat()}",
        )
    return Claim(tps_code=tps, officer=officer.username, expires_at=row["expires_at"])


async def claimed(conn: asyncpg.Connection, tps: str) -> Claim | None:
    """Who holds the TPS, while their claim lasts."""
    row = await conn.fetchrow(
        "SELECT u.username, k.expires_at FROM review_claim k JOIN app_user u ON u.id = k.officer_id "
        "WHERE k.tps_code = $1 AND k.ballot = $2 AND k.expires_at > now()",
        tps,
        BALLOT,
    )
    return None if row is None else Claim(tps_code=tps, officer=row["username"], expires_at=row["expires_at"])


async def release(conn: asyncpg.Connection, officer: User, tps: str) -> None:
    workflow.require_officer(officer, tps)
    await conn.execute(
        "DELETE FROM review_claim WHERE tps_code = $1 AND ballot = $2 AND officer_id = $3",
        tps,
        BALLOT,
        officer.id,
    )


async def _holding(conn: asyncpg.Connection, officer: User, tps: str) -> None:
    """Refuse unless the officer holds a live claim on the TPS (the action then releases it)."""
    workflow.require_officer(officer, tps)
    held = await conn.fetchval(
        "DELETE FROM review_claim WHERE tps_code = $1 AND ballot = $2 AND officer_id = $3 "
        "AND expires_at > now() RETURNING 1",
        tps,
        BALLOT,
        officer.id,
    )
    if held:
        await flags.close_all(conn, tps, officer.id)  # acting on the TPS answers the KPPS's reports
        return
    raise Conflict(
        f'Tekan "Tinjau" dulu untuk TPS {tps}: Anda belum memegangnya atau waktunya sudah habis',
        detail=f"claim TPS {tps} first (POST /api/v1/review/{tps}/claim): claim missing or expired",
    )


async def open_correction(conn: asyncpg.Connection, tps: str) -> Correction | None:
    """The correction of the TPS waiting for a second officer, if any."""
    row = await conn.fetchrow(
        "SELECT c.id, u.username, c.proposed_at, c.numbers_before::text AS before, "
        "c.numbers_after::text AS after, c.reason FROM correction c JOIN app_user u ON u.id = c.proposed_by "
        "WHERE c.tps_code = $1 AND c.ballot = $2 AND c.decided_at IS NULL",
        tps,
        BALLOT,
    )
    if row is None:
        return None
    before = msgspec.json.decode(row["before"], type=dict[str, int])
    after = msgspec.json.decode(row["after"], type=dict[str, int])
    return Correction(
        id=row["id"],
        proposed_by=row["username"],
        proposed_at=row["proposed_at"],
        numbers_before=before,
        numbers_after=after,
        changed=store.changed(before, after),
        reason=row["reason"],
    )


async def detail(conn: asyncpg.Connection, officer: User, tps: str) -> ReviewDetail:
    """What the officer needs to decide: the numbers, how each was read, the broken rules, the photos."""
    workflow.require_officer(officer, tps)
    result = await store.load(conn, tps)
    if result is None:
        raise NotFound(f"TPS {tps} belum punya angka", detail=f"TPS {tps} has no numbers yet")
    raw = await conn.fetchval(
        "SELECT d.decoding::text FROM tps_result r JOIN tps_decoding d ON d.id = r.decoding_id "
        "WHERE r.tps_code = $1 AND r.ballot = $2",
        tps,
        BALLOT,
    )
    fields = list(msgspec.json.decode(raw, type=_Decoded).fields.values()) if raw else []
    order = {name: i for i, name in enumerate(PAGE_OF)}
    fields.sort(key=lambda f: order.get(f.name, len(order)))  # the form's order
    pages = await crops.current(conn, tps)
    boxes = pages.located
    holder = await claimed(conn, tps)
    return ReviewDetail(
        tps_code=tps,
        place=await _place(conn, tps),
        state=result.state.value,
        numbers=result.numbers,
        findings=result.findings,
        fields=fields,
        photos=[ReviewPhoto(page=page, url=f"/api/v1/photos/{sha}") for page, sha in pages.photos.items()],
        crops={name: crops.url(tps, name, boxes[name].sha256) for name in PAGE_OF if name in boxes},
        alternatives={name: boxes[name].alternatives for name in PAGE_OF if name in boxes},
        correction=await open_correction(conn, tps),
        new_reading=await new_reading.waiting(conn, tps, result.numbers),
        flags=await flags.open_flags(conn, tps),
        retakes=await retakes(conn, tps),
        claimed_by=None if holder is None else holder.officer,
        claimed_until=None if holder is None else holder.expires_at,
    )


async def _place(conn: asyncpg.Connection, tps: str) -> Place | None:
    row = await conn.fetchrow(
        "SELECT t.number, d.name AS desa, k.name AS kecamatan, b.name AS kabupaten "
        "FROM tps t JOIN region d ON d.code = t.desa_code JOIN region k ON k.code = d.parent_code "
        "JOIN region b ON b.code = k.parent_code WHERE t.code = $1",
        tps,
    )
    if row is None:
        return None
    return Place(
        tps_number=row["number"], desa=row["desa"], kecamatan=row["kecamatan"], kabupaten=row["kabupaten"]
    )


def _over(result: store.TpsResult | None, over_findings: bool) -> None:
    """Numbers that break a blocking rule are confirmed only when the officer says so twice."""
    if result is None or over_findings or not blocking(result.findings):
        return
    broken = "; ".join(f.keterangan for f in blocking_findings(result.findings))
    raise Conflict(
        f"Angka ini melanggar aturan yang memblokir: {broken}. Yakin tetap disahkan? "
        "Kirim lagi dengan over_findings agar angka ini diterbitkan apa adanya.",
        detail="blocking findings: confirm again with over_findings=true",
    )


def decision(result: store.TpsResult) -> Decision:
    return Decision(tps_code=result.tps, state=result.state.value, numbers=result.numbers)


async def confirm(
    conn: asyncpg.Connection, officer: User, tps: str, reason: str, *, over_findings: bool = False
) -> store.TpsResult:
    """The numbers as read are right (no number changes): signed off and published."""
    why = workflow.reason_given(reason)
    async with conn.transaction():
        await _holding(conn, officer, tps)
        if await open_correction(conn, tps) is not None:
            raise Conflict(
                f"TPS {tps} punya koreksi yang menunggu persetujuan: setujui atau tolak koreksi itu",
                detail="a correction is waiting for approval",
            )
        _over(await store.load(conn, tps), over_findings)
        await workflow.sign_off(conn, tps, officer, {}, why)
        return await workflow.publish(conn, tps, officer, f"disahkan sesuai bacaan: {why}")


async def correct(
    conn: asyncpg.Connection, officer: User, tps: str, numbers: Mapping[str, int], reason: str
) -> Correction:
    """Propose new numbers; they are published only once a second officer approves them."""
    why = workflow.reason_given(reason)
    async with conn.transaction():
        await _holding(conn, officer, tps)
        current = await store.load(conn, tps, lock=True)
        assert current is not None
        if await open_correction(conn, tps) is not None:
            raise Conflict(
                f"TPS {tps} sudah punya koreksi yang menunggu persetujuan",
                detail="a correction is already waiting for approval",
            )
        if all(current.numbers.get(k) == v for k, v in numbers.items()):
            raise InvalidInput(
                "Angka ini sama dengan yang sudah ada: sahkan saja, tidak perlu dikoreksi",
                detail="no number changes: confirm instead",
            )
        before = dict(current.numbers)
        result = await workflow.sign_off(conn, tps, officer, numbers, why)
        row = await conn.fetchrow(
            "INSERT INTO correction (tps_code, ballot, proposed_by, numbers_before, numbers_after, reason) "
            "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6) RETURNING id, proposed_at",
            tps,
            BALLOT,
            officer.id,
            msgspec.json.encode(before).decode(),
            msgspec.json.encode(result.numbers).decode(),
            why,
        )
        assert row is not None
        return Correction(
            id=row["id"],
            proposed_by=officer.username,
            proposed_at=row["proposed_at"],
            numbers_before=before,
            numbers_after=dict(result.numbers),
            changed=store.changed(before, result.numbers),
            reason=why,
        )


async def decide(
    conn: asyncpg.Connection,
    officer: User,
    tps: str,
    *,
    approve: bool,
    reason: str,
    over_findings: bool = False,
) -> store.TpsResult:
    """A second officer approves (published) or rejects (back to review) an open correction."""
    why = workflow.reason_given(reason)
    async with conn.transaction():
        await _holding(conn, officer, tps)
        open_ = await open_correction(conn, tps)
        if open_ is None:
            raise Conflict(
                f"TPS {tps} tidak punya koreksi yang menunggu persetujuan",
                detail="no correction waiting for approval",
            )
        if open_.proposed_by == officer.username:
            raise Forbidden(
                "Prinsip empat mata: koreksi disetujui atau ditolak petugas lain, bukan pengusulnya",
                detail="four eyes: another officer decides a correction",
            )
        if approve:
            _over(await store.load(conn, tps), over_findings)
        await conn.execute(
            "UPDATE correction SET decided_by = $2, decided_at = now(), approved = $3, decision_reason = $4 "
            "WHERE id = $1",
            open_.id,
            officer.id,
            approve,
            why,
        )
        if approve:
            return await workflow.publish(
                conn, tps, officer, f"koreksi oleh {open_.proposed_by} disetujui: {why}"
            )
        return await store.transition(
            conn,
            tps,
            TpsState.NEEDS_REVIEW,
            numbers=open_.numbers_before,
            actor_user=officer.id,
            reason=f"koreksi oleh {open_.proposed_by} ditolak: {why}",
        )


async def decide_new_reading(
    conn: asyncpg.Connection, officer: User, tps: str, *, adopt: bool, reason: str
) -> store.TpsResult:
    """Take a new photo's numbers (back to review with them) or set them aside (nothing changes)."""
    why = workflow.reason_given(reason)
    async with conn.transaction():
        await _holding(conn, officer, tps)
        await store.lock_tps(conn, tps)
        dpt = await workflow.registered_dpt(conn, tps)
        return await new_reading.decide(conn, tps, officer.id, adopt=adopt, reason=why, dpt=dpt)


async def answer_flags(conn: asyncpg.Connection, officer: User, tps: str, reason: str) -> None:
    """The officer checked the KPPS's reports against the photo and the numbers stand (saying why)."""
    why = workflow.reason_given(reason)
    async with conn.transaction():
        await _holding(conn, officer, tps)
        await flags.close_all(conn, tps, officer.id, why)


async def request_retake(conn: asyncpg.Connection, officer: User, tps: str, page: int, reason: str) -> Retake:
    """Ask the KPPS for a new photo of a page; they see the reason on their phone."""
    why = workflow.reason_given(reason)
    if page not in (1, 2, 3):
        raise InvalidInput("Formulir hanya punya halaman 1, 2 dan 3", detail=f"page {page}")
    async with conn.transaction():
        await _holding(conn, officer, tps)
        at = await conn.fetchval(
            "INSERT INTO retake_request (tps_code, ballot, page, officer_id, reason) "
            "VALUES ($1, $2, $3, $4, $5) RETURNING requested_at",
            tps,
            BALLOT,
            page,
            officer.id,
            why,
        )
    return Retake(page=page, reason=why, requested_by=officer.username, requested_at=at)


async def retakes(conn: asyncpg.Connection, tps: str) -> list[Retake]:
    """Open requests: those not answered by a photo of the page uploaded after them."""
    rows = await conn.fetch(
        """
        SELECT DISTINCT ON (q.page) q.page, q.reason, u.username, q.requested_at
        FROM retake_request q JOIN app_user u ON u.id = q.officer_id
        WHERE q.tps_code = $1 AND q.ballot = $2 AND NOT EXISTS (
            SELECT 1 FROM current_page c WHERE c.tps_code = q.tps_code AND c.ballot = q.ballot
              AND c.page = q.page AND c.uploaded_at > q.requested_at)
        ORDER BY q.page, q.requested_at DESC
        """,
        tps,
        BALLOT,
    )
    return [
        Retake(page=r["page"], reason=r["reason"], requested_by=r["username"], requested_at=r["requested_at"])
        for r in rows
    ]
