"""Chaos runs: faults injected into running rekap services (``python -m tests.chaos.run``)."""
