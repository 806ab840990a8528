"""``rekap bench intake`` in a tiny mode: the real API, worker, PostgreSQL and store, its JSON
figures present and its guarantees held (nothing lost, nothing stored twice, every photo read).
Its speed is the benchmark's to print, never a test's to assert."""

from __future__ import annotations

import msgspec

from tests.conftest import rekap

KEYS = {
    "uploads_per_s",
    "p50_ms",
    "p99_ms",
    "lost",
    "duplicated",
    "photo_to_reading_p50_ms",
    "photo_to_reading_p99_ms",
    "cpu_ms_per_upload",
    "status_per_s",
    "status_p99_ms",
    "cpu_ms_per_status",
}


def test_the_intake_benchmark_reports_its_figures_and_loses_nothing() -> None:
    done = rekap("bench", "intake", "--tps", "6", "--concurrency", "4", "--json")
    assert done.returncode == 0, done.stderr
    figures = msgspec.json.decode(done.stdout)
    assert set(figures) >= KEYS, figures
    assert figures["tps"] == 6 and figures["uploads"] == 18 + figures["retried"]
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    # A retried page is the same record (200), every first upload a new one (201), all read.
    assert figures["statuses"] == {"201": 18, **({"200": figures["retried"]} if figures["retried"] else {})}
    assert figures["read"] == 18
    assert set(figures["cpu_ms_per_upload"]) == {"api", "postgres", "load_generator"}
    # Each phone asks for its TPS's status three times; every answer is its own TPS's (200).
    assert figures["status_requests"] == 18 and figures["status_errors"] == 0
    assert rekap("bench", "intake", "--concurrency", "0").returncode == 1
