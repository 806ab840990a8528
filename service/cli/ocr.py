"""``rekap ocr`` (read, eval, synth, train, templates) and ``rekap bench ocr``."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from ocr import digit_check, keypoints, templates
from ocr.decode import decode
from ocr.evaluate import LabelError, evaluate
from ocr.reader import read_page
from ocr.reading import PageReading, Rejected
from ocr.synth.pages import generate
from ocr.synth.rephoto import rephotograph_folder
from service.cli.report import print_struct
from service.errors import InvalidInput
from service.settings import Settings


def register(commands: Any) -> None:
    ocr = commands.add_parser("ocr", help="read C.Hasil photos").add_subparsers(
        dest="ocr_command", required=True, metavar="ACTION"
    )
    read = ocr.add_parser(
        "read", help="read photos; the pages of one TPS given together are decoded together"
    )
    read.add_argument("photos", type=Path, nargs="+", metavar="PHOTO")
    read.add_argument("--json", action="store_true", help="print the full readings as JSON")
    read.set_defaults(run=run_read)

    ev = ocr.add_parser("eval", help="score the reader against labelled photos (images_index.csv format)")
    ev.add_argument("--images", type=Path, required=True, metavar="DIR")
    ev.add_argument("--labels", type=Path, required=True, metavar="CSV")
    ev.add_argument(
        "--processes", type=int, default=1, metavar="N", help="photos read at once (one core each)"
    )
    ev.add_argument(
        "--pages",
        type=Path,
        metavar="CSV",
        help="file,page: the true page of photos (e.g. tests/resources/real_pages.csv); "
        "a photo counts as identified only when read as that page",
    )
    ev.add_argument(
        "--page1",
        type=Path,
        metavar="CSV",
        help="kode_tps and page 1's fields read by eye (e.g. tests/resources/page1_labels.csv)",
    )
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(run=run_eval)

    dg = ocr.add_parser(
        "digits", help="the digit model on labelled box crops (file,label; a folder or .tar.gz)"
    )
    dg.add_argument("--images", type=Path, required=True, metavar="DIR|TAR")
    dg.add_argument("--labels", type=Path, required=True, metavar="CSV")
    dg.add_argument("--json", action="store_true")
    dg.set_defaults(run=run_digits)

    again = ocr.add_parser(
        "rephotograph", help="real page photos photographed again (table, slant, light, shadow, blur, JPEG)"
    )
    again.add_argument("--images", type=Path, required=True, metavar="DIR")
    again.add_argument("--out", type=Path, required=True, metavar="DIR")
    again.add_argument("--seed", type=int, default=1)
    again.set_defaults(run=run_rephotograph)

    synth = ocr.add_parser("synth", help="generate synthetic phone photos of filled forms, with labels.csv")
    synth.add_argument("--out", type=Path, required=True, metavar="DIR")
    synth.add_argument("--count", type=int, default=30, help="photos (three per TPS)")
    synth.add_argument("--seed", type=int, default=1)
    synth.add_argument("--strength", type=float, default=1.0, help="distortion, 0 (flat scan) to 1.5 (harsh)")
    synth.set_defaults(run=run_synth)

    train = ocr.add_parser(
        "train", help="train the digit model (installs PyTorch on first use) and write ocr/data/digits.onnx"
    )
    train.add_argument("--synthetic", type=int, default=6000, help="synthetic boxes added to the real crops")
    train.add_argument(
        "--page1",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "tests" / "resources" / "page1_labels.csv",
        metavar="CSV",
        help="page 1's numbers read by eye, for the boxes of c1_form_images's page 1",
    )
    train.add_argument("--seed", type=int, default=1)
    train.add_argument(
        "--out", type=Path, default=None, help="where to write the weights (default: the committed model)"
    )
    train.set_defaults(run=run_train)

    tpl = ocr.add_parser(
        "templates", help="rebuild ocr/data/templates.json and keypoints.npz from the blank form's renderings"
    )
    tpl.add_argument("--out", type=Path, default=templates.TEMPLATES_FILE)
    tpl.set_defaults(run=run_templates)


def _existing(path: Path, what: str) -> Path:
    if not path.exists():
        raise InvalidInput(f"{what} {path} does not exist")
    return path


def run_read(settings: Settings, args: argparse.Namespace) -> int:
    outcomes = {str(p): read_page(_existing(p, "photo").read_bytes()) for p in args.photos}
    pages = [o for o in outcomes.values() if isinstance(o, PageReading)]
    decoded = decode(pages) if pages else None
    if args.json:
        print(msgspec.json.encode({"photos": outcomes, "decoded": decoded}).decode())
        return 0
    for path, outcome in outcomes.items():
        if isinstance(outcome, Rejected):
            print(
                f"{path}: retake ({outcome.reason}): {outcome.message}"
                + (f" [{outcome.detail}]" if outcome.detail else "")
            )
        else:
            confidence, turned = outcome.page_confidence, outcome.rotated
            print(f"{path}: page {outcome.page.value} (confidence {confidence:.2f}, turned {turned}°)")
    if decoded is not None:
        for field in decoded.fields.values():
            status = "accepted" if field.accepted else f"review: {field.reason}"
            print(f"  {field.name:24} {field.value!s:>5}  p={field.confidence:.3f}  {status}")
    return 0 if pages else 1


_JUSTIFIED = {True: "true of the photo", False: "NOT true of the photo", None: "truth unknown"}


def run_digits(settings: Settings, args: argparse.Namespace) -> int:
    try:
        result = digit_check.check(_existing(args.images, "crops"), _existing(args.labels, "labels file"))
    except digit_check.CropError as error:
        raise InvalidInput(str(error)) from error
    if result.crops == 0:
        raise InvalidInput(f"no crop of {args.labels} was found in {args.images}")
    print_struct(result, args.json)
    return 0


def run_rephotograph(settings: Settings, args: argparse.Namespace) -> int:
    count = rephotograph_folder(_existing(args.images, "folder"), args.out, args.seed)
    print(f"{args.out}: {count} photos")
    return 0


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    pages = _existing(args.pages, "pages file") if args.pages is not None else None
    try:
        if not 1 <= args.processes <= 64:
            raise InvalidInput("--processes must be 1 to 64")
        result = evaluate(
            _existing(args.images, "folder"),
            _existing(args.labels, "labels file"),
            true_pages=pages,
            page1=_existing(args.page1, "page-1 labels file") if args.page1 is not None else None,
            processes=args.processes,
        )
    except LabelError as error:
        raise InvalidInput(str(error)) from error
    if args.json:
        print(msgspec.json.encode(result).decode())
    else:
        summary = msgspec.to_builtins(result)
        del summary["disagreements"], summary["refusals"]
        print(msgspec.json.format(msgspec.json.encode(summary)).decode())
        for r in result.refusals:
            print(f"{r.file}: refused ({r.reason}: {r.detail}), {_JUSTIFIED[r.justified]}")
        for d in result.disagreements:
            verdict = "ACCEPTED" if d.accepted else d.reason
            print(f"{d.tps} {d.field}: label {d.label}, value {d.value}, read {d.read} ({verdict})")
    return 0


def run_synth(settings: Settings, args: argparse.Namespace) -> int:
    if args.count < 1:
        raise InvalidInput("--count must be at least 1")
    try:
        labels = generate(
            _existing(settings.forms_path, "blank form folder"),
            args.out,
            args.count,
            args.seed,
            strength=args.strength,
        )
    except FileNotFoundError as error:
        raise InvalidInput(str(error)) from error
    print(f"{args.count} photos and {labels}")
    return 0


TRAIN_EXTRA = ("torch==2.13.0", "onnx==1.23.2")
"""What training alone needs (the ``train`` extra of pyproject.toml), installed on first use."""


def run_train(settings: Settings, args: argparse.Namespace) -> int:
    from ocr import digits

    for folder in ("c1_handwritten_digits", "c1_digits_ds9", "c1_form_images"):
        _existing(settings.data_path / folder, "digit crops")
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("onnx") is None:
        print(f"rekap: installing {' '.join(TRAIN_EXTRA)} for training", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *TRAIN_EXTRA], check=True)
    from ocr.training import train

    report = train(
        settings.data_path,
        _existing(args.page1, "page-1 labels file"),
        synthetic=args.synthetic,
        seed=args.seed,
        out=args.out or digits.MODEL_FILE,
    )
    print(msgspec.json.encode(report).decode())
    return 0


def run_templates(settings: Settings, args: argparse.Namespace) -> int:
    try:
        pages = templates.build(_existing(settings.forms_path, "blank form folder"))
    except templates.TemplateError as error:
        raise InvalidInput(str(error)) from error
    templates.write(pages, args.out)
    print(f"{args.out}: {sum(len(p.fields) for p in pages)} fields on {len(pages)} pages")
    described = keypoints.build(settings.forms_path)
    keypoints.write(described, args.out.parent / keypoints.KEYPOINTS_FILE.name)
    print(f"{args.out.parent / keypoints.KEYPOINTS_FILE.name}: keypoints of the blank pages")
    return 0
