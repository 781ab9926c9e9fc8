"""Anomaly storms avoided: at most one anomaly per device per kind per cool-down, unless it gets
worse."""

from __future__ import annotations

from vigia.common.messages import Severity

_RANK = {Severity.low: 0, Severity.medium: 1, Severity.high: 2, Severity.critical: 3}


class AnomalyGate:
    """``admit(kind, t_ns, severity)`` is True for the first anomaly of a kind, then False until
    ``cooldown_ns`` of device time has passed since the last admitted one — except for one more
    severe than it (a burst that escalates is reported again; a mild blip cannot mask a strong
    anomaly right after it). A device clock that jumps backwards re-opens the gate."""

    __slots__ = ("_last", "cooldown_ns")

    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_ns = int(cooldown_s * 1e9)
        self._last: dict[str, tuple[int, int]] = {}

    def admit(self, kind: str, t_ns: int, severity: Severity = Severity.medium) -> bool:
        rank = _RANK[severity]
        last = self._last.get(kind)
        if last is not None and 0 <= t_ns - last[0] < self.cooldown_ns and rank <= last[1]:
            return False
        self._last[kind] = (t_ns, rank)
        return True
