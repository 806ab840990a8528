"""What the pages call things, in Bahasa Indonesia: the form's fields and the states of a TPS and a
page. One definition for the server's templates and the pages' scripts (sent as JSON)."""

from __future__ import annotations

from ocr.form import FIELDS, PAIRS, VOTE_FIELDS

_STEMS = {
    "pemilih_dpt": "Pemilih terdaftar dalam DPT",
    "pengguna_dpt": "Pengguna hak pilih dalam DPT",
    "pengguna_dptb": "Pengguna hak pilih dalam DPTb",
    "pengguna_non_dpt": "Pengguna hak pilih tidak terdaftar (DPK)",
    "pengguna_total": "Jumlah pengguna hak pilih",
    "disabilitas": "Pemilih disabilitas",
}
_SEX = {"l": "laki-laki", "p": "perempuan", "j": "jumlah"}
_NAMED = {
    "surat_suara_diterima": "Surat suara diterima",
    "surat_suara_digunakan": "Surat suara digunakan",
    "surat_suara_rusak": "Surat suara rusak atau keliru coblos",
    "surat_suara_sisa": "Surat suara tidak digunakan",
    "suara_sah": "Jumlah suara sah",
    "suara_tidak_sah": "Jumlah suara tidak sah",
    "suara_total": "Jumlah suara sah dan tidak sah",
    **{pair: f"Suara paslon {n:02d}" for n, pair in enumerate(PAIRS, start=1)},
}


def _field(name: str) -> str:
    if name in _NAMED:
        return _NAMED[name]
    stem, _, sex = name.rpartition("_")
    return f"{_STEMS[stem]} ({_SEX[sex]})"


FIELD = {name: _field(name) for names in FIELDS.values() for name in names}
"""Every field of the form, in page order."""


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
