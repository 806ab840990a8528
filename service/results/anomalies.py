"""Anomaly flags: shown beside a TPS's numbers, never blocking them (a real TPS can be unusual).

From its own numbers: turnout over 100 % of the DPT, one pair with (nearly) all valid votes of
a large TPS. Against its village: a pair's share far outside the other TPS of the same desa.
From the photos: the same photo sent for different TPS, pages of one TPS photographed far apart
in time.

Each flag says what it found twice: ``detail`` in English for logs and reports (``rekap check``),
``message`` in Indonesian for the public TPS page and document, and names the ``fields`` it is
about so that the page can mark them.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping

import asyncpg
import msgspec

from ocr.form import PAIRS

LANDSLIDE_SHARE = 0.95
LANDSLIDE_MIN_VOTES = 150
"""Below this many valid votes one pair taking nearly all is ordinary."""
OUTLIER_MADS = 5.0
OUTLIER_MIN_GAP = 0.25
"""A share must also be this far (absolute) from the village's median to be flagged."""
VILLAGE_MIN_TPS = 5
PAGES_APART_HOURS = 24


class Anomaly(msgspec.Struct, frozen=True):
    kind: str
    tps: str
    detail: str
    message: str
    """For the public, in Indonesian: what is unusual, and that it may be genuine."""
    fields: tuple[str, ...] = ()
    """The TPS's numbers it is about."""


def _pair_number(pair: str) -> int:
    return PAIRS.index(pair) + 1


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def tps_anomalies(tps: str, numbers: Mapping[str, int]) -> list[Anomaly]:
    out = []
    dpt, cast = numbers.get("pemilih_dpt_j"), numbers.get("suara_total")
    if dpt and cast is not None and cast > dpt:
        out.append(
            Anomaly(
                "turnout_over_100",
                tps,
                f"{cast} votes cast at a TPS of {dpt} registered voters",
                f"Jumlah suara ({cast}) lebih banyak dari pemilih terdaftar di DPT ({dpt}). Bisa "
                "wajar bila banyak pemilih DPTb atau DPK; bandingkan dengan foto formulirnya.",
                ("suara_total", "pemilih_dpt_j"),
            )
        )
    valid = numbers.get("suara_sah") or 0
    if valid >= LANDSLIDE_MIN_VOTES:
        for pair in PAIRS:
            votes = numbers.get(pair) or 0
            if votes >= LANDSLIDE_SHARE * valid:
                out.append(
                    Anomaly(
                        "landslide",
                        tps,
                        f"{pair} has {votes} of {valid} valid votes",
                        f"Paslon {_pair_number(pair)} mendapat {votes} dari {valid} suara sah "
                        f"({_percent(votes / valid)}): hampir semuanya. Bandingkan dengan foto formulirnya.",
                        (pair, "suara_sah"),
                    )
                )
    return out


def village_outliers(by_tps: Mapping[str, Mapping[str, int]]) -> list[Anomaly]:
    """Pairs whose share at a TPS is far from the median share among the TPS of its desa."""
    villages: dict[str, list[tuple[str, list[float]]]] = defaultdict(list)
    for tps, numbers in by_tps.items():
        valid = sum(numbers.get(p) or 0 for p in PAIRS)
        if valid:
            villages[tps[:10]].append((tps, [(numbers.get(p) or 0) / valid for p in PAIRS]))
    out = []
    for members in villages.values():
        if len(members) < VILLAGE_MIN_TPS:
            continue
        for i, pair in enumerate(PAIRS):
            shares = [s[i] for _, s in members]
            median = statistics.median(shares)
            spread = 1.4826 * statistics.median(abs(x - median) for x in shares)
            for tps, s in members:
                gap = abs(s[i] - median)
                if gap > OUTLIER_MIN_GAP and gap > OUTLIER_MADS * spread:
                    out.append(
                        Anomaly(
                            "village_outlier",
                            tps,
                            f"{pair} has {s[i]:.0%} of the votes; the desa's TPS have {median:.0%} (median)",
                            f"Paslon {_pair_number(pair)} mendapat {_percent(s[i])} suara di TPS ini, "
                            f"jauh dari TPS lain di desanya (median {_percent(median)}).",
                            (pair,),
                        )
                    )
    return out


async def shared_photos(conn: asyncpg.Connection) -> list[Anomaly]:
    """The same photo (SHA-256) sent for more than one TPS."""
    rows = await conn.fetch(
        "SELECT sha256, array_agg(DISTINCT tps_code ORDER BY tps_code) AS tps FROM photo "
        "GROUP BY sha256 HAVING count(DISTINCT tps_code) > 1"
    )
    return [
        Anomaly(
            "shared_photo",
            tps,
            f"photo {r['sha256'][:12]}… was also sent for {', '.join(sorted(set(r['tps']) - {tps}))}",
            f"Foto yang sama juga dikirim untuk TPS {', '.join(sorted(set(r['tps']) - {tps}))}.",
        )
        for r in rows
        for tps in r["tps"]
    ]


async def pages_apart(conn: asyncpg.Connection, hours: int = PAGES_APART_HOURS) -> list[Anomaly]:
    """TPS whose current pages were photographed more than ``hours`` apart."""
    rows = await conn.fetch(
        """
        SELECT tps_code, max(uploaded_at) - min(uploaded_at) AS span FROM current_page
        GROUP BY tps_code, ballot HAVING max(uploaded_at) - min(uploaded_at) > make_interval(hours => $1)
        """,
        hours,
    )
    return [
        Anomaly(
            "pages_apart",
            r["tps_code"],
            f"pages photographed {r['span']} apart",
            f"Halaman-halaman formulirnya difoto berselang {r['span'].total_seconds() / 3600:.0f} jam.",
        )
        for r in rows
    ]
