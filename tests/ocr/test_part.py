"""A photo of page 2's vote part alone (no corner mark, no header) is read from its boxes and bubbles."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.decode import EVIDENCE, decode
from ocr.form import PAIRS, Page
from ocr.imagefile import decode_gray
from ocr.part import _targets, part_boxes, read_part
from ocr.reader import read_page
from ocr.reading import PageReading, Rejected
from ocr.register import boxes_by_sides, boxes_in
from ocr.synth.pages import fill_page, tps_values
from ocr.templates import templates
from tests.conftest import forms_dir, shared


def _part(seed: int) -> tuple[bytes, dict[str, int]]:
    rng = np.random.default_rng(seed)
    template = templates()[Page.PASLON]
    values = tps_values(rng)
    page = fill_page(cv2.imread(str(forms_dir() / "page2.png"), cv2.IMREAD_COLOR), template, values, rng)
    # The right part, as c1_page2_crops shows it: tally grid, subtotals, boxes and bubbles.
    part = page[450:2150, 700:1850]
    small = cv2.resize(part, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return data.tobytes(), {name: values[name] for name in PAIRS}


def test_a_photo_of_page_two_s_vote_part_alone_is_read_and_accepted_by_its_evidence() -> None:
    read = 0
    for seed in range(1, 7):
        data, values = _part(seed)
        outcome = read_page(data)
        if not isinstance(outcome, PageReading):
            continue  # refused: a person is asked for a new photo; never a wrong number
        assert outcome.page == Page.PASLON
        read += 1
        decoded = decode([outcome])
        for name, value in values.items():
            assert decoded.fields[name].value == value, (seed, name)
            if decoded.fields[name].accepted:
                assert decoded.fields[name].basis == EVIDENCE
    # The pair whose boxes' outlines an X or a digit breaks may go unfound (then the photo is refused).
    assert read >= 4


def test_a_grid_of_boxes_without_bubbles_is_not_taken_for_page_two() -> None:
    grid = np.full((900, 800), 255, np.uint8)
    for y in range(60, 860, 70):
        for x in range(60, 760, 62):
            cv2.rectangle(grid, (x, y), (x + 48, y + 48), 0, 2)
    ok, data = cv2.imencode(".png", grid)
    assert ok and isinstance(read_page(data.tobytes()), Rejected)


def test_a_small_photo_of_the_part_is_read_and_a_small_whole_page_refused() -> None:
    """Between 200 and 600 pixels a side only a photo of the vote part is read (its boxes are
    then ~20 pixels, as on the smallest crops of c1_page2_crops); a whole page is too small."""
    read = 0
    for seed in (1, 2):  # one read, one refused (a refusal searches to its budget: 8 s)
        data, values = _part(seed)
        big = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        ok, small = cv2.imencode(".jpg", cv2.resize(big, (250, 370), interpolation=cv2.INTER_AREA))
        assert ok
        outcome = read_page(small.tobytes())
        if isinstance(outcome, PageReading):
            read += 1
            decoded = decode([outcome])
            for name, value in values.items():
                if decoded.fields[name].accepted:
                    assert decoded.fields[name].value == value, (seed, name)
        else:
            assert outcome.reason.value == "too_small", outcome
    assert read >= 1
    page = cv2.imread(str(forms_dir() / "page2.png"), cv2.IMREAD_GRAYSCALE)
    ok, whole = cv2.imencode(".png", cv2.resize(page, (300, 420), interpolation=cv2.INTER_AREA))
    assert ok
    refused = read_page(whole.tobytes())
    assert isinstance(refused, Rejected) and refused.reason.value == "too_small"


def test_the_boxes_cut_for_training_are_those_the_reading_comes_from() -> None:
    for seed in range(1, 7):
        data, _ = _part(seed)
        gray = decode_gray(data)
        read, cut = read_part(gray), part_boxes(gray)
        if read is None:
            assert cut is None
            continue
        assert cut is not None and list(cut) == list(PAIRS)
        for reading in read.fields:
            same, images = cut[reading.name]
            assert same == reading and len(images) == 3 and all(image.size for image in images)
        return
    raise AssertionError("no synthetic part photo was read")


def test_a_part_photographed_upside_down_is_read_turned_round() -> None:
    """Upside down the boxes are found just as well, with the bubbles above them; read as given,
    the next pair's boxes and bubbles can pass for a number (a real crop read 0 for 10)."""
    for seed in (1,):  # each turned-round search takes ~7 s of the suite's budget
        data, values = _part(seed)
        upright = decode_gray(data)
        found = read_part(cv2.rotate(upright, cv2.ROTATE_180))
        assert found is not None and found.rotated == 180, seed
        by_name = {f.name: f for f in found.fields}
        for name, value in values.items():
            if by_name[name].agreement:
                assert by_name[name].value == value, (seed, name)
        # The quads are in the photo as given: the first pair is now in the lower half.
        assert min(y for _, y in by_name[PAIRS[0]].quad) > upright.shape[0] / 2


def test_faint_bubbles_and_wide_boxes_of_real_crops_are_read() -> None:
    """Real crops of c1_page2_crops: bubbles too faint to find ring by ring (TPS_322, _109, _455
    and _487 were read a digit too low) are fitted to the columns' darkness, among the fits that
    put the most rings found on bubbles; rings found are fitted by least squares (TPS_115's 9 lay
    between two places) and each column's places follow its rings sideways (TPS_048, photographed
    at a slant, had its 8 beside the place); boxes a third wider than tall (TPS_092) are found
    when no square ones make the pairs."""
    folder = shared("c1_page2_crops/images")
    expected = {
        "TPS_322": {"suara_paslon_3": [0, 8, 2]},
        "TPS_109": {"suara_paslon_3": [0, 6, 8]},
        "TPS_455": {"suara_paslon_3": [0, 8, 1]},
        "TPS_115": {"suara_paslon_2": [0, 9, 0]},
        "TPS_048": {"suara_paslon_2": [0, 8, 5]},
        "TPS_487": {"suara_paslon_1": [0, 1, 3], "suara_paslon_2": [1, 4, 5]},
        "TPS_092": {"suara_paslon_1": [0, 1, 2], "suara_paslon_2": [1, 4, 0], "suara_paslon_3": [0, 4, 2]},
        # The table's bottom rule is dark between the columns too: no bubble place is put on
        # it (the places were a pitch low and read 55 for the boxes' 66).
        "TPS_314": {"suara_paslon_3": [None, 6, 6]},
    }
    for tps, bubbles in expected.items():
        found = read_part(decode_gray((folder / f"{tps}.jpg").read_bytes()))
        assert found is not None, tps
        read = {f.name: f.bubbles for f in found.fields}
        for name, digits in bubbles.items():
            assert read[name] == digits, (tps, name, read[name])


def test_boxes_whose_top_line_is_lost_are_found_by_their_sides() -> None:
    """Faint printing loses a box's top line and rounded corners leave gaps: no closed hole is
    left for ``boxes_in``, but the two upright sides still make each box, and the upright stroke
    of a 1 inside a box (half a box from either side) makes none."""
    page = np.full((700, 1000), 255, np.uint8)  # boxes of 1.2 % to 6 % of its side are sought
    for left in (200, 262, 324):  # three 50-px boxes at a pitch of 62
        cv2.line(page, (left, 104), (left, 150), 0, 2)
        cv2.line(page, (left + 50, 104), (left + 50, 150), 0, 2)
        cv2.line(page, (left + 5, 150), (left + 45, 150), 0, 2)  # the bottom line, short of the corners
    cv2.line(page, (287, 112), (287, 142), 0, 3)  # a 1 written in the middle box
    assert len(boxes_in(page)) == 0
    found = sorted(boxes_by_sides(page).tolist())
    assert len(found) == 3
    for (x, y, side), left in zip(found, (200, 262, 324), strict=True):
        assert abs(x - (left + 25)) <= 2 and abs(y - 127) <= 3 and 45 <= side <= 52


def test_real_crops_whose_boxes_show_no_closed_outline_are_read() -> None:
    """Crops of c1_page2_crops refused as no form while their boxes' top lines were lost to the
    threshold (TPS_190; _266, _340 and _444 likewise), or whose pairs were found part as holes,
    part by their sides (TPS_117): found, and where boxes and bubbles agree, the labels' numbers.
    TPS_213 shows a row cut one box aside whose boxes and bubbles agree on 405: the column
    through it is not straight, and the pair's own row (55) is chosen. The first square boxes of
    TPS_161 gave a row cut a few pixels off (boxes 966 for bubbles 56): the search goes on until
    every pair agrees. TPS_050 has a row half a box low with clearer bubbles that breaks the
    pairs' spacing: each pair's candidates are tried, not only the clearest."""
    folder = shared("c1_page2_crops/images")
    expected = {
        "TPS_117": (51, 90, 9),
        "TPS_161": (67, 115, 13),
        "TPS_050": (26, 89, 8),
        "TPS_213": (55, 134, 14),
        "TPS_190": (11, 88, 12),
    }
    for tps, votes in expected.items():
        found = read_part(decode_gray((folder / f"{tps}.jpg").read_bytes()))
        assert found is not None, tps
        for field, label in zip(found.fields, votes, strict=True):
            if field.agreement:
                assert field.value == label, (tps, field.name, field.value)
        assert sum(f.agreement for f in found.fields) >= 2, tps


def test_a_dark_photo_of_the_vote_part_is_read_where_its_boxes_and_bubbles_agree() -> None:
    """TPS_061 of c1_page2_crops (paper at 66 of 255, below the whole page's 70) is read, not
    refused as dark, because its three pairs' boxes and bubbles are found and agree."""
    outcome = read_page((shared("c1_page2_crops/images") / "TPS_061.jpg").read_bytes())
    assert isinstance(outcome, PageReading), outcome
    assert [(f.value, f.agreement) for f in outcome.fields] == [(136, True), (74, True), (8, True)]


def test_a_pair_missed_by_its_boxes_is_read_where_the_two_found_place_it() -> None:
    """Crops of c1_page2_crops where two pairs were found and the third was not (refused as no
    form before): TPS_140's middle pair, on a slanted photo, lies halfway between the other two,
    where a row square to one of them missed its boxes; TPS_126's third pair, its borders faint,
    lies one pairs' spacing beyond the second. Each reads the label's numbers, boxes and bubbles
    agreeing."""
    folder = shared("c1_page2_crops/images")
    for tps, votes in {"TPS_140": (61, 34, 52), "TPS_126": (66, 74, 23)}.items():
        found = read_part(decode_gray((folder / f"{tps}.jpg").read_bytes()))
        assert found is not None, tps
        assert [(f.value, f.agreement) for f in found.fields] == [(v, True) for v in votes], tps


def test_a_photo_stretched_sideways_is_squeezed_back_and_read() -> None:
    """TPS_421, _003 and _035 of c1_page2_crops are stretched sideways (boxes half as wide again as
    tall, bubbles drawn into ellipses): turning and scaling the blank form cannot fit them, and
    they were refused as no form. Squeezed back, their three pairs read the labels' numbers with
    boxes and bubbles agreeing, and the fields' places are given in the photo as it came."""
    folder = shared("c1_page2_crops/images")
    for tps, votes in {"TPS_421": (36, 81, 49), "TPS_003": (173, 27, 3), "TPS_035": (76, 67, 16)}.items():
        gray = decode_gray((folder / f"{tps}.jpg").read_bytes())
        found = read_part(gray)
        assert found is not None, tps
        assert [(f.value, f.agreement) for f in found.fields] == [(v, True) for v in votes], tps
        # The boxes sit in the photo's right quarter (squeezed back they would sit further left).
        for field in found.fields:
            assert min(x for x, _ in field.quad) > 0.65 * gray.shape[1], (tps, field.quad)


def test_a_dim_blurred_photo_reads_its_one_blackened_bubble() -> None:
    """TPS_174 of c1_page2_crops: dim and blurred, its printed rings hardly darker than the paper,
    and its third pair (X X 6) has one bubble blackened, too small a share of the columns to set
    the ink's grey. The darkest bubble sets it: the third pair reads 6, boxes and bubbles
    agreeing, where before no bubble stood out and the photo was refused as no form."""
    found = read_part(decode_gray((shared("c1_page2_crops/images") / "TPS_174.jpg").read_bytes()))
    assert found is not None
    assert [(f.value, f.agreement) for f in found.fields] == [(91, True), (63, True), (6, True)]


def test_a_row_whose_end_box_is_found_short_is_read_from_its_middle_box() -> None:
    """A box found by its sides can take a digit's stroke for one (TPS_149's third box 12 px
    short): its row is also read from each end and the middle box's mirror of it."""
    boxes = np.array([[656, 86, 45], [711, 84, 44], [754, 83, 40]], np.float32)
    targets = [t.tolist() for t in _targets(boxes, 0, 2)]
    assert targets == [[[656, 86], [754, 83]], [[656, 86], [766, 82]], [[668, 85], [754, 83]]]
    even = np.array([[600, 80, 45], [655, 80, 45], [710, 80, 45]], np.float32)
    assert len(_targets(even, 0, 2)) == 1


def test_the_search_for_a_part_is_bounded_by_its_cpu_budget() -> None:
    """A photo whose pairs agree as found is read within any budget; a photo that must be
    squeezed back (TPS_421) is not searched further once its budget is spent."""
    folder = shared("c1_page2_crops/images")
    plain = read_part(decode_gray((folder / "TPS_001.jpg").read_bytes()), budget_s=0.0)
    assert plain is not None and all(f.agreement for f in plain.fields)
    # Read squeezed back within the default budget (test_a_photo_stretched_sideways_...).
    assert read_part(decode_gray((folder / "TPS_421.jpg").read_bytes()), budget_s=0.0) is None
