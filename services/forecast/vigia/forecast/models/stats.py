"""The statistical models, always available: seasonal naive and AutoETS, both through
``statsforecast``, both with statsforecast's own 95 % prediction intervals.

Input is assumed NaN-free (the caller fills gaps, see :mod:`.base`). A constant history is
forecast as that constant with a zero-width band, without fitting anything (ETS has nothing to
estimate from it). When the seasonal period cannot be used the model goes on without it and says
so in :attr:`Forecast.fallback`:

* seasonal naive needs one whole season of history; with less it repeats the last value (naive);
* AutoETS needs two whole seasons. statsforecast (like R's ``ets``) keeps seasonal states for at
  most 24 steps, so a longer season (a day of minutes: 1440) is taken out first by STL and AutoETS
  forecasts the rest (statsforecast's ``MSTL`` with an AutoETS trend forecaster, R's ``stlf``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from vigia.forecast.models.base import LEVEL, Forecast

#: statsforecast's ETS keeps at most this many seasonal states.
ETS_MAX_SEASON = 24


def _statsforecast() -> Any:
    """statsforecast.models, imported on first use: it takes seconds (numba, pandas)."""
    from statsforecast import models

    return models


def _band(model: str, result: dict[str, np.ndarray], fallback: str | None = None) -> Forecast:
    mean = np.asarray(result["mean"], dtype=np.float64)
    lower = np.minimum(np.asarray(result[f"lo-{LEVEL}"], dtype=np.float64), mean)
    upper = np.maximum(np.asarray(result[f"hi-{LEVEL}"], dtype=np.float64), mean)
    return Forecast(model=model, mean=mean, lower=lower, upper=upper, level=LEVEL, fallback=fallback)


def _constant(model: str, history: np.ndarray, horizon: int) -> Forecast | None:
    if len(history) and np.ptp(history) == 0:
        flat = np.full(horizon, float(history[-1]))
        return Forecast(model=model, mean=flat, lower=flat.copy(), upper=flat.copy(), level=LEVEL)
    return None


def _check(history: np.ndarray, horizon: int) -> np.ndarray:
    y = np.asarray(history, dtype=np.float64)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError("history must be a non-empty 1-D series")
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    if not np.isfinite(y).all():
        raise ValueError("history has NaN or infinite values: the caller fills gaps first")
    return y


class SeasonalNaive:
    """Each step is the value one season earlier; the band from the in-sample seasonal errors."""

    name = "seasonal_naive"
    min_history = 1

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> Forecast:
        y = _check(history, horizon)
        flat = _constant(self.name, y, horizon)
        if flat is not None:
            return flat
        models = _statsforecast()
        fallback = None
        if season > len(y):
            fallback = f"season of {season} steps, {len(y)} steps of history: naive (last value)"
            season = 1
        if len(y) < 2:
            return Forecast(self.name, np.full(horizon, y[-1]), np.full(horizon, y[-1]),
                            np.full(horizon, y[-1]), fallback=fallback)
        result = models.SeasonalNaive(season_length=max(1, season)).forecast(y=y, h=horizon, level=[LEVEL])
        return _band(self.name, result, fallback)


class AutoETS:
    """Exponential smoothing, the form (error, trend, season; damped or not) chosen by AICc."""

    name = "auto_ets"
    #: Below this, ETS has more parameters than observations: seasonal naive answers instead.
    min_history = 12

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> Forecast:
        y = _check(history, horizon)
        flat = _constant(self.name, y, horizon)
        if flat is not None:
            return flat
        if len(y) < self.min_history:
            naive = SeasonalNaive().forecast(y, horizon, season)
            reason = f"{len(y)} steps of history, auto_ets needs {self.min_history}: seasonal naive"
            return Forecast(naive.model, naive.mean, naive.lower, naive.upper, fallback=reason)
        models = _statsforecast()
        fallback = None
        if season > 1 and len(y) < 2 * season:
            fallback = (f"season of {season} steps needs {2 * season} steps of history, {len(y)} given: "
                        "AutoETS without season")
            season = 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsforecast warns on every near-flat fit
            if season <= ETS_MAX_SEASON:
                result = models.AutoETS(season_length=max(1, season)).forecast(y=y, h=horizon, level=[LEVEL])
            else:
                stl = models.MSTL(season_length=season, trend_forecaster=models.AutoETS(model="ZZN"))
                result = stl.forecast(y=y, h=horizon, level=[LEVEL])
        return _band(self.name, result, fallback)
