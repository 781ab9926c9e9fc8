"""Rolling window statistics in O(1) per sample, and the z-score severity scale of seed 002."""

from __future__ import annotations

import math
from collections import deque

from vigia.common.messages import Severity


def severity_for_z(z: float, threshold: float) -> Severity | None:
    """Seed 002's scale on |z|: above ``threshold`` it is an anomaly — > 5 sigma critical, > 4 sigma high,
    otherwise medium; None when |z| <= threshold."""
    size = abs(z)
    if not size > threshold:  # also refuses NaN
        return None
    if size > 5:
        return Severity.critical
    if size > 4:
        return Severity.high
    return Severity.medium


class RollingStats:
    """Mean and population standard deviation of the last ``size`` values.

    Running sums make each :meth:`push` O(1); they are recomputed from the window every ``size``
    pushes so floating-point drift cannot build up over a device's life.
    """

    __slots__ = ("_pushes", "_sum", "_sumsq", "size", "values")

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError("a rolling window needs at least 2 values")
        self.size = size
        self.values: deque[float] = deque(maxlen=size)
        self._sum = 0.0
        self._sumsq = 0.0
        self._pushes = 0

    def __len__(self) -> int:
        return len(self.values)

    def push(self, value: float) -> None:
        values = self.values
        if len(values) == self.size:
            old = values[0]
            self._sum -= old
            self._sumsq -= old * old
        values.append(value)
        self._sum += value
        self._sumsq += value * value
        self._pushes += 1
        if self._pushes >= self.size:
            self._pushes = 0
            self._sum = math.fsum(values)
            self._sumsq = math.fsum(v * v for v in values)

    @property
    def mean(self) -> float:
        return self._sum / len(self.values) if self.values else 0.0

    @property
    def std(self) -> float:
        n = len(self.values)
        if n == 0:
            return 0.0
        mean = self._sum / n
        return math.sqrt(max(self._sumsq / n - mean * mean, 0.0))

    def zscore(self, value: float, min_std: float = 0.0) -> tuple[float, float, float]:
        """``(z, mean, std)`` of ``value`` against the window; std is floored at ``min_std``
        (and at a tiny epsilon, so a constant window gives a finite z)."""
        mean, std = self.mean, self.std
        return (value - mean) / max(std, min_std, 1e-12), mean, std

    def push_clipped(self, value: float, mean: float, std: float, limit: float) -> None:
        """Push ``value`` winsorised to ``mean ± limit·std``: an outlier still moves the baseline
        (a lasting shift is learnt within a window) but cannot inflate the deviation enough to
        hide the next one."""
        if std > 0 and len(self.values) >= 2:
            low, high = mean - limit * std, mean + limit * std
            value = low if value < low else high if value > high else value
        self.push(value)
