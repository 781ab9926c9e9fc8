"""IMU anomaly: a sudden acceleration or rotation (a phone that is knocked, dropped or grabbed).

* acceleration: the size of the change of the acceleration vector since the previous sample
  (|a_t - a_t-1|, the jerk per sample). The magnitude |a| would miss a knock against gravity (2 g
  upwards on a phone lying flat leaves |a| near 1 g) and would depend on how the phone is held.
* rotation: the magnitude of the rotation rate |omega| (already a rate of change).

Each is scored against its own rolling window, which adapts to a phone being carried (steps shake
it steadily) rather than lying still.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from vigia.common.messages import Severity
from vigia.fusion.detectors.rolling import RollingStats, severity_for_z

Channel = Literal["acceleration", "rotation"]


@dataclass(frozen=True, slots=True)
class ImuFinding:
    channel: Channel
    value: float
    mean: float
    std: float
    z: float
    severity: Severity


class _Channel:
    __slots__ = ("min_std", "stats")

    def __init__(self, window: int, min_std: float) -> None:
        self.stats = RollingStats(window)
        self.min_std = min_std


class ImuAnomalyDetector:
    """``update(acc, gyro)`` with (x, y, z) tuples or None -> the strongest finding or None.
    An acceleration finding's ``value`` is the jerk |a_t - a_t-1| (m/s2 per sample)."""

    __slots__ = ("_acc", "_gyro", "_previous_acc", "min_samples", "sigma")

    def __init__(self, window: int = 50, sigma: float = 5.0, *, min_samples: int = 20,
                 acc_min_std: float = 0.1, gyro_min_std: float = 0.05) -> None:
        self._acc = _Channel(window, acc_min_std)
        self._gyro = _Channel(window, gyro_min_std)
        self._previous_acc: tuple[float, float, float] | None = None
        self.sigma = sigma
        self.min_samples = max(2, min(min_samples, window))

    def _score(self, channel: _Channel, name: Channel, vector: tuple[float, float, float] | None
               ) -> ImuFinding | None:
        if vector is None:
            return None
        x, y, z = vector
        value = math.sqrt(x * x + y * y + z * z)
        if not math.isfinite(value):
            return None
        stats = channel.stats
        if len(stats) < self.min_samples:
            stats.push(value)
            return None
        zscore, mean, std = stats.zscore(value, channel.min_std)
        stats.push_clipped(value, mean, max(std, channel.min_std), self.sigma)
        severity = severity_for_z(zscore, self.sigma)
        return None if severity is None else ImuFinding(name, value, mean, std, zscore, severity)

    def update(self, acc: tuple[float, float, float] | None,
               gyro: tuple[float, float, float] | None) -> ImuFinding | None:
        jerk = None
        if acc is not None:
            previous, self._previous_acc = self._previous_acc, acc
            if previous is not None:
                jerk = (acc[0] - previous[0], acc[1] - previous[1], acc[2] - previous[2])
        a = self._score(self._acc, "acceleration", jerk)
        g = self._score(self._gyro, "rotation", gyro)
        if a is None or (g is not None and abs(g.z) > abs(a.z)):
            return g
        return a
