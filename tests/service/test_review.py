"""Review by recap officers: the queue in scope, claims, four eyes, retake requests."""

from __future__ import annotations

import asyncpg
import pytest

from service.audit.verify import verify
from service.errors import Conflict, Forbidden, IllegalTransition, InvalidInput
from service.results import store as results
from service.results import workflow
from service.results.states import TpsState, require
from service.review import flags
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
    with pytest.raises(Conflict, match=r"sedang ditinjau ppk\.depok sampai \d\d\.\d\d WIB"):
        await review.claim(regions, desk["ppk2"], HELD, 15)
    assert (await review.claim(regions, desk["ppk"], HELD, 30)).expires_at > first.expires_at  # extended
    (item,) = await review.queue(regions, desk["ppk2"])
    assert item.claimed_by == "ppk.depok"
    await review.release(regions, desk["ppk"], HELD)
    await review.claim(regions, desk["ppk2"], HELD, 15)
    await regions.execute("UPDATE review_claim SET expires_at = now() - interval '1 second'")
    await review.claim(regions, desk["ppk"], HELD, 15)  # the other's claim expired
    with pytest.raises(Conflict, match='Tekan "Tinjau" dulu'):
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
        with pytest.raises(Forbidden, match="di luar wilayah"):
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
    with pytest.raises(InvalidInput, match="Tuliskan alasannya"):
        await review.correct(regions, desk["ppk"], HELD, {"suara_paslon_1": truth["suara_paslon_1"]}, " ")
    correction = await review.correct(
        regions,
        desk["ppk"],
        HELD,
        {"suara_paslon_1": truth["suara_paslon_1"]},
        "the photo shows 152, not 652",
    )
    assert correction.numbers_after["suara_paslon_1"] == truth["suara_paslon_1"]
    assert correction.changed == {"suara_paslon_1": (truth["suara_paslon_1"] + 500, truth["suara_paslon_1"])}
    assert (await results.load(regions, HELD)).state is TpsState.REVIEWED  # type: ignore[union-attr]
    (item,) = await review.queue(regions, desk["ppk2"])
    assert item.waiting_for == "approval"
    await review.claim(regions, desk["ppk"], HELD, 15)
    with pytest.raises(Forbidden, match="empat mata"):
        await review.decide(regions, desk["ppk"], HELD, approve=True, reason="I am sure")
    await review.release(regions, desk["ppk"], HELD)
    await review.claim(regions, desk["kab"], HELD, 15)
    published = await review.decide(regions, desk["kab"], HELD, approve=True, reason="checked the photo")
    assert published.state is TpsState.PUBLISHED and published.numbers == truth
    history = await results.history(regions, HELD)
    assert [e.actor for e in history[-2:]] == ["ppk.depok", "kpu.sleman"]
    assert "disetujui" in history[-1].reason and (await verify(regions)).intact
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
    with pytest.raises(InvalidInput, match="halaman 1, 2 dan 3"):
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


async def test_confirming_numbers_that_break_a_blocking_rule_asks_again_naming_it(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await held(regions, HELD, 2, 500)  # 152 read as 652: valid votes no longer add up
    await review.claim(regions, desk["ppk"], HELD, 15)
    with pytest.raises(Conflict, match="suara sah \\(A\\) harus sama dengan"):
        await review.confirm(regions, desk["ppk"], HELD, "sesuai foto")
    assert (await results.load(regions, HELD)).state is TpsState.NEEDS_REVIEW  # type: ignore[union-attr]
    signed = await review.confirm(
        regions, desk["ppk"], HELD, "sesuai foto, KPPS salah jumlah", over_findings=True
    )
    assert signed.state is TpsState.PUBLISHED


async def test_a_new_photo_of_a_published_tps_changes_nothing_public_until_an_officer_decides(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    shown = consistent(1)
    await record(regions, HELD, shown)
    await record(regions, WORSE, consistent(3))
    other = shown | {"suara_paslon_1": shown["suara_paslon_1"] + 300}
    for tps, numbers in ((HELD, other), (WORSE, consistent(3) | {"suara_paslon_2": 1})):
        kept = await workflow.record_decoding(regions, tps, decoding(numbers), await decoded(regions, tps))
        assert kept.state is TpsState.PUBLISHED and kept.numbers != numbers
    with pytest.raises(IllegalTransition):
        require(TpsState.PUBLISHED, TpsState.READ)
    assert {i.tps_code: i.waiting_for for i in await review.queue(regions, desk["ppk"])} == {
        HELD: "new_reading",
        WORSE: "new_reading",
    }
    seen = await review.detail(regions, desk["ppk2"], HELD)  # looking claims nothing
    assert seen.claimed_by is None and seen.numbers == shown and seen.new_reading is not None
    assert seen.new_reading.changed == {"suara_paslon_1": (shown["suara_paslon_1"], other["suara_paslon_1"])}
    assert seen.place is not None and seen.place.tps_number == 2
    with pytest.raises(Conflict, match="Tinjau"):
        await review.decide_new_reading(regions, desk["ppk"], HELD, adopt=True, reason="foto baru")
    # Set aside: nothing changes, and it leaves the queue.
    await review.claim(regions, desk["ppk"], WORSE, 15)
    kept = await review.decide_new_reading(regions, desk["ppk"], WORSE, adopt=False, reason="foto TPS lain")
    assert kept.state is TpsState.PUBLISHED and kept.numbers == consistent(3)
    # Taken: back to review with the new numbers, by the officer's hand.
    await review.claim(regions, desk["ppk"], HELD, 15)
    taken = await review.decide_new_reading(
        regions, desk["ppk"], HELD, adopt=True, reason="halaman 2 difoto ulang"
    )
    assert taken.state is TpsState.NEEDS_REVIEW and taken.numbers == other
    assert (await results.history(regions, HELD))[-1].actor == "ppk.depok"
    assert [(i.tps_code, i.waiting_for) for i in await review.queue(regions, desk["ppk"])] == [
        (HELD, "review")
    ]
    assert (await verify(regions)).intact


async def test_an_upload_never_discards_a_correction_waiting_for_approval(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    truth = await held(regions, HELD, 2, 500)
    await review.claim(regions, desk["ppk"], HELD, 15)
    await review.correct(regions, desk["ppk"], HELD, {"suara_paslon_1": truth["suara_paslon_1"]}, "foto: 152")
    again = truth | {"suara_paslon_1": truth["suara_paslon_1"] + 600}
    result = await workflow.record_decoding(regions, HELD, decoding(again), await decoded(regions, HELD))
    assert result.state is TpsState.REVIEWED and result.numbers == truth
    assert await review.open_correction(regions, HELD) is not None
    await review.claim(regions, desk["ppk2"], HELD, 15)
    published = await review.decide(regions, desk["ppk2"], HELD, approve=True, reason="sesuai foto")
    assert published.state is TpsState.PUBLISHED and published.numbers == truth
    (item,) = await review.queue(regions, desk["ppk"])
    assert item.waiting_for == "new_reading"  # the later photo still waits for an officer


async def test_a_kpps_report_of_a_wrong_number_reaches_the_officers_until_one_answers_it(
    regions: asyncpg.Connection, desk: dict[str, User]
) -> None:
    await record(regions, HELD, consistent(2))  # published
    kpps = await upsert_user(
        regions,
        username=f"kpps.{HELD}",
        display_name="KPPS",
        role=Role.KPPS,
        secret="s-long-8",
        tps_code=HELD,
    )
    with pytest.raises(InvalidInput, match="tidak ada pada formulir"):
        await flags.raise_flag(regions, kpps, HELD, "suara_paslon_9", "")
    with pytest.raises(Forbidden):
        await flags.raise_flag(regions, desk["ppk"], HELD, "suara_paslon_1", "")
    await flags.raise_flag(regions, kpps, HELD, "suara_paslon_1", "di kertas 125")
    await flags.raise_flag(regions, kpps, HELD, "suara_paslon_1", "di kertas 152")  # one open report a field
    (item,) = await review.queue(regions, desk["ppk"])
    assert (item.tps_code, item.waiting_for, item.flags) == (HELD, "kpps_flag", 1)
    (flag,) = (await review.detail(regions, desk["ppk"], HELD)).flags
    assert (flag.field, flag.note, flag.flagged_by) == ("suara_paslon_1", "di kertas 152", f"kpps.{HELD}")
    await review.claim(regions, desk["ppk"], HELD, 15)
    await review.answer_flags(regions, desk["ppk"], HELD, "dicocokkan dengan foto: 152 benar")
    assert await review.queue(regions, desk["ppk"]) == []
    assert (await results.load(regions, HELD)).state is TpsState.PUBLISHED  # type: ignore[union-attr]
