"""What every forecasting model is: a :class:`Forecaster` takes a series' history (equally spaced
steps, oldest first, no gaps: the caller fills them) and returns a :class:`Forecast` of the next
``horizon`` steps with a prediction band."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

#: Seed 002's shape: the last 512 steps in, the next 96 out.
CONTEXT = 512
HORIZON = 96
#: The band: the central 95 % prediction interval.
LEVEL = 95


@dataclass(frozen=True)
class Forecast:
    """``mean``, ``lower`` and ``upper`` have ``horizon`` values each (``lower <= mean <= upper``);
    ``model`` names the model that made it (``fallback`` says why another than asked for did)."""

    model: str
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: int = LEVEL
    fallback: str | None = None


class Forecaster(Protocol):
    """A forecasting model. ``min_history``: the fewest steps it forecasts from (a shorter series
    goes to the statistical model, which says so in :attr:`Forecast.fallback`)."""

    name: str
    min_history: int

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> Forecast:
        """Forecast ``horizon`` steps after ``history`` (float64, 1-D, oldest first); ``season``
        is the seasonal period in steps (e.g. one day of 1-minute steps: 1440)."""
        ...
