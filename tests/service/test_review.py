"""Review by recap officers: the queue in scope, claims, four eyes, retake requests."""

from __future__ import annotations

import asyncpg
import pytest

from service.audit.verify import verify
from service.errors import Conflict, Forbidden, InvalidInput
from service.results import store as results
from service.results import workflow
from service.results.states import TpsState
from service.review import store as review
from service.users.model import Role, User
from service.users.store import upsert_user
from tests.tps_numbers import consistent, decoded, decoding, record

HELD = "3404072001002"
WORSE = "3404072001003"
JAKARTA = "3171011001001"


async def held(conn: asyncpg.Connection, tps: str, seed: int, off_by: int) -> dict[str, int]:
    """A TPS whose pair-1 votes were misread by ``off_by``: held for review. Its true numbers."""
    truth = consistent(seed)
    misread = truth | {"suara_paslon_1": truth["suara_paslon_1"] + off_by}
    await workflow.record_decoding(conn, tps, decoding(misread), await decoded(conn, tps))
    return truth


async def officer(conn: asyncpg.Connection, username: str, region: str | None) -> User:
    return await upsert_user(
        conn,
        username=username,
        display_name=username.upper(),
        role=Role.OFFICER,
        secret="s-long-9",
        scope_region=region,
    )


@pytest.fixture
async def desk(regions: asyncpg.Connection) -> dict[str, User]:
    return {
        "ppk": await officer(regions, "ppk.depok", "340407"),
        "ppk2": await officer(regions, "ppk2.depok", "340407"),
        "kab": await officer(regions, "kpu.sleman", "3404"),
        "jaksel": await officer(regions, "ppk.jagakarsa", "317101"),
    }


async def test_the_queue_holds_the_officers_area_most_consequential_first(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await held(regions, HELD, 2, 5)
    await held(regions, WORSE, 3, 400)
    await held(regions, JAKARTA, 4, 50)
    await record(regions, "3404072001001", consistent(1))  # published: not in any queue
    items = await review.queue(regions, desk["ppk"])
    assert [i.tps_code for i in items] == [WORSE, HELD]
    assert items[0].disagreement > items[1].disagreement > 0 and items[0].waiting_for == "review"
    assert [i.tps_code for i in await review.queue(regions, desk["jaksel"])] == [JAKARTA]
    kpps = User(id=0, username="kpps.x", display_name="x", role=Role.KPPS, tps_code=HELD)
    with pytest.raises(Forbidden):
        await review.queue(regions, kpps)


async def test_a_claim_keeps_other_officers_off_until_released_or_expired(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await held(regions, HELD, 2, 5)
    first = await review.claim(regions, desk["ppk"], HELD, 15)
    assert first.officer == "ppk.depok"
    with pytest.raises(Conflict, match=r"being reviewed by ppk\.depok"):
        await review.claim(regions, desk["ppk2"], HELD, 15)
    assert (await review.claim(regions, desk["ppk"], HELD, 30)).expires_at > first.expires_at  # extended
    (item,) = await review.queue(regions, desk["ppk2"])
    assert item.claimed_by == "ppk.depok"
    await review.release(regions, desk["ppk"], HELD)
    await review.claim(regions, desk["ppk2"], HELD, 15)
    await regions.execute("UPDATE review_claim SET expires_at = now() - interval '1 second'")
    await review.claim(regions, desk["ppk"], HELD, 15)  # the other's claim expired
    with pytest.raises(Conflict, match="claim TPS"):
        await review.confirm(regions, desk["ppk2"], HELD, "looks right")


async def test_officers_cannot_act_outside_their_area(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await held(regions, HELD, 2, 5)
    outsider = desk["jaksel"]
    for action in (
        review.claim(regions, outsider, HELD, 15),
        review.release(regions, outsider, HELD),
        review.confirm(regions, outsider, HELD, "x"),
        review.correct(regions, outsider, HELD, {"suara_paslon_1": 1}, "x"),
        review.decide(regions, outsider, HELD, approve=True, reason="x"),
        review.request_retake(regions, outsider, HELD, 1, "x"),
    ):
        with pytest.raises(Forbidden, match="outside the area"):
            await action
    assert (await results.load(regions, HELD)).state is TpsState.NEEDS_REVIEW  # type: ignore[union-attr]


async def test_confirming_publishes_the_numbers_as_read(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await held(regions, HELD, 2, 0)  # read right, but the decoder was unsure: held
    await regions.execute("UPDATE tps_result SET state = 'needs_review' WHERE tps_code = $1", HELD)
    await review.claim(regions, desk["ppk"], HELD, 15)
    result = await review.confirm(regions, desk["ppk"], HELD, "matches the photo")
    assert result.state is TpsState.PUBLISHED and result.numbers == consistent(2)
    assert await review.queue(regions, desk["ppk"]) == []


async def test_a_correction_is_published_only_after_another_officer_approves_it(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    truth = await held(regions, HELD, 2, 500)
    await review.claim(regions, desk["ppk"], HELD, 15)
    with pytest.raises(InvalidInput, match="say why"):
        await review.correct(regions, desk["ppk"], HELD, {"suara_paslon_1": truth["suara_paslon_1"]}, " ")
    correction = await review.correct(
        regions,
        desk["ppk"],
        HELD,
        {"suara_paslon_1": truth["suara_paslon_1"]},
        "the photo shows 152, not 652",
    )
    assert correction.numbers_after["suara_paslon_1"] == truth["suara_paslon_1"]
    assert (await results.load(regions, HELD)).state is TpsState.REVIEWED  # type: ignore[union-attr]
    (item,) = await review.queue(regions, desk["ppk2"])
    assert item.waiting_for == "approval"
    await review.claim(regions, desk["ppk"], HELD, 15)
    with pytest.raises(Forbidden, match="four eyes"):
        await review.decide(regions, desk["ppk"], HELD, approve=True, reason="I am sure")
    await review.release(regions, desk["ppk"], HELD)
    await review.claim(regions, desk["kab"], HELD, 15)
    published = await review.decide(regions, desk["kab"], HELD, approve=True, reason="checked the photo")
    assert published.state is TpsState.PUBLISHED and published.numbers == truth
    history = await results.history(regions, HELD)
    assert [e.actor for e in history[-2:]] == ["ppk.depok", "kpu.sleman"]
    assert "approved" in history[-1].reason and (await verify(regions)).intact
    with pytest.raises(asyncpg.CheckViolationError):
        await regions.execute("UPDATE correction SET decided_by = proposed_by")


async def test_a_rejected_correction_goes_back_to_review_with_the_numbers_as_read(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    truth = await held(regions, HELD, 2, 500)
    read = (await results.load(regions, HELD)).numbers  # type: ignore[union-attr]
    await review.claim(regions, desk["ppk"], HELD, 15)
    await review.correct(regions, desk["ppk"], HELD, {"suara_paslon_1": truth["suara_paslon_1"] + 1}, "typo")
    await review.claim(regions, desk["ppk2"], HELD, 15)
    back = await review.decide(
        regions, desk["ppk2"], HELD, approve=False, reason="the photo shows another number"
    )
    assert back.state is TpsState.NEEDS_REVIEW and back.numbers == read


async def test_a_retake_request_reaches_the_kpps_until_a_new_photo_of_the_page_arrives(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await held(regions, HELD, 2, 5)
    await review.claim(regions, desk["ppk"], HELD, 15)
    with pytest.raises(InvalidInput, match="pages 1, 2 and 3"):
        await review.request_retake(regions, desk["ppk"], HELD, 4, "blurred")
    asked = await review.request_retake(regions, desk["ppk"], HELD, 2, "halaman 2 buram, foto ulang")
    assert [(r.page, r.reason) for r in await review.retakes(regions, HELD)] == [(2, asked.reason)]
    photo = await regions.fetchval(
        "INSERT INTO photo (tps_code, ballot, sha256, media_type, size_bytes, width, height, uploaded_by, state) "
        "VALUES ($1, 'ppwp', repeat('a', 64), 'image/jpeg', 10, 1000, 1500, $2, 'read') RETURNING id",
        HELD,
        desk["ppk"].id,
    )
    await regions.execute(
        "INSERT INTO photo_reading (photo_id, outcome, page, reading, reader_version, ms) "
        "VALUES ($1, 'page', 2, '{}', 't', 1)",
        photo,
    )
    assert await review.retakes(regions, HELD) == []
