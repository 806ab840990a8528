"""An example registry for a machine without KPU's (``rekap demo`` without ``../shared``): the 38
provinces with KPU's codes and names, each with one kab/kota, kecamatan and desa named as examples
("CONTOH") and a few TPS, written in the KPU file format so that it is imported like the real one."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import asyncpg

from service.regions.registry import import_registry

PROVINCES = {
    "11": "ACEH", "12": "SUMATERA UTARA", "13": "SUMATERA BARAT", "14": "RIAU", "15": "JAMBI",
    "16": "SUMATERA SELATAN", "17": "BENGKULU", "18": "LAMPUNG", "19": "KEPULAUAN BANGKA BELITUNG",
    "21": "KEPULAUAN RIAU", "31": "DKI JAKARTA", "32": "JAWA BARAT", "33": "JAWA TENGAH",
    "34": "DAERAH ISTIMEWA YOGYAKARTA", "35": "JAWA TIMUR", "36": "BANTEN", "51": "BALI",
    "52": "NUSA TENGGARA BARAT", "53": "NUSA TENGGARA TIMUR", "61": "KALIMANTAN BARAT",
    "62": "KALIMANTAN TENGAH", "63": "KALIMANTAN SELATAN", "64": "KALIMANTAN TIMUR",
    "65": "KALIMANTAN UTARA", "71": "SULAWESI UTARA", "72": "SULAWESI TENGAH", "73": "SULAWESI SELATAN",
    "74": "SULAWESI TENGGARA", "75": "GORONTALO", "76": "SULAWESI BARAT", "81": "MALUKU",
    "82": "MALUKU UTARA", "91": "PAPUA", "92": "PAPUA BARAT", "93": "PAPUA SELATAN", "94": "PAPUA TENGAH",
    "95": "PAPUA PEGUNUNGAN", "96": "PAPUA BARAT DAYA",
}  # fmt: skip
"""KPU's province codes of Pemilu 2024 (kpu_wilayah_tps), abroad (99) left out."""
TPS_PER_DESA = 4


def write_example_registry(path: Path, *, tps_per_desa: int = TPS_PER_DESA) -> Path:
    """The example registry as a KPU registry CSV (``kode,nama,kpu_id,tingkat,kode_induk``)."""
    rows: list[list[str | int]] = []
    for code, name in PROVINCES.items():
        kab, kec, desa = f"{code}01", f"{code}0101", f"{code}01012001"
        rows += [
            [code, name, "", 1, ""],
            [kab, f"KABUPATEN CONTOH {name}", "", 2, code],
            [kec, "KECAMATAN CONTOH", "", 3, kab],
            [desa, "DESA CONTOH", "", 4, kec],
        ]
        rows += [[f"{desa}{n:03d}", f"TPS {n:03d}", "", 5, desa] for n in range(1, tps_per_desa + 1)]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["kode", "nama", "kpu_id", "tingkat", "kode_induk"])
        writer.writerows(rows)
    return path


async def load_example(conn: asyncpg.Connection, *, tps_per_desa: int = TPS_PER_DESA) -> int:
    """The example registry imported, its TPS given registered voters drawn from their codes and
    marked synthetic (never taken for real ones); how many regions and TPS were new."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_example_registry(Path(folder, "contoh.csv"), tps_per_desa=tps_per_desa)
        report = await import_registry(conn, path)
    await conn.execute(
        """
        UPDATE tps SET dpt_l = d.l, dpt_p = d.p, dpt_j = d.l + d.p, dpt_synthetic = true
        FROM (SELECT code, 100 + get_byte(decode(md5(code), 'hex'), 0) % 50 AS l,
                     100 + get_byte(decode(md5(code), 'hex'), 1) % 50 AS p FROM tps) d
        WHERE tps.code = d.code AND tps.dpt_j IS NULL
        """
    )
    return report.inserted
