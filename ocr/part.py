"""Page 2's vote fields read from a photo of that part of the page alone, without corner marks.

A KPPS (or a data set) may photograph only the right part of page 2: the three pairs' digit
boxes with their columns of bubbles. No corner mark, header or printed text places such a photo,
so each pair is found by what a person sees: a row of three boxes with, under each box, a column
of ten bubbles of which one is blackened. Each such row fixes a similarity map (the row's first
and third box) from the blank form's field to the photo, through which the field is cut and read
exactly as on a whole page. Three rows down one column, at the spacing the form's printings
have, are the three pairs in ballot order; anything less is not read (``None``).
"""

from __future__ import annotations

import functools
import time
from fractions import Fraction
from itertools import combinations, pairwise, product
from typing import Any

import cv2
import msgspec
import numpy as np
import numpy.typing as npt

from ocr import fields
from ocr.cells import Gray
from ocr.form import PAIRS, Page
from ocr.reading import Evidence, FieldReading, Quad
from ocr.register import boxes_by_sides, boxes_in, rows_of_three
from ocr.templates import Rect, templates

BUDGET_S = 3.0
"""CPU seconds (of the reading thread) past which the photo is no more searched turned round or
squeezed: each such search costs as much as the first (most crops 0.1 to 0.3 s, a few up to 14 s
however bounded by ``MAX_THREES``), and unbounded the slowest crops of c1_page2_crops took 22 s."""
HEIGHT = 1000
"""Pixels the photo is brought to before the boxes are looked for (crops come at 286 to 1600)."""
SCALE = 0.75
"""Pixels per template pixel of the field's straightened neighbourhood, as ``reader.SCALE``."""
MAX_TURN = 0.3
"""Radians a row may lean."""
WIDEST_BOX = 1.7
"""Width over height a digit box may have where no square boxes make the pairs: the blank form's
are square, but some printings' are a third wider than tall (TPS_003, _090 and _092 of
c1_page2_crops, refused before as no form)."""
PAIR_GAP = (4.5, 8.5)
"""Rows of two pairs are this many box pitches apart (507 template pixels on the blank form,
about 460 on a printing with shorter tally tables)."""
BUBBLE_PITCH = (0.7, 1.15)
"""How much closer or further apart than the blank form's the bubbles may be, measured against
boxes 1 and 3 alone (printings differ more in the boxes' spacing than a whole page shows)."""
MIN_EDGES = 3.0
"""Grey levels a placed row's box borders must be darker than the paper beside them (a row put
on the bubbles of the next pair, whose printed digits the box reader then reads, measures 0;
pairs' rows measure 4 to 35 on the crops of c1_page2_crops)."""
GAP_STEP = 0.25
"""Box pitches between the spacings tried for a pair's row not found by its boxes."""
MAX_TWO_ROWS = 40
"""Rows of two boxes tried at most (each is cut and read)."""
TRIES = 4
"""Spacings whose rows are read, clearest bubbles first, for a pair not found by its boxes."""
CLEAR_COLUMNS = 2
"""Bubble columns with one clearly blackened bubble a row of boxes needs to be a field."""
MAX_BEND = 0.35
"""Most ``_bend`` a column of the three pairs may show: a row cut a box aside makes 0.55 (TPS_213
of c1_page2_crops), the pairs read on the 483 crops read at most 0.29 (TPS_135, at a slant)."""
MAX_THREES = 300
"""Rows of three boxes past which one way of finding boxes is not read further: each row costs a
reading (~2 ms), and a grid of boxes gave 800 to 1,100 rows to each way (12 s of CPU for one
photo). The crops of c1_page2_crops give at most 204 (square holes), 217 (sides) and, a few of
them, more than 300 (wide holes, where the other ways find their pairs)."""
CANDIDATES = 3
"""Rows tried for one pair where several were found within a pitch of each other."""
OFF_MIDDLE = 0.1
"""Box pitches a row's middle box may lie off its ends' midpoint before the ends are doubted."""
MARGIN = 60
"""Template pixels of the page kept around the first pair's boxes and bubbles when straightened."""
SQUEEZES = (1.2, 1.4, 1.6)
"""Times a photo stretched sideways is squeezed back, in turn (of c1_page2_crops, TPS_421 reads
at each, TPS_003 at 1.4 alone, TPS_035 at 1.2 and 1.4)."""
TURNED_AGREE = 2
"""Pairs whose boxes and bubbles agree a photo turned half round must show to be read so."""


class _Row:
    def __init__(
        self,
        target: npt.NDArray[Any],
        reading: FieldReading,
        clear: int,
        edges: float,
        images: list[Gray] | None = None,
    ) -> None:
        self.target = target
        """The first and third boxes' centres in the photo."""
        self.x, self.y = float(target[0, 0]), float(target[0, 1])
        self.pitch = float(np.hypot(*(target[1] - target[0]))) / 2
        """Pixels from one box to the next in the photo."""
        self.reading = reading
        self.clear = clear
        self.edges = edges
        """How much darker the boxes' printed borders are than the paper beside them (grey levels,
        the weakest of the three)."""
        self.images = images or []
        """The three boxes as cut (``part_boxes``: the digit model is trained on them)."""


class _Photo:
    """The photo (at ``HEIGHT``) being searched, each place read once: the ways of finding boxes
    find many rows again (a third of the places read on TPS_108 of c1_page2_crops)."""

    def __init__(self, gray: Gray) -> None:
        self.gray = gray
        self.shape = gray.shape
        self._rows: dict[tuple[int, ...], _Row | None] = {}

    def row(self, target: npt.NDArray[Any], min_clear: int = CLEAR_COLUMNS) -> _Row | None:
        """``_field_row`` at ``target`` (the first and third boxes' centres, to the pixel)."""
        key = (min_clear, *np.rint(target).astype(int).ravel().tolist())
        if key not in self._rows:
            self._rows[key] = _field_row(self.gray, target, min_clear=min_clear)
        return self._rows[key]


class Part(msgspec.Struct, frozen=True):
    fields: list[FieldReading]
    rotated: int
    """Degrees the photo was turned to read it (0 or 180); the quads are in the photo as given."""


def read_part(gray: Gray, budget_s: float = BUDGET_S) -> Part | None:
    """The three pairs' fields, or ``None`` when three such rows are not found."""
    found = _upright(gray, time.thread_time() + budget_s)
    return None if found is None else Part([row.reading for row in found[0]], found[1])


def part_boxes(gray: Gray) -> dict[str, tuple[FieldReading, list[Gray]]] | None:
    """Each pair's reading and its three boxes as cut (``training``), or ``None``."""
    found = _upright(gray, time.thread_time() + BUDGET_S)
    return None if found is None else {row.reading.name: (row.reading, row.images) for row in found[0]}


def _upright(gray: Gray, deadline: float) -> tuple[list[_Row], int] | None:
    """The pairs' rows of the photo as given or turned half round, whichever reads more pairs
    whose boxes and bubbles agree (then more clear bubble columns). Upside down, the boxes are
    found just as well, but the bubbles are above them: read below, the next pair's boxes and
    bubbles can pass for a number (TPS_222 of c1_page2_crops read 0 for 10, both agreeing).

    A photo stretched sideways (TPS_421: boxes half as wide again as tall, bubbles drawn out into
    ellipses) does not map onto the blank form by turning and scaling alone: where rows of boxes
    were found but not three pairs that agree either way up, it is squeezed back and searched
    again, while ``deadline`` (thread CPU time) allows."""
    given, boxed = _pairs(gray)
    # Turned only when the rows found as given do not all agree, or when the photo shows rows of
    # three boxes but no three pairs were found: a photo without any row of boxes (most photos
    # refused) is no part turned round, and reading it again would double its cost.
    if (given is None and not boxed) or _agreeing(given):
        return None if given is None else (given, 0)
    turned = _pairs(cv2.rotate(gray, cv2.ROTATE_180))[0]
    agreeing = [_agree_count(rows or []) for rows in (given, turned)]
    # Turned round only on clear evidence: an upright photo whose rows were not all found can,
    # turned, show a stray row of crossed boxes over blackened zeros (TPS_316).
    if turned is not None and agreeing[1] >= TURNED_AGREE and agreeing[1] > agreeing[0]:
        height, width = gray.shape[:2]
        for row in turned:
            quad = tuple((width - 1 - x, height - 1 - y) for x, y in row.reading.quad)
            row.reading = _renamed(row.reading, row.reading.name, quad)  # type: ignore[arg-type]
        return turned, 180
    # How wide the boxes are is no sure measure of the stretch (a tally grid's cells pass for
    # boxes, printings differ): squeezes are tried in turn until every pair agrees, the one with
    # the most agreeing pairs kept.
    for stretch in SQUEEZES if boxed else ():
        if _agreeing(given) or time.thread_time() > deadline:
            break
        again = _pairs(gray, stretch)[0]
        if again is not None and (given is None or _agree_count(again) > _agree_count(given)):
            given = again
    return None if given is None else (given, 0)


def _pairs(gray: Gray, stretch: float = 1.0) -> tuple[list[_Row] | None, bool]:
    """The three pairs' rows of the photo squeezed sideways ``stretch`` times, their readings
    named and placed in the photo as given (``None`` when not found), and whether the photo
    shows any row of three boxes at all."""
    factor = HEIGHT / gray.shape[0]
    across = factor / stretch
    resized = cv2.resize(
        gray, None, fx=across, fy=factor, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    )
    chosen, boxed = _found(_Photo(resized))
    if chosen is None:
        return None, boxed
    out = []
    for name, row in zip(PAIRS, chosen, strict=True):
        quad = tuple((x / across, y / factor) for x, y in row.reading.quad)
        named = _Row(row.target, _renamed(row.reading, name, quad), row.clear, row.edges, row.images)  # type: ignore[arg-type]
        out.append(named)
    return out, True


def _found(photo: _Photo) -> tuple[list[_Row] | None, bool]:
    """The three pairs' rows chosen (``None``: not found), and whether the photo shows any row of
    three boxes."""
    # Rows found by each way of finding boxes are kept for the next: a pair found only by its
    # sides can complete two found as holes. The search goes on while the pairs chosen do not
    # all agree: a row cut a few pixels off can read its bubbles right and its boxes wrong
    # (TPS_161: boxes 966, bubbles 56), where the next way finds the row itself. Boxes wider
    # than tall come only after square ones (a tally grid's cells are as wide, and where the
    # boxes are square its rows pass for pairs: TPS_019 read 0, 0, 0); last, boxes whose top or
    # bottom line the threshold lost, found by their sides.
    rows: list[_Row] = []
    chosen: list[_Row] | None = None
    boxed = False
    for find in (boxes_in, _wide_boxes, _boxes_by_their_sides):
        boxed = _search(photo, find(photo.gray), rows) or boxed
        chosen = _three_pairs(rows)
        if _agreeing(chosen):
            return chosen, boxed
    if any(row.reading.agreement for row in rows):
        # Boxes faded or bent out of shape: the pairs not found are looked for where the rows
        # found place them, and kept only where their bubbles are clear; then once more from
        # the rows found so (the next pair is nearer, its spacing surer, than two pairs away).
        # Once, from the rows found, and only where one of them is surely a pair (its boxes and
        # bubbles agree): each prediction reads dozens of places (a 2019 scan took 10 s so).
        predicted = _predicted(photo, rows)
        chosen = _three_pairs(rows + predicted)
        if not _agreeing(chosen) and predicted:
            chosen = _three_pairs(rows + predicted + _predicted(photo, predicted))
        if not _agreeing(chosen):
            # Last, where two sure pairs put the third: that is not a guess among spacings.
            completed = _three_pairs(rows + _completed(photo, rows))
            if chosen is None or _better(completed, chosen):
                chosen = completed
    return chosen, boxed


def _wide_boxes(photo: Gray) -> npt.NDArray[Any]:
    return boxes_in(photo, widest=WIDEST_BOX)


def _boxes_by_their_sides(photo: Gray) -> npt.NDArray[Any]:
    return boxes_by_sides(photo, widest=WIDEST_BOX)


def _search(photo: _Photo, boxes: npt.NDArray[Any], rows: list[_Row]) -> bool:
    """Add to ``rows`` the pairs' candidate rows that ``boxes`` place; whether any three of the
    boxes make a row."""
    if len(boxes) < 3 or len(boxes) > 400:
        return False
    threes = rows_of_three(boxes)
    if len(threes) > MAX_THREES:
        return True  # a pattern of boxes (a grid, a table), not three pairs
    # A row is read left to right, once: its ends may pass the pitch test one way only, against
    # the side of the box it starts from (TPS_149's pairs 1 and 2 only right to left).
    ends = {(i, j) if boxes[i, 0] < boxes[j, 0] else (j, i) for i, j in threes}
    rows += [
        row
        for i, j in sorted(ends)
        for target in _targets(boxes, i, j)
        if (row := photo.row(target)) is not None
    ]
    if not _agreeing(_three_pairs(rows)):
        # Handwriting that touches a box's border hides the box: rows of which two boxes show.
        rows += [
            row
            for target in _rows_of_two(boxes)
            if (row := photo.row(target)) is not None and _plausible(row)
        ]
    return bool(threes)


def _targets(boxes: npt.NDArray[Any], first: int, third: int) -> list[npt.NDArray[Any]]:
    """The first and third box centres of the row from box ``first`` to box ``third``; where its
    middle box is found off the midpoint (a box found by its sides can take a digit's stroke
    for one: TPS_149's third box 12 px short), also each end with the middle box's mirror."""
    centres = boxes[:, :2].astype(np.float32)
    a, b = centres[first], centres[third]
    out = [np.array([a, b])]
    half = (a + b) / 2
    distance = np.hypot(*(centres - half).T)
    distance[[first, third]] = np.inf
    middle = centres[int(distance.argmin())]
    if distance.min() > OFF_MIDDLE * float(np.hypot(*(b - a))) / 2:
        out += [np.array([a, 2 * middle - a]), np.array([2 * middle - b, b])]
    return out


def _agreeing(chosen: list[_Row] | None) -> bool:
    """Whether the pairs were found and every one's boxes and bubbles agree."""
    return chosen is not None and all(row.reading.agreement for row in chosen)


def _rows_of_two(boxes: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
    """First and third box centres of the rows two found boxes make, level and at a box pitch
    (1.1 to 1.6 sides) apart (the row to either side of them) or two apart (the middle box hidden)."""
    centres = boxes[:, :2].astype(np.float32)
    sides = boxes[:, 2].astype(np.float64)
    first, second = np.triu_indices(len(boxes), 1)  # every pair once, in combinations' order
    gap = np.abs(centres[second, 0] - centres[first, 0])
    side = (sides[first] + sides[second]) / 2
    level = (np.abs(centres[second, 1] - centres[first, 1]) <= 0.3 * gap) & (
        np.abs(sides[first] - sides[second]) <= 0.2 * side
    )
    near = level & (1.1 * side < gap) & (gap < 1.6 * side)
    apart = level & (2.2 * side < gap) & (gap < 3.2 * side)
    out = []
    for k in np.flatnonzero(near | apart):  # only the pairs that make a row are looked at again
        a, b = sorted((centres[first[k]], centres[second[k]]), key=lambda c: float(c[0]))
        d = b - a
        out += [np.array([a, a + 2 * d]), np.array([a - d, b])] if near[k] else [np.array([a, b])]
    return out[:MAX_TWO_ROWS]


def _predicted(photo: _Photo, rows: list[_Row]) -> list[_Row]:
    """Rows one and two pairs' spacing above and below each row found (of the two with the
    clearest bubbles): the first plausibly a pair's of the spacings tried, clearest bubbles first."""
    out: list[_Row] = []
    for row in sorted(rows, key=lambda r: (-r.reading.agreement, -r.clear))[:2]:
        along = (row.target[1] - row.target[0]) / (2 * row.pitch)
        down = np.array([-along[1], along[0]], np.float32)
        for sign in (-1, 1):
            for times in (1, 2):
                candidates: list[tuple[int, float]] = []
                for gap in np.arange(PAIR_GAP[0], PAIR_GAP[1] + 0.01, GAP_STEP):
                    target = row.target + sign * times * gap * row.pitch * down
                    if _inside(target, photo.shape):
                        clear = _clear_bubbles(photo.gray, target)
                        if clear >= 1:  # a number of one digit may have its units' bubble alone
                            candidates.append((clear, float(gap)))
                # The clearest bubbles first; where they tie, or their row is no pair's (it lies
                # half on the next pair's bubbles), the next spacing.
                for _, gap in sorted(candidates, key=lambda c: (-c[0], c[1]))[:TRIES]:
                    target = row.target + sign * times * gap * row.pitch * down
                    found = photo.row(target.astype(np.float32), min_clear=1)
                    if found is not None and _plausible(found):
                        out.append(found)
                        break
    return out


def _completed(photo: _Photo, rows: list[_Row]) -> list[_Row]:
    """The third pair's row where two rows whose boxes and bubbles agree lie one or two pairs'
    spacing apart down one column: beyond them at their own spacing, or halfway between them.
    The two rows carry the column's lean and the printing's spacing, which ``_predicted``, going
    square to one row at the blank form's range of spacings, misses by a few pixels: enough to cut
    the boxes off their borders on a slanted photo (TPS_140 of c1_page2_crops)."""
    sure = sorted((r for r in rows if r.reading.agreement), key=lambda r: (-r.clear, -r.edges))
    places: list[_Row] = []
    for row in sure:
        if all(np.hypot(row.x - p.x, row.y - p.y) > p.pitch for p in places):
            places.append(row)
    out: list[_Row] = []
    for a, b in combinations(sorted(places, key=lambda r: r.y), 2):
        if abs(a.pitch / b.pitch - 1) > 0.15 or abs(a.x - b.x) > a.pitch:
            continue
        apart = np.hypot(b.x - a.x, b.y - a.y) / a.pitch
        step = b.target - a.target
        if PAIR_GAP[0] <= apart <= PAIR_GAP[1]:
            targets, kind = [a.target - step, b.target + step], "beyond"
        elif 2 * PAIR_GAP[0] <= apart <= 2 * PAIR_GAP[1]:
            targets, kind = [a.target + step / 2], "between"
        else:
            continue
        for target in targets:
            found = _refined(photo, target) if _inside(target, photo.shape) else None
            # Boxes and bubbles that agree where two sure pairs put a third make it a pair
            # however faint its borders (blur or glare: TPS_126, _425); any other reading only
            # with its borders printed there.
            if found is not None and (
                found.reading.agreement
                or (found.edges >= MIN_EDGES and (kind == "between" or _plausible(found)))
            ):
                out.append(found)
    return out


def _refined(photo: _Photo, target: npt.NDArray[Any]) -> _Row | None:
    """The row read at ``target`` or up to a fifth of a pitch beside it: of those whose boxes and
    bubbles agree (if any), the one whose box borders show best; ``None`` when no row there has a
    clear bubble."""
    pitch = float(np.hypot(*(target[1] - target[0]))) / 2
    best: _Row | None = None
    for dx, dy in product(np.linspace(-0.2, 0.2, 5) * pitch, repeat=2):
        moved = (target + np.array([dx, dy], np.float32)).astype(np.float32)
        row = photo.row(moved, min_clear=1)
        if row is not None and (
            best is None or (row.reading.agreement, row.edges) > (best.reading.agreement, best.edges)
        ):
            best = row
    return best


def _better(new: list[_Row] | None, old: list[_Row]) -> bool:
    """Whether ``new`` has at least as many pairs whose boxes and bubbles agree as ``old``."""
    return new is not None and _agree_count(new) >= _agree_count(old)


def _agree_count(rows: list[_Row]) -> int:
    return sum(row.reading.agreement for row in rows)


def _plausible(row: _Row) -> bool:
    """A row placed by the others, not by its boxes, is a pair's only where every bubble column
    is clear, three printed box borders are where it puts them and the boxes do not contradict
    the bubbles (a row placed at the wrong spacing lands on a tally grid, or on the next pair's
    bubbles, whose printed digits the box reader would read)."""
    reading = row.reading
    if row.edges < MIN_EDGES:
        return False
    # Fewer clear columns only where the boxes and bubbles agree (crossed-out leading boxes).
    return reading.evidence is Evidence.AGREE or (
        row.clear == 3 and reading.evidence is not Evidence.CONFLICT
    )


def _inside(target: npt.NDArray[Any], shape: tuple[int, ...]) -> bool:
    return bool((target >= 0).all() and (target[:, 0] < shape[1]).all() and (target[:, 1] < shape[0]).all())


def _straight(photo: Gray, target: npt.NDArray[Any]) -> tuple[Gray, npt.NDArray[Any]] | None:
    """The first pair's neighbourhood (boxes and bubbles) straightened at SCALE, as the reader
    does, for the row whose first and third boxes are at ``target``; and the map from the
    neighbourhood's template pixels (``_near``) to the photo."""
    rects, bubbles = _near()
    source = np.array([[r[0] + r[2] / 2, r[1] + r[3] / 2] for r in (rects[0], rects[2])], np.float32)
    if target[1, 0] <= target[0, 0]:
        return None
    to_photo, _ = cv2.estimateAffinePartial2D(source, target)
    if to_photo is None or abs(np.arctan2(to_photo[1, 0], to_photo[0, 0])) > MAX_TURN:
        return None
    x1 = rects[2][0] + rects[2][2] + MARGIN
    y1 = max(b[1] + b[3] for column in bubbles for b in column) + MARGIN
    # Straight pixel (u, v) is template (u, v) / SCALE, which ``to_photo`` puts in the photo.
    from_straight = np.vstack([to_photo, [0, 0, 1]]) @ np.diag([1 / SCALE, 1 / SCALE, 1.0])
    size = (round(x1 * SCALE) + 1, round(y1 * SCALE) + 1)
    straight = cv2.warpAffine(
        photo,
        from_straight[:2],
        size,
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    return straight, to_photo


@functools.cache
def _near() -> tuple[tuple[Rect, ...], tuple[tuple[Rect, ...], ...]]:
    """The first pair's boxes and bubbles in template pixels from a corner ``MARGIN`` above and
    left of its first box: only that much of the page is straightened (the whole page's width
    left of the boxes made each place read cost twice as much). The corner lies on whole
    straightened pixels, so the pixels are those the whole page would have. Computed once: every
    place read straightens and cuts through it."""
    template = templates()[Page.PASLON]
    rects = template.fields[PAIRS[0]]
    step = Fraction(SCALE).limit_denominator(100).denominator  # 4 template pixels make 3 straight
    ox = max(0, (rects[0][0] - MARGIN) // step * step)
    oy = max(0, (rects[0][1] - MARGIN) // step * step)
    moved = tuple((x - ox, y - oy, w, h) for x, y, w, h in rects)
    bubbles = tuple(
        tuple((x - ox, y - oy, w, h) for x, y, w, h in column) for column in template.bubbles[PAIRS[0]]
    )
    return moved, bubbles


def _clear_bubbles(photo: Gray, target: npt.NDArray[Any]) -> int:
    """Bubble columns with one clearly blackened bubble under the boxes at ``target``, found as
    ``_field_row`` finds them (from where the boxes are cut), without reading the boxes."""
    placed = _straight(photo, target)
    if placed is None:
        return 0
    _, bubbles = _cut(placed[0])
    return sum(b is not None for b in bubbles)


def _cut(straight: Gray) -> tuple[fields.BoxCut, list[int | None]]:
    """The first pair's boxes cut from its straightened neighbourhood, and the bubbles under
    them (found from where the boxes are, not where the blank form has them)."""
    rects, columns = _near()
    cut = fields.cut_field(straight, rects, SCALE)
    shift = (cut.rects[0][0] - round(rects[0][0] * SCALE), cut.rects[0][1] - round(rects[0][1] * SCALE))
    return cut, fields.read_bubbles(straight, columns, SCALE, shift, BUBBLE_PITCH)


def _field_row(photo: Gray, target: npt.NDArray[Any], *, min_clear: int = CLEAR_COLUMNS) -> _Row | None:
    """The row whose first and third boxes are at ``target`` read as the first pair's field, if
    bubbles are under it."""
    placed = _straight(photo, target)
    if placed is None:
        return None
    straight, to_photo = placed
    cut, bubbles = _cut(straight)
    clear = sum(b is not None for b in bubbles)
    if clear < min_clear:
        return None  # most places tried (found boxes of the tally grid), before their boxes are read
    probs, empty = fields.read_boxes(cut.images)
    if all(empty):
        return None  # a pair's row has at least its units written (0 for no votes)
    quad = _quad(cut.rects, to_photo)
    reading = fields.field_reading(PAIRS[0], probs, empty, quad, bubbles)
    return _Row(target, reading, clear, _edges(straight, cut.rects), cut.images)


def _edges(page: Gray, rects: list[tuple[int, int, int, int]]) -> float:
    """The weakest box's border darkness against the paper just inside and outside it."""
    weakest = 255.0
    for x, y, w, h in rects:
        if x < 8 or y < 8 or x + w + 8 > page.shape[1] or y + h + 8 > page.shape[0]:
            return 0.0
        # Measured on the box's neighbourhood alone (8 px around it), not the whole field.
        ink = 255.0 - page[y - 8 : y + h + 8, x - 8 : x + w + 8].astype(np.float32)
        masks = []
        for inset, thickness in ((8, 3), (14, 2), (2, 2)):
            mask = np.zeros(ink.shape, np.uint8)
            cv2.rectangle(mask, (inset, inset), (w + 15 - inset, h + 15 - inset), 1, thickness)
            masks.append(mask.astype(bool))
        border, inside, outside = (float(ink[m].mean()) for m in masks)
        weakest = min(weakest, border - max(inside, outside))
    return weakest


def _quad(rects: list[tuple[int, int, int, int]], to_photo: npt.NDArray[Any]) -> Quad:
    x0, y0 = rects[0][0] / SCALE, rects[0][1] / SCALE
    x1, y1 = (rects[-1][0] + rects[-1][2]) / SCALE, (rects[-1][1] + rects[-1][3]) / SCALE
    corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
    mapped = corners @ to_photo[:, :2].T + to_photo[:, 2]
    a, b, c, d = ((round(float(x), 1), round(float(y), 1)) for x, y in mapped)
    return (a, b, c, d)


def _three_pairs(rows: list[_Row]) -> list[_Row] | None:
    """Three rows down one column at one pitch, the pairs' spacing apart, in order: the three
    with the most rows whose boxes and bubbles agree, then the most clear bubbles, then the
    straightest column. Rows within a pitch of each other are one pair's candidates, of which
    the ``CANDIDATES`` with the clearest bubbles are tried: a row cut half a box low can read the
    same number and more clear bubbles, yet break the column's spacing (TPS_050).

    A row cut one box aside (the subtotals' column taken for a box) can read boxes and bubbles
    that agree (TPS_213 of c1_page2_crops: 405 for 55), so the column must run straight through
    the three rows and across their boxes, as the printed form's does."""
    places: list[list[_Row]] = []
    for row in sorted(rows, key=lambda r: (-r.clear, -r.reading.agreement, -r.edges)):
        near = next((p for p in places if np.hypot(row.x - p[0].x, row.y - p[0].y) <= p[0].pitch), None)
        if near is None:
            places.append([row])
        elif len(near) < CANDIDATES:
            near.append(row)
    places.sort(key=lambda p: p[0].y)
    best: tuple[tuple[int, int, float], list[_Row]] | None = None
    for three in combinations(places, 3):
        for trio in map(list, product(*three)):
            pitch = trio[0].pitch
            gaps = [
                np.hypot(b.x - a.x, b.y - a.y) / pitch for a, b in pairwise(trio)
            ]  # along a leaning column
            aligned = all(abs(r.x - trio[0].x) < pitch and abs(r.pitch / pitch - 1) < 0.15 for r in trio)
            # (a tenth of a pitch of slack: rows placed at the range's ends by _predicted)
            if not aligned or not all(PAIR_GAP[0] - 0.1 <= g <= PAIR_GAP[1] + 0.1 for g in gaps):
                continue
            bend = _bend(trio)
            if bend > MAX_BEND:
                continue
            score = (sum(r.reading.agreement for r in trio), sum(r.clear for r in trio), -bend)
            if best is None or score > best[0]:
                best = (score, trio)
    return None if best is None else best[1]


def _bend(trio: list[_Row]) -> float:
    """How far the three rows are from one straight column across their boxes: the middle row's
    distance from the line through the others (in box pitches) plus the cosine between that line
    and the first row's boxes (0 when square to them)."""
    first, middle, last = (np.array([r.x, r.y]) for r in trio)
    down = last - first
    length = float(np.hypot(*down))
    aside = middle - first
    off = abs(float(down[0] * aside[1] - down[1] * aside[0])) / length / trio[0].pitch
    along = trio[0].target[1] - trio[0].target[0]
    lean = abs(float(np.dot(along, down))) / float(np.hypot(*along)) / length
    return off + lean


def _renamed(reading: FieldReading, name: str, quad: Quad) -> FieldReading:
    return msgspec.structs.replace(reading, name=name, quad=quad)
