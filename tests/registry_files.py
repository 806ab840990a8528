"""Small registry and DPT files in the real formats, written by tests into their tmp_path."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

KPU_HEADER = ["kode", "nama", "kpu_id", "tingkat", "kode_induk"]

# Two provinces, each with one kab/kota, kecamatan and desa; three TPS in the Sleman desa.
KPU_ROWS = [
    ["34", "DAERAH ISTIMEWA YOGYAKARTA", "1", "1", ""],
    ["3404", "SLEMAN", "2", "2", "34"],
    ["340407", "DEPOK", "3", "3", "3404"],
    ["3404072001", "CATURTUNGGAL", "4", "4", "340407"],
    ["3404072001001", "TPS 001", "5", "5", "3404072001"],
    ["3404072001002", "TPS 002", "6", "5", "3404072001"],
    ["3404072001003", "TPS 003", "7", "5", "3404072001"],
    ["31", "DKI JAKARTA", "8", "1", ""],
    ["3171", "KOTA ADM. JAKARTA SELATAN", "9", "2", "31"],
    ["317101", "JAGAKARSA", "10", "3", "3171"],
    ["3171011001", "CIGANJUR", "11", "4", "317101"],
    ["3171011001001", "TPS 001", "12", "5", "3171011001"],
]

VOTERS_HEADER = ["kode_tps", "kode_prov", "dpt_j", "dpt_l", "dpt_p", "paslon_01"]


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, gz: bool = False) -> Path:
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="", encoding="utf-8") as f:  # type: ignore[operator]
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def kpu_registry(tmp_path: Path, rows: list[list[str]] | None = None, *, gz: bool = False) -> Path:
    name = "registry.csv.gz" if gz else "registry.csv"
    return write_csv(tmp_path / name, KPU_HEADER, KPU_ROWS if rows is None else rows, gz=gz)
