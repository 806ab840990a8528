"""Times as KPPS and officers read them: Western Indonesia Time, the zone written out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7), "WIB")


def wib(at: datetime, *, date: bool = False) -> str:
    """``14.33 WIB`` (``5/12/2026 14.33 WIB`` with ``date``), the Indonesian way of writing a time."""
    local = at.astimezone(WIB)
    clock = f"{local:%H.%M} WIB"
    return f"{local.day}/{local.month}/{local.year} {clock}" if date else clock
