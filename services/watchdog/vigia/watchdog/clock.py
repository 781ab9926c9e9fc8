"""The watchdog's times: unix nanoseconds as Redis holds them (``str(time.time_ns())`` written by
whoever saw the frame or the packet), ``timestamptz`` rows in PostgreSQL, which keep microseconds."""

from __future__ import annotations

from datetime import datetime

NS = 1_000_000_000


def parse_ns(raw: bytes | str | None) -> int | None:
    """A Redis timestamp's unix ns, or None when absent or not a positive integer."""
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def datetime_ns(moment: datetime | None) -> int | None:
    """A stored (aware) datetime as unix ns; None stays None."""
    if moment is None:
        return None
    return int(moment.timestamp()) * NS + moment.microsecond * 1000


def us(ns: int) -> int:
    """Rows keep microseconds: compare a Redis ns value with a stored one at that precision."""
    return ns // 1000
