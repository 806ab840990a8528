"""The arithmetic decoder on hand-made readings: which value it picks, and when it refuses."""

from __future__ import annotations

from ocr.decode import NO_EQUATION, decode, value_probability
from ocr.form import FIELDS, Page
from ocr.reading import Alternative, FieldReading, PageReading

QUAD = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


def field(name: str, *boxes: dict[int, float]) -> FieldReading:
    """A reading from per-box digit probabilities, e.g. field("x", {1: .6, 6: .4}, {5: 1}, {2: 1})."""
    digits = [[Alternative(d, p) for d, p in sorted(box.items(), key=lambda kv: -kv[1])] for box in boxes]
    best = [max(box, key=lambda d: box[d]) for box in boxes]
    value = 100 * best[0] + 10 * best[1] + best[2]
    confidence = 1.0
    for box, d in zip(boxes, best, strict=True):
        confidence *= box[d]
    return FieldReading(name, value, confidence, [Alternative(value, confidence)], digits, QUAD)


def sure(name: str, value: int) -> FieldReading:
    return field(name, {value // 100: 1.0}, {value // 10 % 10: 1.0}, {value % 10: 1.0})


def page(number: int, *fields: FieldReading) -> PageReading:
    assert [f.name for f in fields] == list(FIELDS[Page(number)])
    return PageReading(Page(number), 1.0, 0, list(fields), 0, {}, "test")


def test_value_probability_multiplies_the_boxes() -> None:
    reading = field("suara_paslon_1", {1: 0.6, 6: 0.4}, {5: 1.0}, {2: 0.9, 7: 0.1})
    assert abs(value_probability(reading, 152) - 0.54) < 1e-9
    assert abs(value_probability(reading, 657) - 0.04) < 1e-9
    assert value_probability(reading, 1000) == 0.0


def test_a_clear_consistent_reading_is_accepted() -> None:
    result = decode(
        [
            page(2, sure("suara_paslon_1", 152), sure("suara_paslon_2", 80), sure("suara_paslon_3", 20)),
            page(3, sure("suara_sah", 252), sure("suara_tidak_sah", 4), sure("suara_total", 256)),
        ]
    )
    assert result.consistent and result.all_accepted
    assert {n: f.value for n, f in result.fields.items()}["suara_paslon_1"] == 152


def test_a_reading_that_does_not_add_up_takes_the_consistent_alternative_but_is_held() -> None:
    """Best guess 652 (0.6) breaks A = IV.1 + IV.2 + IV.3; 152 (0.4) satisfies it: chosen, never accepted."""
    result = decode(
        [
            page(
                2,
                field("suara_paslon_1", {6: 0.6, 1: 0.4}, {5: 1.0}, {2: 1.0}),
                sure("suara_paslon_2", 80),
                sure("suara_paslon_3", 20),
            ),
            page(3, sure("suara_sah", 252), sure("suara_tidak_sah", 4), sure("suara_total", 256)),
        ]
    )
    paslon_1 = result.fields["suara_paslon_1"]
    assert not result.consistent
    assert paslon_1.read == 652 and paslon_1.value == 152 and not paslon_1.accepted
    assert "152 membuatnya cocok" in paslon_1.reason
    assert "suara paslon 1 + 2 + 3" in paslon_1.reason
    assert result.fields["suara_tidak_sah"].accepted, (
        "a field no broken rule touches is still judged on its own"
    )


def test_two_close_consistent_readings_are_not_accepted() -> None:
    """1↔6 in IV.1 and 2↔7 in A: 152/252 and 652/752 both add up; neither may be published unchecked."""
    result = decode(
        [
            page(
                2,
                field("suara_paslon_1", {1: 0.55, 6: 0.45}, {5: 1.0}, {2: 1.0}),
                sure("suara_paslon_2", 80),
                sure("suara_paslon_3", 20),
            ),
            page(
                3,
                field("suara_sah", {2: 0.55, 7: 0.45}, {5: 1.0}, {2: 1.0}),
                sure("suara_tidak_sah", 4),
                field("suara_total", {2: 0.55, 7: 0.45}, {5: 1.0}, {6: 1.0}),
            ),
        ]
    )
    assert result.consistent, "the best reading adds up"
    paslon_1 = result.fields["suara_paslon_1"]
    assert not paslon_1.accepted
    assert "152 atau 652" in paslon_1.reason
    assert 0.5 < paslon_1.confidence < 0.97
    assert result.fields["suara_paslon_2"].accepted


def test_a_page_alone_is_never_accepted() -> None:
    result = decode(
        [page(2, sure("suara_paslon_1", 152), sure("suara_paslon_2", 80), sure("suara_paslon_3", 20))]
    )
    assert not any(f.accepted for f in result.fields.values())
    assert result.fields["suara_paslon_1"].reason == NO_EQUATION


def test_empty_boxes_count_as_zero() -> None:
    empty = FieldReading(
        "suara_tidak_sah", None, 1.0, [Alternative(None, 1.0)], [[Alternative(None, 1.0)]] * 3, QUAD
    )
    result = decode(
        [
            page(2, sure("suara_paslon_1", 100), sure("suara_paslon_2", 80), sure("suara_paslon_3", 20)),
            page(3, sure("suara_sah", 200), empty, sure("suara_total", 200)),
        ]
    )
    assert result.consistent and result.all_accepted


def test_a_page_that_cannot_add_up_does_not_stop_the_others_from_being_decoded() -> None:
    """Page 1 misread beyond repair (DPT 121 + 134 ≠ 265): page 3's B is still decoded from C = A + B.

    B reads 12 (0.53) or 10 (0.45); A = 237 and C = 247 are sure, so 10 is chosen, and held for
    review because the boxes alone said 12.
    """
    admin = {name: sure(name, 0) for name in FIELDS[Page.ADMINISTRASI]}
    admin |= {
        "pemilih_dpt_l": sure("pemilih_dpt_l", 121),
        "pemilih_dpt_p": sure("pemilih_dpt_p", 134),
        "pemilih_dpt_j": sure("pemilih_dpt_j", 265),
    }
    result = decode(
        [
            PageReading(Page(1), 1.0, 0, list(admin.values()), 0, {}, "test"),
            page(2, sure("suara_paslon_1", 49), sure("suara_paslon_2", 104), sure("suara_paslon_3", 84)),
            page(
                3,
                sure("suara_sah", 237),
                field("suara_tidak_sah", {0: 1.0}, {1: 1.0}, {2: 0.53, 0: 0.45, 4: 0.02}),
                sure("suara_total", 247),
            ),
        ]
    )
    tidak_sah = result.fields["suara_tidak_sah"]
    assert tidak_sah.read == 12 and tidak_sah.value == 10
    assert not tidak_sah.accepted and "10 membuatnya cocok" in tidak_sah.reason
    assert "pemilih_dpt_j must equal pemilih_dpt_l + pemilih_dpt_p" in result.violations


def test_a_value_needing_an_unlisted_digit_is_left_as_read_and_the_form_flagged() -> None:
    """No listed alternative makes A = IV.1 + IV.2 + IV.3: the decoder does not invent digits."""
    result = decode(
        [
            page(2, sure("suara_paslon_1", 152), sure("suara_paslon_2", 80), sure("suara_paslon_3", 20)),
            page(3, sure("suara_sah", 262), sure("suara_tidak_sah", 4), sure("suara_total", 266)),
        ]
    )
    assert not result.consistent
    assert {n: f.value for n, f in result.fields.items()} == {n: f.read for n, f in result.fields.items()}
    assert not any(result.fields[n].accepted for n in FIELDS[Page.PASLON])
    # A is confirmed by C = A + B, whose other numbers no broken rule touches: the pairs are blamed.
    assert result.fields["suara_sah"].accepted
    assert "tidak cocok" in result.fields["suara_paslon_1"].reason


PAGE_1 = {
    "pemilih_dpt_l": 96,
    "pemilih_dpt_p": 113,
    "pemilih_dpt_j": 209,
    "pengguna_dpt_l": 84,
    "pengguna_dpt_p": 98,
    "pengguna_dpt_j": 182,
    "pengguna_dptb_l": 4,
    "pengguna_dptb_p": 4,
    "pengguna_dptb_j": 8,
    "pengguna_non_dpt_l": 0,
    "pengguna_non_dpt_p": 2,
    "pengguna_non_dpt_j": 2,
    "pengguna_total_l": 88,
    "pengguna_total_p": 104,
    "pengguna_total_j": 192,
    "surat_suara_diterima": 214,
    "surat_suara_digunakan": 192,
    "surat_suara_rusak": 0,
    "surat_suara_sisa": 22,
    "disabilitas_l": 0,
    "disabilitas_p": 0,
    "disabilitas_j": 0,
}
"""A page 1 that adds up: every rule of the form holds."""


def test_two_misreads_that_confirm_each_other_are_not_accepted() -> None:
    """84 and 4 read as 81 and 7 keep the column's sum (88 = DPT + DPTb + DPK), yet break their
    rows (l + p = j): the column's equation holds numbers of broken rules, so it vouches for none."""
    values = PAGE_1 | {"pengguna_dpt_l": 81, "pengguna_dptb_l": 7}
    result = decode([page(1, *(sure(name, values[name]) for name in FIELDS[Page.ADMINISTRASI]))])
    for name in ("pengguna_dpt_l", "pengguna_dptb_l"):
        assert not result.fields[name].accepted, name


def page_1(**read: FieldReading) -> PageReading:
    return page(1, *(read.get(name) or sure(name, PAGE_1[name]) for name in FIELDS[Page.ADMINISTRASI]))


def test_a_misread_that_a_row_and_a_column_both_correct_is_accepted_with_the_boxes_kept() -> None:
    """84 read as 94 (9: 0.7, 8: 0.3): l + p = j gives 84 and so does DPT + DPTb + DPK = total,
    two equations in which nothing else changed: the form settles it, as a person would."""
    result = decode([page_1(pengguna_dpt_l=field("pengguna_dpt_l", {0: 1.0}, {9: 0.7, 8: 0.3}, {4: 1.0}))])
    cell = result.fields["pengguna_dpt_l"]
    assert (cell.read, cell.value, cell.accepted, cell.basis) == (94, 84, True, "two equations")
    assert "kotak angka terbaca 94" in cell.reason
    assert result.consistent and result.all_accepted


def test_a_misread_only_one_equation_corrects_is_held() -> None:
    """Unused ballots 22 read as 27 (7: 0.7, 2: 0.3): only received = used + damaged + unused
    gives 22, so it is a suggestion for a person, not a published number."""
    result = decode(
        [page_1(surat_suara_sisa=field("surat_suara_sisa", {0: 1.0}, {2: 1.0}, {7: 0.7, 2: 0.3}))]
    )
    cell = result.fields["surat_suara_sisa"]
    assert (cell.read, cell.value, cell.accepted) == (27, 22, False)
    assert "22 membuatnya cocok" in cell.reason


def test_two_misreads_in_one_equation_are_not_corrected_together() -> None:
    """84 and 98 read as 94 and 88 keep l + p = j; the columns break. Each changed number shares
    its row with the other change, so neither is pinned twice: both go to a person."""
    result = decode(
        [
            page_1(
                pengguna_dpt_l=field("pengguna_dpt_l", {0: 1.0}, {9: 0.7, 8: 0.3}, {4: 1.0}),
                pengguna_dpt_p=field("pengguna_dpt_p", {0: 1.0}, {8: 0.7, 9: 0.3}, {8: 1.0}),
            )
        ]
    )
    for name in ("pengguna_dpt_l", "pengguna_dpt_p"):
        assert not result.fields[name].accepted, name
