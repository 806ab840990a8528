"""Score the reader against labelled photos (``rekap ocr eval``).

Labels follow ``images_index.csv``: one row per photo with its TPS's numbers; photos of one TPS
are decoded together. The reader is never told a photo's page. Where the truth of a photo is
known, it is used to score the reader: the true page (a ``page`` column, as ``rekap ocr synth``
writes, or a ``file,page`` file for real photos) and, for synthetic photos, what the camera did
(``ocr.synth.pages.TRUTH_HEADER``), against which each refusal's reason is checked.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import msgspec

from ocr.decode import TpsDecoding, decode
from ocr.form import FIELDS, FORM, PAGE_OF, VOTE_FIELDS, Page
from ocr.publication import conflicts, verdict
from ocr.reader import read_page
from ocr.reading import Outcome, PageReading, Rejected, Retake
from ocr.threads import reading_pool

LABEL_COLUMNS = {
    "suara_paslon_1": "paslon_01",
    "suara_paslon_2": "paslon_02",
    "suara_paslon_3": "paslon_03",
    "suara_sah": "suara_sah",
    "suara_tidak_sah": "suara_tidak_sah",
    "suara_total": "total_suara",
}


class Disagreement(msgspec.Struct, frozen=True):
    tps: str
    file: str
    field: str
    label: int | None
    value: int | None
    """The decoder's choice."""
    read: int | None
    """What the field's own boxes read."""
    accepted: bool
    reason: str


BLURRY_SIGMA = 2.0
"""Gaussian blur (photo pixels) from which a refusal as ``blurry`` is true of a photo: the real
photos blurred with σ = 2 px fall to the reader's sharpness threshold (``ocr.quality``)."""


class Truth(msgspec.Struct, frozen=True):
    """What is known of one photo; ``None`` where it is not known (real photos: the page at most)."""

    page: int | None = None
    form: str = FORM
    """The form the photo shows (``C.HASIL-PPWP`` unless the pages file says another)."""
    blur_sigma: float | None = None
    fields_outside: int | None = None
    corners_visible: int | None = None

    @property
    def camera_known(self) -> bool:
        return self.blur_sigma is not None and self.fields_outside is not None

    def justifies(self, reason: Retake) -> bool | None:
        """Whether ``reason`` is true of the photo; ``None`` when the truth at hand cannot tell."""
        if reason == Retake.CUT_OFF:
            return None if self.fields_outside is None else self.fields_outside > 0
        if reason == Retake.BLURRY:
            return None if self.blur_sigma is None else self.blur_sigma >= BLURRY_SIGMA
        if reason == Retake.OTHER_FORM and self.form != FORM:
            return True
        if reason in (Retake.NO_FORM, Retake.OTHER_FORM):
            # A photo whose true page is known is a photo of that page of this form.
            return None if self.page is None else False
        # The synthetic camera writes whole JPEGs of 1100 px or more, lit well above ``dark``.
        return False if self.camera_known else None


class Refusal(msgspec.Struct, frozen=True):
    file: str
    reason: Retake
    detail: str
    justified: bool | None
    """Whether the reason is true of the photo by its truth; ``None``: not known."""
    truth: Truth | None


class PageMistake(msgspec.Struct, frozen=True):
    file: str
    page: int
    """The true page."""
    found: int


class Evaluation(msgspec.Struct):
    photos: int
    tps: int
    page_id_accuracy: float
    """Share of photos read as their true page (any page, where the true page is not known)."""
    rejected: dict[str, str]
    field_accuracy: float
    """Share of the labelled vote fields whose decoded value equals the label."""
    read_accuracy: float
    """The same for the boxes' own reading, before the arithmetic was used."""
    fields_compared: int
    auto_accept_rate: float
    """Share of TPS whose labelled vote fields were all accepted automatically."""
    auto_accepted_wrong: int
    """Labelled fields (votes and page 1) accepted automatically with a value not the label's."""
    auto_publish_rate: float
    """Share of TPS the worker would publish without a person (``ocr.publication.verdict``: three
    pages read, every field accepted, no blocking rule broken; the DPT from a ``dpt`` column)."""
    published_wrong: int
    """TPS that would be published with a value differing from a label."""
    page1_field_accuracy: float | None
    """Share of page-1 labels (``--page1``) the decoder's value equals; ``None`` without them."""
    page1_fields_compared: int
    accepted_by: dict[str, int]
    """Accepted labelled vote fields by what carried them (``DecodedField.basis``)."""
    not_accepted: dict[str, int]
    """Per field, the TPS where it was not accepted (or its page not read): what holds publication."""
    held_by_rule: dict[str, int]
    """Per blocking rule, the TPS it held."""
    ms_per_page_median: float
    disagreements: list[Disagreement]
    pages_identified: int
    other_form_photos: int
    """Photos of another ballot's form (by the pages file), apart from ``photos``."""
    other_form_refused: int
    """Of those, refused as ``other_form``: what the reader should do with them."""
    wrong_page: int
    """Photos read as a page other than their true one."""
    page_mistakes: list[PageMistake]
    refusals: list[Refusal]
    refusals_unjustified: int
    """Refusals whose reason is, by the photo's truth, false of it."""


def load_labels(path: Path) -> dict[str, list[dict[str, str]]]:
    """``images_index.csv`` rows by TPS; a ``tps,suara_paslon_1..3`` file (``c1_page2_crops``:
    one photo of page 2's vote part per TPS, named ``<tps>.jpg``) is read as such rows."""
    by_tps: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if "kode_tps" not in row and "tps" in row:
                row = {
                    "kode_tps": row["tps"],
                    "file": f"{row['tps']}.jpg",
                    "page": str(Page.PASLON.value),
                    **{LABEL_COLUMNS[name]: row.get(name, "") for name in FIELDS[Page.PASLON]},
                }
            by_tps[row["kode_tps"]].append(row)
    return by_tps


class LabelError(ValueError):
    """A labels or pages file that does not say what this module expects."""


def load_pages(path: Path) -> dict[str, tuple[Page, str]]:
    """The true page and form of each photo from a ``file,page[,form]`` CSV
    (``tests/resources/real_pages.csv``); the form is C.HASIL-PPWP where not given."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if not {"file", "page"} <= set(reader.fieldnames or ()):
            raise LabelError(f"{path}: needs the columns file,page")
        return {row["file"]: (_page(row["page"], path), row.get("form") or FORM) for row in reader}


def _page(raw: str, source: Path) -> Page:
    try:
        return Page(int(raw))
    except ValueError:
        raise LabelError(f"{source}: page {raw!r} is not 1, 2 or 3") from None


def truth_of(row: dict[str, str], pages: dict[str, tuple[Page, str]], source: Path) -> Truth | None:
    """The photo's truth from its label row's extra columns and the pages file, if any."""
    page, form = pages.get(row["file"], (None, FORM))
    if page is None and (raw := (row.get("page") or "").strip()):
        page = _page(raw, source)
    blur, outside, corners = (
        (row.get(c) or "").strip() for c in ("blur_sigma", "fields_outside", "corners_visible")
    )
    if page is None and not (blur or outside or corners):
        return None
    return Truth(
        page=page.value if page is not None else None,
        form=form,
        blur_sigma=float(blur) if blur else None,
        fields_outside=int(outside) if outside else None,
        corners_visible=int(corners) if corners else None,
    )


def _label(row: dict[str, str], field: str) -> int | None:
    raw = row.get(LABEL_COLUMNS[field], "").strip()
    return int(raw) if raw.isdigit() else None


EMPTY = "-"
"""In a page-1 labels file: nothing written in the field's boxes (X or blank), which counts 0."""


def load_page1(path: Path) -> dict[str, dict[str, int]]:
    """``kode_tps`` and page 1's fields (``tests/resources/page1_labels.csv``), read by eye."""
    out: dict[str, dict[str, int]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if "kode_tps" not in (reader.fieldnames or ()):
            raise LabelError(f"{path}: needs a kode_tps column")
        for line, row in enumerate(reader, start=2):
            values = {}
            for name in FIELDS[Page.ADMINISTRASI]:
                raw = (row.get(name) or "").strip()
                if raw and raw != EMPTY and not raw.isdigit():
                    raise LabelError(f"{path}:{line}: {name} {raw!r} is neither a number nor {EMPTY}")
                if raw:
                    values[name] = 0 if raw == EMPTY else int(raw)
            out[row["kode_tps"]] = values
    return out


def _dpt(row: dict[str, str]) -> int | None:
    """The TPS's registered DPT from the labels; ``None`` when empty or 0: Sirekap's scrape writes
    0 where it held no DPT (3404062001001, whose form lists 255), and no TPS registers no voter."""
    raw = (row.get("dpt") or "").strip()
    return int(raw) or None if raw.isdigit() else None


def timed_read(path: Path) -> tuple[Outcome, float]:
    """A photo's outcome and the milliseconds ``read_page`` took (reading the file not counted)."""
    data = path.read_bytes()
    start = time.perf_counter()
    outcome = read_page(data)
    return outcome, (time.perf_counter() - start) * 1000


def evaluate(
    images: Path,
    labels: Path,
    *,
    true_pages: Path | None = None,
    page1: Path | None = None,
    processes: int = 1,
) -> Evaluation:
    """Read every labelled photo; ``true_pages`` (``file,page``) gives photos' true pages and
    wins over a ``page`` column of the labels; ``page1`` gives page 1's numbers per TPS.
    ``processes`` read photos at once, one thread each."""
    by_tps = load_labels(labels)
    page1_labels = load_page1(page1) if page1 is not None else {}
    known_pages = load_pages(true_pages) if true_pages is not None else {}
    files = [images / row["file"] for _, rows in sorted(by_tps.items()) for row in rows]
    with reading_pool(processes) as pool:
        read = dict(zip(files, pool.map(timed_read, files), strict=True))
    times: list[float] = []
    rejected: dict[str, str] = {}
    refusals: list[Refusal] = []
    mistakes: list[PageMistake] = []
    identified = photos = compared = right = read_right = wrong_accepts = accepted_tps = 0
    published = published_wrong = page1_compared = page1_right = 0
    not_accepted: Counter[str] = Counter()
    accepted_by: Counter[str] = Counter()
    held_by: Counter[str] = Counter()
    other_forms = other_forms_refused = 0
    disagreements: list[Disagreement] = []
    for tps, rows in sorted(by_tps.items()):
        pages: list[PageReading] = []
        source: dict[str, str] = {}
        for row in rows:
            truth = truth_of(row, known_pages, true_pages or labels)
            outcome, ms = read[images / row["file"]]
            if truth is not None and truth.form != FORM:
                # Another ballot's form photographed by mistake: right only when refused as such.
                other_forms += 1
                other_forms_refused += isinstance(outcome, Rejected) and outcome.reason == Retake.OTHER_FORM
                continue
            photos += 1
            times.append(ms)
            if isinstance(outcome, Rejected):
                rejected[row["file"]] = f"{outcome.reason}: {outcome.detail or outcome.message}"
                justified = truth.justifies(outcome.reason) if truth is not None else None
                refusals.append(Refusal(row["file"], outcome.reason, outcome.detail, justified, truth))
                continue
            if truth is not None and truth.page is not None and truth.page != outcome.page.value:
                mistakes.append(PageMistake(row["file"], truth.page, outcome.page.value))
            else:
                identified += 1
            pages.append(outcome)
            for f in outcome.fields:
                source[f.name] = row["file"]
        decoded = decode(pages)
        accepted_tps += _score_tps(tps, rows[0], decoded, source, disagreements)
        for field in VOTE_FIELDS:
            label = _label(rows[0], field)
            if label is None:
                continue
            compared += 1
            got = decoded.fields.get(field)
            read_right += got is not None and (got.read or 0) == label
            if got is not None and got.accepted:
                accepted_by[got.basis] += 1
            if got is not None and got.value == label:
                right += 1
            elif got is not None and got.accepted:
                wrong_accepts += 1
        for field, label in page1_labels.get(tps, {}).items():
            page1_compared += 1
            got = decoded.fields.get(field)
            page1_right += got is not None and got.value == label
            wrong_accepts += got is not None and got.value != label and got.accepted
        decision = verdict(decoded, conflicts(pages), _dpt(rows[0]))
        not_accepted.update([*decision.unread, *decision.unclear])
        held_by.update(decision.broken)
        if decision.publish:
            published += 1
            known = {**{f: _label(rows[0], f) for f in VOTE_FIELDS}, **page1_labels.get(tps, {})}
            published_wrong += any(
                label is not None and decoded.fields[f].value != label for f, label in known.items()
            )
    return Evaluation(
        photos=photos,
        tps=len(by_tps),
        page_id_accuracy=round(identified / photos, 4) if photos else 0.0,
        rejected=rejected,
        field_accuracy=round(right / compared, 4) if compared else 0.0,
        read_accuracy=round(read_right / compared, 4) if compared else 0.0,
        fields_compared=compared,
        auto_accept_rate=round(accepted_tps / len(by_tps), 4) if by_tps else 0.0,
        auto_accepted_wrong=wrong_accepts,
        auto_publish_rate=round(published / len(by_tps), 4) if by_tps else 0.0,
        published_wrong=published_wrong,
        page1_field_accuracy=round(page1_right / page1_compared, 4) if page1_compared else None,
        page1_fields_compared=page1_compared,
        accepted_by=dict(accepted_by.most_common()),
        not_accepted=dict(not_accepted.most_common()),
        held_by_rule=dict(held_by.most_common()),
        ms_per_page_median=round(statistics.median(times), 1) if times else 0.0,
        disagreements=disagreements,
        pages_identified=identified,
        other_form_photos=other_forms,
        other_form_refused=other_forms_refused,
        wrong_page=len(mistakes),
        page_mistakes=mistakes,
        refusals=refusals,
        refusals_unjustified=sum(r.justified is False for r in refusals),
    )


def _score_tps(
    tps: str, row: dict[str, str], decoded: TpsDecoding, source: dict[str, str], out: list[Disagreement]
) -> int:
    """Record the TPS's disagreements; 1 when every labelled field was accepted automatically."""
    all_accepted = True
    for field in VOTE_FIELDS:
        label = _label(row, field)
        if label is None:
            continue
        got = decoded.fields.get(field)
        if got is None or not got.accepted:
            all_accepted = False
        if got is None:
            out.append(
                Disagreement(
                    tps, "", field, label, None, None, False, f"page {PAGE_OF[field].value} not read"
                )
            )
        elif got.value != label:
            out.append(
                Disagreement(
                    tps, source.get(field, ""), field, label, got.value, got.read, got.accepted, got.reason
                )
            )
    return int(all_accepted)
