"""What the pages call things, in Bahasa Indonesia: the form's fields and the states of a TPS and a
page. One definition for the server's templates and the pages' scripts (sent as JSON)."""

from __future__ import annotations

from ocr.form import LABEL, VOTE_FIELDS

FIELD = LABEL
"""Every field of the form, in page order (``ocr.form.LABEL``)."""


def label(name: str) -> str:
    """How the form labels a field, for messages (``pengguna_total_j``: "Jumlah pengguna hak pilih
    (jumlah)"); a name that is no field of the form is shown quoted, as it was sent."""
    return FIELD.get(name, f"'{name}'")


ACTOR = {
    "intake": "sistem (penerimaan foto)",
    "ocr": "sistem (pembacaan foto)",
    "checks": "sistem (pemeriksaan angka)",
}
"""The system's parts that act on a TPS, as the public history names them."""

VOTES_FIRST = [*VOTE_FIELDS, *(name for name in FIELD if name not in VOTE_FIELDS)]
"""The order a TPS's published numbers are shown in: the votes, then the administration."""

STATE = {
    "missing": "Belum ada foto",
    "received": "Diterima, menunggu dibaca",
    "reading": "Sedang dibaca",
    "read": "Terbaca",
    "retake": "Perlu foto ulang",
    "failed": "Gagal dibaca",
    "needs_review": "Perlu ditinjau petugas",
    "verified": "Terverifikasi",
    "reviewed": "Menunggu persetujuan petugas kedua",
    "published": "Dipublikasikan",
    "new_photo": "Foto baru menunggu keputusan petugas",
}
"""States of a TPS (``TpsState``), a page (``PageState``) and a photo (``PhotoState``)."""
