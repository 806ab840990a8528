"""Page 2's digit boxes against the bubbles blackened under them (DOMAIN rule 8): agreement
accepts, a tie the bubbles break is settled, a contradiction is held with both readings named."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.decode import EVIDENCE, NO_EQUATION, decode
from ocr.fields import field_reading, read_bubbles
from ocr.form import FIELDS, Page
from ocr.publication import conflicts, verdict
from ocr.reading import Evidence, FieldReading, PageReading
from ocr.templates import Rect, templates
from tests.ocr.test_decode import QUAD, sure


def boxes(*rows: dict[int, float]) -> np.ndarray:
    """Digit probabilities of three boxes read alone, the rest spread over the other digits."""
    out = np.full((3, 10), 1e-4)
    for i, row in enumerate(rows):
        for digit, p in row.items():
            out[i, digit] = p
    return out / out.sum(axis=1, keepdims=True)


def pair(name: str, probs: np.ndarray, bubbles: list[int | None]) -> FieldReading:
    return field_reading(name, probs, [False] * 3, QUAD, bubbles)


def page_two(first: FieldReading) -> PageReading:
    others = [pair(n, boxes({0: 1.0}, {0: 1.0}, {7: 1.0}), [0, 0, 7]) for n in FIELDS[Page.PASLON][1:]]
    return PageReading(Page.PASLON, 1.0, 0, [first, *others], 0, {}, "test")


def test_boxes_and_bubbles_that_disagree_are_held_with_both_readings_named() -> None:
    # The boxes read 152 surely; the KPPS blackened 1, 6, 2.
    reading = pair("suara_paslon_1", boxes({1: 0.99}, {5: 0.99}, {2: 0.99}), [1, 6, 2])
    assert reading.evidence is Evidence.CONFLICT and reading.bubbles_differ() == (152, 162)
    decoded = decode([page_two(reading)])
    field = decoded.fields["suara_paslon_1"]
    assert not field.accepted and field.reason == "kotak angka 152, bulatan 162"
    decision = verdict(decoded, conflicts([page_two(reading)]), None)
    assert not decision.publish and "bubbles" in decision.broken


def test_a_2024_confusion_pair_is_settled_by_the_bubbles() -> None:
    """Sirekap published 652 for 152 (1 and 6 of a hurried hand): the bubbles choose, also
    against the box's own best guess."""
    for first, second, bubble in ((6, 1, 1), (3, 8, 8), (1, 7, 7), (7, 2, 2), (6, 5, 5)):
        reading = pair(
            "suara_paslon_1", boxes({first: 0.6, second: 0.4}, {5: 0.99}, {2: 0.99}), [bubble, 5, 2]
        )
        assert reading.evidence is Evidence.SETTLED and reading.bubbles_differ() is None
        assert reading.value == 100 * bubble + 52, (first, second, reading.value)


def test_agreeing_boxes_and_bubbles_accept_a_field_no_equation_checks() -> None:
    """A photo of page 2's part alone: no page 3, so no equation; two independent readings do."""
    reading = pair("suara_paslon_1", boxes({1: 0.99}, {5: 0.98}, {2: 0.97}), [1, 5, 2])
    assert reading.evidence is Evidence.AGREE
    field = decode([page_two(reading)]).fields["suara_paslon_1"]
    assert field.accepted and field.value == 152 and field.basis == EVIDENCE


def test_unsure_boxes_or_a_missing_bubble_do_not_accept_alone() -> None:
    # The box's 1 is its best guess but not more likely than all others together (AGREE_SURE).
    unsure = pair("suara_paslon_1", boxes({1: 0.4, 7: 0.35, 4: 0.25}, {5: 0.99}, {2: 0.99}), [1, 5, 2])
    missing = pair("suara_paslon_1", boxes({1: 0.99}, {5: 0.99}, {2: 0.99}), [1, None, 2])
    for reading in (unsure, missing):
        assert reading.evidence is Evidence.SETTLED
        field = decode([page_two(reading)]).fields["suara_paslon_1"]
        assert not field.accepted and field.reason == NO_EQUATION


def test_a_leading_crossed_out_box_without_a_bubble_agrees_and_nothing_else_does() -> None:
    """ "X 4 1" with the hundreds' bubbles untouched: the box and the column both say no digit.
    A written digit, an unsure X, or a missing units bubble leave the number unconfirmed."""
    blank_lead = pair("suara_paslon_1", boxes({0: 0.999}, {4: 0.99}, {1: 0.99}), [None, 4, 1])
    assert blank_lead.evidence is Evidence.AGREE and blank_lead.value == 41
    field = decode([page_two(blank_lead)]).fields["suara_paslon_1"]
    assert field.accepted and field.value == 41 and field.basis == EVIDENCE
    for unconfirmed in (
        pair("suara_paslon_1", boxes({1: 0.99}, {4: 0.99}, {1: 0.99}), [None, 4, 1]),  # a written 1
        pair("suara_paslon_1", boxes({0: 0.9, 1: 0.1}, {4: 0.99}, {1: 0.99}), [None, 4, 1]),  # unsure
        pair("suara_paslon_1", boxes({0: 0.999}, {0: 0.999}, {4: 0.99}), [0, 0, None]),  # no units
        pair("suara_paslon_1", boxes({1: 0.99}, {0: 0.999}, {4: 0.99}), [1, None, 4]),  # an inner 0
    ):
        assert unconfirmed.evidence is Evidence.SETTLED, unconfirmed
        assert not decode([page_two(unconfirmed)]).fields["suara_paslon_1"].accepted


def test_an_untouched_leading_column_weighs_as_no_digit_but_accepts_nothing() -> None:
    """A stroke in the first box read as an unsure 1 over an untouched column, 9 and 3 blackened
    (TPS_275 of c1_page2_crops): the number is read 93, not 193, and left to a person. A digit
    the box shows surely stays (a struck-out 8 read as 9)."""
    unsure = pair("suara_paslon_1", boxes({1: 0.6, 0: 0.4}, {9: 0.99}, {3: 0.99}), [None, 9, 3])
    assert unsure.value == 93 and unsure.evidence is Evidence.SETTLED
    assert unsure.boxes_alone == [1, 9, 3]
    assert not decode([page_two(unsure)]).fields["suara_paslon_1"].accepted
    sure_digit = pair("suara_paslon_1", boxes({9: 0.999}, {9: 0.99}, {2: 0.99}), [None, 9, 2])
    assert sure_digit.value == 992 and sure_digit.evidence is Evidence.SETTLED
    # A column blackened first leaves the ones after it as they are.
    inner = pair("suara_paslon_1", boxes({1: 0.99}, {7: 0.6, 0: 0.4}, {4: 0.99}), [1, None, 4])
    assert inner.value == 174


def test_a_whole_tps_is_published_only_when_every_page_is_read_and_accepted() -> None:
    two = page_two(pair("suara_paslon_1", boxes({1: 0.99}, {5: 0.99}, {2: 0.99}), [1, 5, 2]))
    decoded = decode([two])
    decision = verdict(decoded, conflicts([two]), None)
    assert not decision.publish and set(decision.unread) == set(FIELDS[Page.ADMINISTRASI]) | set(
        FIELDS[Page.SUARA]
    )
    three = PageReading(
        Page.SUARA,
        1.0,
        0,
        [sure("suara_sah", 166), sure("suara_tidak_sah", 4), sure("suara_total", 170)],
        0,
        {},
        "t",
    )
    assert not verdict(decode([two, three]), [], None).publish  # page 1 still missing


def _bubble_page(
    blackened: dict[int, int], shadow_row: int | None
) -> tuple[np.ndarray, tuple[tuple[Rect, ...], ...]]:
    """Page 2's first pair's bubble columns drawn at scale 0.5 (rings with a printed look), the
    ``blackened`` bubble of some columns filled, and a shadow across one row of bubbles."""
    columns = templates()[Page.PASLON].bubbles[FIELDS[Page.PASLON][0]]
    page = np.full((1100, 950), 235, np.uint8)
    if shadow_row is not None:
        _, y, _, h = columns[0][shadow_row]
        page[round(y * 0.5) - 4 : round((y + h) * 0.5) + 4, :] = 150  # a fold's shadow, edge to edge
    for c, column in enumerate(columns):
        for k, (x, y, w, h) in enumerate(column):
            centre, radius = (round((x + w / 2) * 0.5), round((y + h / 2) * 0.5)), round(w * 0.25)
            filled = blackened.get(c) == k
            cv2.circle(page, centre, radius, 30, -1 if filled else 1)
    return page, columns


def test_a_shadow_across_a_row_of_bubbles_blackens_none_of_them() -> None:
    """A fold's shadow darkens a row of bubbles and the paper between them alike: no bubble is
    read as blackened in it (3404072001001 of c1_form_images_unverified read 9, 9, 9 so), while
    a bubble blackened inside the shadow still is."""
    page, columns = _bubble_page({}, shadow_row=9)
    assert read_bubbles(page, columns, 0.5, (0, 0)) == [None, None, None]
    page, columns = _bubble_page({0: 9, 1: 3, 2: 5}, shadow_row=9)
    assert read_bubbles(page, columns, 0.5, (0, 0)) == [9, 3, 5]
