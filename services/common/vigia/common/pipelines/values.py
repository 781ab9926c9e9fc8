"""Small helpers nodes share to read records: dotted field paths, severities, times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

_MISSING = object()


def lookup(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """``record["a"]["b"]`` for ``"a.b"`` (list elements by index: ``"sources.0.kind"``); ``default``
    when a step is missing."""
    value: Any = record.get(path, _MISSING)
    if value is not _MISSING:
        return value
    value = record
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step, _MISSING)
        elif isinstance(value, list) and step.lstrip("-").isdigit() and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            return default
        if value is _MISSING:
            return default
    return value


def epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 string or integer nanoseconds (as messages carry
    times); None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value / 1e9
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment.timestamp() if moment.tzinfo is not None else None
    return None


def key_of(record: Mapping[str, Any], path: str | None) -> str:
    """The partition key of a record for per-key state ("" when no path is configured)."""
    if path is None:
        return ""
    value = lookup(record, path)
    return "" if value is None else str(value)
