"""Reads C.Hasil-PPWP photos: image bytes in, typed readings out. Knows nothing of HTTP or SQL.

The service needs three calls: ``inspect`` when a photo is uploaded (its format and size from
the header, or ``Unreadable`` with the reason), ``read_page`` for each photo (a ``PageReading``
or a ``Rejected`` with the reason to retake it) and ``decode`` for the pages of one TPS
together. The form's fields and arithmetic live in ``ocr.form`` for the service's checks.
``crop_field`` cuts a field's boxes from a photo (or from its ``working_copy``, made once) for the
officer who reviews its reading.
``single_threaded`` sets up a process that reads on one core of its own; ``reading_pool`` starts
such processes.
"""

from ocr.crop import crop_field, working_copy
from ocr.decode import DecodedField, TpsDecoding, decode
from ocr.imagefile import ImageInfo, Unreadable, inspect
from ocr.reader import VERSION, read_page
from ocr.reading import FieldReading, Outcome, PageReading, Rejected, Retake
from ocr.threads import reading_pool, single_threaded

__all__ = [
    "VERSION",
    "DecodedField",
    "FieldReading",
    "ImageInfo",
    "Outcome",
    "PageReading",
    "Rejected",
    "Retake",
    "TpsDecoding",
    "Unreadable",
    "crop_field",
    "decode",
    "inspect",
    "read_page",
    "reading_pool",
    "single_threaded",
    "working_copy",
]
