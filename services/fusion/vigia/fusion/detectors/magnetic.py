"""Magnetic anomaly: the field magnitude against its own rolling window (seed 000 §2.1).

Fixes over the seed's sketch: the sample is scored against the window *before* it is added (the
sketch added it first, so a spike diluted its own z-score); |z| is used, so a drop counts like a
spike (seed 002); outliers enter the window winsorised (see :meth:`RollingStats.push_clipped`);
and the deviation has a floor, so a perfectly steady reading does not turn noise into alarms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vigia.common.messages import Severity
from vigia.fusion.detectors.rolling import RollingStats, severity_for_z


@dataclass(frozen=True, slots=True)
class MagneticFinding:
    magnitude: float
    mean: float
    std: float
    z: float
    severity: Severity


def magnitude_of(x: float, y: float, z: float, magnitude: float | None = None) -> float:
    """The phone's magnitude when it sent one, else the Euclidean norm of x, y, z."""
    return magnitude if magnitude is not None else math.sqrt(x * x + y * y + z * z)


class MagneticAnomalyDetector:
    """One device's magnetic detector: ``update(magnitude)`` -> a finding or None."""

    __slots__ = ("min_samples", "min_std", "sigma", "window")

    def __init__(self, window: int = 100, sigma: float = 3.0, *, min_samples: int = 20,
                 min_std: float = 0.1) -> None:
        self.window = RollingStats(window)
        self.sigma = sigma
        self.min_samples = max(2, min(min_samples, window))
        self.min_std = min_std

    def update(self, magnitude: float) -> MagneticFinding | None:
        if not math.isfinite(magnitude):
            return None
        window = self.window
        if len(window) < self.min_samples:
            window.push(magnitude)
            return None
        z, mean, std = window.zscore(magnitude, self.min_std)
        window.push_clipped(magnitude, mean, max(std, self.min_std), self.sigma)
        severity = severity_for_z(z, self.sigma)
        if severity is None:
            return None
        return MagneticFinding(magnitude, mean, std, z, severity)
