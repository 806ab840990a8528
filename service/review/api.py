"""HTTP: the review queue and what a recap officer does with a held TPS. Every endpoint checks
that the TPS lies in the officer's area (403 otherwise)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from service.errors import InvalidInput
from service.regions.codes import tps_code
from service.review import crops
from service.review import store as review
from service.users.model import User

CLAIM_MINUTES = 15
CROP_CACHE = "private, max-age=3600"
"""An officer's browser keeps a crop for the hour of a review (its address names the photo)."""


ReasonText = Annotated[str, msgspec.Meta(max_length=1000)]
"""An officer's reason, kept with the decision and shown on the public TPS document: a few
sentences, not a document of its own."""
FieldName = Annotated[str, msgspec.Meta(max_length=64)]


class ClaimRequest(msgspec.Struct, frozen=True):
    minutes: int = CLAIM_MINUTES


class Reason(msgspec.Struct, frozen=True):
    reason: ReasonText


class Signing(msgspec.Struct, frozen=True):
    reason: ReasonText
    over_findings: bool = False
    """The officer was told which blocking rules the numbers break and signs them off anyway."""


class NewReadingDecision(msgspec.Struct, frozen=True):
    adopt: bool
    """true: the TPS goes back to review with the new photo's numbers; false: they are set aside."""
    reason: ReasonText


class CorrectionRequest(msgspec.Struct, frozen=True):
    numbers: Annotated[dict[FieldName, int], msgspec.Meta(max_length=64)]
    """Only the fields that change, by their form names (``suara_paslon_1``, ...)."""
    reason: ReasonText


class RetakeRequest(msgspec.Struct, frozen=True):
    page: int
    reason: ReasonText
    """Shown to the KPPS on their phone: say what to photograph again, in Indonesian."""


class ReviewController(Controller):
    path = "/api/v1/review"
    tags = ["review"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/queue", summary="TPS of your area waiting for review or approval, most consequential first")
    async def queue(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        limit: FromQuery[int] = 50,
    ) -> list[review.QueueItem]:
        if not 1 <= limit <= 500:
            raise InvalidInput(
                f"Jumlah TPS dalam antrean yang diminta (limit) harus 1 sampai 500, bukan {limit}.",
                detail=f"limit is from 1 to 500, not {limit}",
            )
        return await review.queue(db, current_user, limit)

    @post(
        "/{code:str}/claim", summary="Take a TPS for a while so no other officer works on it", status_code=200
    )
    async def claim(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[ClaimRequest | None] = None,
    ) -> review.Claim:
        minutes = (data or ClaimRequest()).minutes
        if not 1 <= minutes <= 120:
            raise InvalidInput(
                f"Lama memegang TPS harus 1 sampai 120 menit, bukan {minutes}.",
                detail=f"a claim lasts 1 to 120 minutes, not {minutes}",
            )
        return await review.claim(db, current_user, tps_code(code), minutes)

    @delete("/{code:str}/claim", summary="Let the TPS go back to the queue", status_code=204)
    async def release(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
    ) -> None:
        await review.release(db, current_user, tps_code(code))

    @get("/{code:str}", summary="What needs deciding: each field as read, the broken rules, photos, requests")
    async def detail(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
    ) -> review.ReviewDetail:
        return await review.detail(db, current_user, tps_code(code))

    @get(
        "/{code:str}/crops/{field:str}",
        summary="A field's three boxes cut from the current photo of its page (JPEG), beside its reading",
        description="404 for a name that is not a field of the form, or a field with no photo read.",
        media_type="image/jpeg",
    )
    async def crop(
        self,
        db: NamedDependency[asyncpg.Connection],
        state: State,
        current_user: NamedDependency[User],
        code: FromPath[str],
        field: FromPath[str],
    ) -> Response[bytes]:
        data = await crops.field_crop(db, state.photos, current_user, tps_code(code), field)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": CROP_CACHE})

    @post(
        "/{code:str}/confirm", summary="The numbers as read are right: sign off and publish", status_code=200
    )
    async def confirm(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[Signing],
    ) -> review.Decision:
        result = await review.confirm(
            db, current_user, tps_code(code), data.reason, over_findings=data.over_findings
        )
        return review.decision(result)

    @post(
        "/{code:str}/correct",
        summary="Propose corrected numbers (published once another officer approves them)",
        status_code=201,
    )
    async def correct(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[CorrectionRequest],
    ) -> review.Correction:
        return await review.correct(db, current_user, tps_code(code), data.numbers, data.reason)

    @post(
        "/{code:str}/approve",
        summary="Approve another officer's correction: it is published",
        status_code=200,
    )
    async def approve(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[Signing],
    ) -> review.Decision:
        result = await review.decide(
            db,
            current_user,
            tps_code(code),
            approve=True,
            reason=data.reason,
            over_findings=data.over_findings,
        )
        return review.decision(result)

    @post(
        "/{code:str}/new-reading",
        summary="Take a new photo's numbers of a published or signed-off TPS for review, or set them aside",
        status_code=200,
    )
    async def new_reading(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[NewReadingDecision],
    ) -> review.Decision:
        result = await review.decide_new_reading(
            db, current_user, tps_code(code), adopt=data.adopt, reason=data.reason
        )
        return review.decision(result)

    @post(
        "/{code:str}/reject", summary="Reject another officer's correction: back to review", status_code=200
    )
    async def reject(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[Reason],
    ) -> review.Decision:
        result = await review.decide(db, current_user, tps_code(code), approve=False, reason=data.reason)
        return review.decision(result)

    @post(
        "/{code:str}/flags/answer",
        summary="Answer the KPPS's reports of a number read wrong: the numbers stand, saying why",
        status_code=204,
    )
    async def answer_flags(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[Reason],
    ) -> None:
        await review.answer_flags(db, current_user, tps_code(code), data.reason)

    @post("/{code:str}/retake", summary="Ask the KPPS for a new photo of a page, saying why", status_code=201)
    async def retake(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: FromPath[str],
        data: JSONBody[RetakeRequest],
    ) -> review.Retake:
        return await review.request_retake(db, current_user, tps_code(code), data.page, data.reason)
