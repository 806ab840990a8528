"""What the OpenAPI document shows for the public endpoints: the shape of each answer (the
handlers send pre-encoded bytes, so the shape is named here) with an example, and the errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from service.http.errors import ErrorBody
from service.public.cache import Change
from service.public.history import STEP
from service.public.results import Candidate, Child, Progress, PublicPhoto, RegionResult, TpsResult
from service.results.states import TpsState
from service.results.store import Event

PAIRS = [
    (1, 100025, "H. ANIES RASYID BASWEDAN, Ph.D. - Dr. (H.C.) H. A. MUHAIMIN ISKANDAR"),
    (2, 100026, "H. PRABOWO SUBIANTO - GIBRAN RAKABUMING RAKA"),
    (3, 100027, "H. GANJAR PRANOWO, S.H., M.I.P. - Prof. Dr. H. M. MAHFUD MD"),
]
VOTES = [31, 101, 63]
NUMBERS = {"suara_paslon_1": 31, "suara_paslon_2": 101, "suara_paslon_3": 63, "suara_sah": 195}
JSON = MediaType.JSON.value
SHA = "9f2c4b1e0d7a3c5b6e8f1a2d4c6b8e0f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b"

REGION = RegionResult(
    code="3401012001",
    name="JANGKARAN",
    level="desa/kelurahan",
    candidates=[
        Candidate(number=n, kpu_id=k, name=name, votes=v, share=round(v / 195, 4))
        for (n, k, name), v in zip(PAIRS, VOTES, strict=True)
    ],
    suara_sah=195,
    suara_tidak_sah=1,
    suara_total=196,
    progress=Progress(tps_expected=2, tps_published=1, share=0.5),
    children=[
        Child(
            code="3401012001001",
            name="TPS 001",
            votes=VOTES,
            suara_sah=195,
            progress=Progress(tps_expected=1, tps_published=1, share=1.0),
        ),
        Child(
            code="3401012001002",
            name="TPS 002",
            votes=[0, 0, 0],
            suara_sah=0,
            progress=Progress(tps_expected=1, tps_published=0, share=0.0),
        ),
    ],
    version=41872,
)
TPS = TpsResult(
    code="3401012001001",
    name="TPS 001",
    state="published",
    published=True,
    numbers=NUMBERS | {"suara_tidak_sah": 1, "suara_total": 196},
    photos=[
        PublicPhoto(
            page=p,
            url=f"/api/v1/public/photos/{SHA}",
            sha256=SHA,
            thumbnail_url=f"/api/v1/public/photos/{SHA}/kecil",
        )
        for p in (1,)
    ],
    history=[
        Event(
            at=datetime(2024, 2, 14, 15, 2, tzinfo=UTC),
            actor="ocr",
            from_state="read",
            to_state="verified",
            numbers_before=NUMBERS,
            numbers_after=NUMBERS,
            reason=STEP[TpsState.VERIFIED],
        ),
        Event(
            at=datetime(2024, 2, 14, 15, 2, 1, tzinfo=UTC),
            actor="checks",
            from_state="verified",
            to_state="published",
            numbers_before=NUMBERS,
            numbers_after=NUMBERS,
            reason=STEP[TpsState.PUBLISHED],
        ),
    ],
    version=41872,
)


def _ok(container: Any, description: str, *examples: tuple[str, Any], media_type: str = JSON) -> ResponseSpec:
    """An answer's shape with named examples (structs are shown as their JSON)."""
    return ResponseSpec(
        container,
        generate_examples=False,
        description=description,
        media_type=media_type,
        examples=[Example(summary=summary, value=msgspec.to_builtins(value)) for summary, value in examples],
    )


def _error(status: int, message: str, detail: str) -> ResponseSpec:
    name = {400: "InvalidInput", 404: "NotFound"}[status]
    body = ErrorBody(error=name, message=message, detail=detail)
    return _ok(ErrorBody, detail, (detail, body))


MALFORMED = _error(
    400,
    "Kode '34.04' bukan kode wilayah yang benar: kode hanya berisi angka, tanpa titik (contoh 3404072001).",
    "'34.04' is not a region code: a code has digits only, without dots (e.g. 3404072001)",
)
UNKNOWN = _error(
    404,
    "Wilayah dengan kode 3499 tidak ada dalam daftar wilayah. Periksa kodenya.",
    "region 3499 is not in the registry",
)

REGION_RESPONSES = {
    200: _ok(RegionResult, "A region's results", ("A desa with one of its two TPS published", REGION)),
    400: MALFORMED,
    404: UNKNOWN,
}
TPS_RESPONSES = {
    200: _ok(TpsResult, "A TPS's results", ("A published TPS, its photo and how it got there", TPS)),
    400: _error(
        400,
        "Kode 340407 adalah kode kecamatan, bukan kode TPS: kode TPS terdiri dari 13 angka.",
        "340407 is not a TPS code: a TPS has 13 digits",
    ),
    404: _error(
        404,
        "TPS 3404072001099 tidak ada dalam daftar TPS. Periksa kodenya.",
        "TPS 3404072001099 is not in the registry",
    ),
}
VERSION_RESPONSES = {
    200: _ok(dict[str, int], "The data version", ("The newest published change", {"version": 41872}))
}
CHANGE = Change(version=41873, regions=["34", "3401"], tps=["3401012001002"])
FEED_EXAMPLE = f"event: change\r\nid: 41873\r\ndata: {msgspec.json.encode(CHANGE).decode()}"
FEED_RESPONSES = {
    200: _ok(
        str,
        "One event per published change (the first, 'version', gives the current version)",
        ("A change under ?region=34", FEED_EXAMPLE),
        media_type="text/event-stream",
    ),
    400: MALFORMED,
}
KPU_CHART = {"100025": 31, "100026": 101, "100027": 63}
KPU_AGGREGATE = {
    "mode": "hhcw",
    "psu": "Reguler",
    "ts": "2024-02-14 15:02:01",
    "chart": KPU_CHART | {"persen": 50.0},
    "table": {
        "3401012001001": KPU_CHART | {"psu": "Reguler", "persen": 100.0, "status_progress": True},
        "3401012001002": {"100025": 0, "100026": 0, "100027": 0}
        | {"psu": "Reguler", "persen": 0.0, "status_progress": False},
    },
    "progres": {"total": 2, "progres": 1},
}
KPU_TPS = {
    "mode": "hhcw",
    "chart": {"null": None} | KPU_CHART,
    "images": [f"/api/v1/public/photos/{SHA}", None, None],
    "administrasi": {"suara_sah": 195, "suara_tidak_sah": 1, "suara_total": 196, "pemilih_dpt_j": 221},
    "psu": None,
    "ts": "2024-02-14 15:02:01",
    "status_suara": True,
    "status_adm": True,
}
KPU_WILAYAH = [{"nama": "TPS 001", "id": 900001, "kode": "3401012001001", "tingkat": 5}]
KPU_NOT_UNDER = _error(
    404,
    "Wilayah 3171 tidak berada di bawah wilayah 34. Periksa urutan kode di alamat.",
    "3171 does not lie under 34",
)


KPU_AGGREGATE_RESPONSES = {200: _ok(dict[str, Any], "KPU's aggregate shape", ("A desa", KPU_AGGREGATE))}
KPU_NODE_RESPONSES = {
    200: _ok(
        dict[str, Any],
        "KPU's shapes: a region's aggregate, or a TPS (…/{tps}.json; administrasi shortened here)",
        ("A desa", KPU_AGGREGATE),
        ("A published TPS", KPU_TPS),
    ),
    400: MALFORMED,
    404: KPU_NOT_UNDER,
}
WILAYAH_RESPONSES = {
    200: _ok(list[dict[str, Any]], "KPU's list of a region's children", ("The TPS of a desa", KPU_WILAYAH)),
    400: MALFORMED,
    404: KPU_NOT_UNDER,
}
CSV_EXAMPLE = (
    "kode_provinsi,nama_provinsi,kode_kabkota,nama_kabkota,kode_kecamatan,nama_kecamatan,kode_desa,"
    "nama_desa,kode_tps,nama_tps,status,suara_paslon_1,suara_paslon_2,suara_paslon_3,suara_sah,...\r\n"
    "34,DAERAH ISTIMEWA YOGYAKARTA,3404,SLEMAN,340407,DEPOK,3404072001,CATURTUNGGAL,3404072001001,"
    "TPS 001,Dipublikasikan,31,101,63,195,...\r\n"
    "34,DAERAH ISTIMEWA YOGYAKARTA,3404,SLEMAN,340407,DEPOK,3404072001,CATURTUNGGAL,3404072001002,"
    "TPS 002,Perlu ditinjau petugas,,,,,...\r\n"
)
CSV_RESPONSES = {
    200: _ok(
        str,
        "One row per TPS; numbers only where published",
        ("The first rows (columns shortened)", CSV_EXAMPLE),
        media_type="text/csv",
    ),
    400: _error(
        400,
        "Kode 340407 bukan kode provinsi atau kabupaten/kota: ekspor CSV dibuat per provinsi "
        "(kode 2 angka) atau per kabupaten/kota (kode 4 angka).",
        "340407 is not a province (2 digits) or kab/kota (4 digits) code",
    ),
    404: _error(
        404,
        "Wilayah dengan kode 35 tidak ada dalam daftar wilayah. Periksa kodenya.",
        "region 35 is not in the registry",
    ),
}
NIST_EXAMPLE = {
    "@type": "ElectionResults.ElectionReport",
    "Format": "precinct-level",
    "GeneratedDate": "2024-02-14T20:00:00+00:00",
    "Issuer": "rekap",
    "IssuerAbbreviation": "rekap",
    "SequenceStart": 1,
    "SequenceEnd": 1,
    "Status": "unofficial-partial",
    "VendorApplicationId": "rekap 0.1.0",
    "GpUnit": ["… a ReportingUnit per region and TPS …"],
    "Election": ["… the Election, its Candidates, the PPWP CandidateContest with VoteCounts per unit …"],
}
NIST_RESPONSES = {
    200: _ok(
        dict[str, Any],
        "An ElectionReport (NIST SP 1500-100, JSON v2); arrays shortened here",
        ("nasional", NIST_EXAMPLE),
    ),
    400: _error(
        400,
        "Kode 3404072001001 adalah kode TPS: ekspor wilayahnya (desa 3404072001), "
        "atau buka /tps/3404072001001.",
        "3404072001001 is a TPS; export its region (desa 3404072001) or ask /tps/3404072001001",
    ),
    404: _error(
        404,
        "Wilayah dengan kode 35 tidak ada dalam daftar wilayah. Periksa kodenya.",
        "region 35 is not in the registry",
    ),
}
PHOTO_RESPONSES = {
    400: _error(
        400,
        "Alamat foto tidak benar: alamat foto adalah kode SHA-256-nya, 64 karakter 0-9 dan a-f "
        "(huruf kecil). Salin alamatnya utuh.",
        "a photo's address is its SHA-256: 64 lowercase hexadecimal characters",
    ),
    404: _error(
        404,
        "Tidak ada foto terbitan dengan alamat ini: foto hanya tampil setelah angka TPS-nya dipublikasikan.",
        "no published photo has this address",
    ),
}
