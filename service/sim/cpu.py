"""CPU time the parts of a simulated night used, read from /proc (Linux): what a photo costs
each part, whatever else the machine (and the simulator itself) did meanwhile."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stats() -> dict[int, tuple[int, str, float]]:
    """pid → (parent pid, command name, CPU seconds) of every process."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        out[int(entry.name)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK)
    return out


def tree_seconds(root: int) -> float:
    """CPU seconds of a process and its living descendants (granian's workers, the OCR pool)."""
    stats = _stats()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][2]
            todo.extend(children.get(pid, []))
    return total


def named_seconds(name: str) -> float:
    """CPU seconds of every living process of that name (``postgres``: the server and its backends)."""
    return sum(seconds for _, comm, seconds in _stats().values() if comm == name)


def named(name: str) -> dict[int, float]:
    """pid → CPU seconds of every living process of that name."""
    return {pid: seconds for pid, (_, comm, seconds) in _stats().items() if comm == name}


def named_used(name: str, before: dict[int, float]) -> float:
    """CPU seconds the processes of that name used since ``before`` (``named``): a process that
    ended meanwhile (an autovacuum worker) neither subtracts its earlier time nor adds its last."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in named(name).items())
