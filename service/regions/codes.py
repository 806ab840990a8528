"""Region codes: KPU's Kemendagri-style codes without dots, one length per level."""

from __future__ import annotations

from enum import IntEnum

from service.errors import InvalidInput


class Level(IntEnum):
    """Depth in the hierarchy; 0 is the nation (KPU RI), which has no code."""

    NASIONAL = 0
    PROVINSI = 1
    KABKOTA = 2
    KECAMATAN = 3
    DESA = 4
    TPS = 5

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def code_length(self) -> int:
        return CODE_LENGTHS[self]

    @property
    def title(self) -> str:
        """How officers call the level, for messages."""
        return _TITLES[self]


OVERSEAS = "99"
CODE_LENGTHS = {
    Level.NASIONAL: 0,
    Level.PROVINSI: 2,
    Level.KABKOTA: 4,
    Level.KECAMATAN: 6,
    Level.DESA: 10,
    Level.TPS: 13,
}
_LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}
_TITLES = {
    Level.NASIONAL: "nasional",
    Level.PROVINSI: "provinsi",
    Level.KABKOTA: "kabupaten/kota",
    Level.KECAMATAN: "kecamatan",
    Level.DESA: "desa/kelurahan",
    Level.TPS: "TPS",
}


class InvalidCode(InvalidInput):
    """``alasan`` tells the officer what is wrong with the code; ``reason`` tells operators (and an
    import's report of bad lines) in English."""

    def __init__(self, code: str, reason: str, alasan: str) -> None:
        super().__init__(
            f"Kode '{code}' bukan kode wilayah yang benar: {alasan}",
            detail=f"{code!r} is not a region code: {reason}",
        )
        self.code = code
        self.reason = reason


def level_of(code: str) -> Level:
    """The level a code belongs to, or ``InvalidCode`` saying what is wrong with it.

    Domestic codes are digits; KPU's overseas codes (under 99, "Luar Negeri") also use capitals.
    """
    overseas = code.startswith(OVERSEAS) and code.isascii() and code.isalnum() and code.isupper()
    if not (code.isascii() and code.isdigit()) and not overseas:
        raise InvalidCode(
            code,
            "a code has digits only, without dots (e.g. 3404072001)",
            "kode hanya berisi angka, tanpa titik (contoh 3404072001).",
        )
    level = _LEVEL_BY_LENGTH.get(len(code))
    if level is None or level is Level.NASIONAL:
        raise InvalidCode(
            code,
            f"it has {len(code)} digits; provinsi codes have 2, kabupaten/kota 4, "
            "kecamatan 6, desa/kelurahan 10 and TPS 13",
            f"panjangnya {len(code)} angka, padahal kode provinsi 2 angka, kabupaten/kota 4, "
            "kecamatan 6, desa/kelurahan 10 dan TPS 13.",
        )
    return level


def tps_code(code: str) -> str:
    """The code, when it is a TPS's; ``InvalidInput`` naming what it is otherwise."""
    level = level_of(code)
    if level is not Level.TPS:
        raise InvalidInput(
            f"Kode {code} adalah kode {level.title}, bukan kode TPS: kode TPS terdiri dari 13 angka.",
            detail=f"{code} is not a TPS code: a TPS has 13 digits",
        )
    return code
