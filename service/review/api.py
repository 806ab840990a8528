"""HTTP: the review queue and what a recap officer does with a held TPS. Every endpoint checks
that the TPS lies in the officer's area (403 otherwise)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from litestar import Controller, delete, get, post

from service.errors import InvalidInput, NotFound
from service.regions.codes import Level, level_of
from service.results import store as results
from service.results.checks import Finding
from service.review import store as review
from service.users.model import User

CLAIM_MINUTES = 15


class ClaimRequest(msgspec.Struct, frozen=True):
    minutes: int = CLAIM_MINUTES


class Reason(msgspec.Struct, frozen=True):
    reason: str


class CorrectionRequest(msgspec.Struct, frozen=True):
    numbers: dict[str, int]
    """Only the fields that change, by their form names (``suara_paslon_1``, ...)."""
    reason: str


class RetakeRequest(msgspec.Struct, frozen=True):
    page: int
    reason: str
    """Shown to the KPPS on their phone: say what to photograph again, in Indonesian."""


class FieldReading(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    value: int | None
    read: int | None
    """What the boxes themselves read, before the form's arithmetic was used."""
    confidence: float
    accepted: bool
    reason: str


class ReviewPhoto(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    url: str


class ReviewDetail(msgspec.Struct, frozen=True, kw_only=True):
    tps_code: str
    state: str
    numbers: dict[str, int]
    findings: list[Finding]
    """Each broken rule in plain words (``explanation``; ``keterangan`` in Indonesian)."""
    fields: list[FieldReading]
    """The fields the reader was unsure of or changed first, then the rest."""
    photos: list[ReviewPhoto]
    correction: review.Correction | None
    retakes: list[review.Retake]
    claimed_by: str | None


def _tps(code: str) -> str:
    if level_of(code) is not Level.TPS:
        raise InvalidInput(f"{code} is not a TPS code: a TPS has 13 digits")
    return code


class ReviewController(Controller):
    path = "/api/v1/review"
    tags = ["review"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/queue", summary="TPS of your area waiting for review or approval, most consequential first")
    async def queue(
        self, db: asyncpg.Connection, current_user: User, limit: int = 50
    ) -> list[review.QueueItem]:
        if not 1 <= limit <= 500:
            raise InvalidInput("limit is from 1 to 500")
        return await review.queue(db, current_user, limit)

    @post(
        "/{code:str}/claim", summary="Take a TPS for a while so no other officer works on it", status_code=200
    )
    async def claim(
        self, db: asyncpg.Connection, current_user: User, code: str, data: ClaimRequest | None = None
    ) -> review.Claim:
        minutes = (data or ClaimRequest()).minutes
        if not 1 <= minutes <= 120:
            raise InvalidInput("a claim lasts 1 to 120 minutes")
        return await review.claim(db, current_user, _tps(code), minutes)

    @delete("/{code:str}/claim", summary="Let the TPS go back to the queue", status_code=204)
    async def release(self, db: asyncpg.Connection, current_user: User, code: str) -> None:
        await review.release(db, current_user, _tps(code))

    @get("/{code:str}", summary="What needs deciding: each field as read, the broken rules, photos, requests")
    async def detail(self, db: asyncpg.Connection, current_user: User, code: str) -> ReviewDetail:
        tps = _tps(code)
        review.require_officer(current_user, tps)
        result = await results.load(db, tps)
        if result is None:
            raise NotFound(f"TPS {tps} has no numbers yet")
        decoding = await db.fetchval(
            "SELECT d.decoding::text FROM tps_result r JOIN tps_decoding d ON d.id = r.decoding_id "
            "WHERE r.tps_code = $1 AND r.ballot = 'ppwp'",
            tps,
        )
        fields = [
            FieldReading(
                name=name,
                value=f.get("value"),
                read=f.get("read"),
                confidence=float(f.get("confidence", 0.0)),
                accepted=bool(f.get("accepted", False)),
                reason=f.get("reason", ""),
            )
            for name, f in (msgspec.json.decode(decoding).get("fields", {}) if decoding else {}).items()
        ]
        fields.sort(key=lambda f: (f.accepted and f.value == f.read, f.name))
        photos = [
            ReviewPhoto(page=r["page"], url=f"/api/v1/photos/{r['sha256']}")
            for r in await db.fetch(
                "SELECT page, sha256 FROM current_page WHERE tps_code = $1 AND ballot = 'ppwp' ORDER BY page",
                tps,
            )
        ]
        open_ = await _open(db, tps)
        claimed_by = await db.fetchval(
            "SELECT u.username FROM review_claim k JOIN app_user u ON u.id = k.officer_id "
            "WHERE k.tps_code = $1 AND k.expires_at > now()",
            tps,
        )
        return ReviewDetail(
            tps_code=tps,
            state=result.state.value,
            numbers=result.numbers,
            findings=result.findings,
            fields=fields,
            photos=photos,
            correction=open_,
            retakes=await review.retakes(db, tps),
            claimed_by=claimed_by,
        )

    @post(
        "/{code:str}/confirm", summary="The numbers as read are right: sign off and publish", status_code=200
    )
    async def confirm(
        self, db: asyncpg.Connection, current_user: User, code: str, data: Reason
    ) -> dict[str, Any]:
        result = await review.confirm(db, current_user, _tps(code), data.reason)
        return {"tps_code": code, "state": result.state.value, "numbers": result.numbers}

    @post(
        "/{code:str}/correct",
        summary="Propose corrected numbers (published once another officer approves them)",
        status_code=201,
    )
    async def correct(
        self, db: asyncpg.Connection, current_user: User, code: str, data: CorrectionRequest
    ) -> review.Correction:
        return await review.correct(db, current_user, _tps(code), data.numbers, data.reason)

    @post(
        "/{code:str}/approve",
        summary="Approve another officer's correction: it is published",
        status_code=200,
    )
    async def approve(
        self, db: asyncpg.Connection, current_user: User, code: str, data: Reason
    ) -> dict[str, Any]:
        result = await review.decide(db, current_user, _tps(code), approve=True, reason=data.reason)
        return {"tps_code": code, "state": result.state.value, "numbers": result.numbers}

    @post(
        "/{code:str}/reject", summary="Reject another officer's correction: back to review", status_code=200
    )
    async def reject(
        self, db: asyncpg.Connection, current_user: User, code: str, data: Reason
    ) -> dict[str, Any]:
        result = await review.decide(db, current_user, _tps(code), approve=False, reason=data.reason)
        return {"tps_code": code, "state": result.state.value, "numbers": result.numbers}

    @post("/{code:str}/retake", summary="Ask the KPPS for a new photo of a page, saying why", status_code=201)
    async def retake(
        self, db: asyncpg.Connection, current_user: User, code: str, data: RetakeRequest
    ) -> review.Retake:
        return await review.request_retake(db, current_user, _tps(code), data.page, data.reason)


async def _open(db: asyncpg.Connection, tps: str) -> review.Correction | None:
    row = await db.fetchrow(
        "SELECT c.id, u.username, c.proposed_at, c.numbers_before::text AS before, "
        "c.numbers_after::text AS after, c.reason FROM correction c JOIN app_user u ON u.id = c.proposed_by "
        "WHERE c.tps_code = $1 AND c.decided_at IS NULL",
        tps,
    )
    if row is None:
        return None
    return review.Correction(
        id=row["id"],
        proposed_by=row["username"],
        proposed_at=row["proposed_at"],
        numbers_before=msgspec.json.decode(row["before"]),
        numbers_after=msgspec.json.decode(row["after"]),
        reason=row["reason"],
    )
