"""The forecasting models, by name: ``seasonal_naive`` and ``auto_ets`` (statsforecast, always
available) and ``ttm`` (TinyTimeMixer through granite-tsfm, from a local directory of weights).

:func:`build` makes one, :func:`names` lists them, :data:`DEFAULT` is the one the backtest bench
chose, and :func:`forecast_with_fallback` answers a series too short for the model with AutoETS
(or seasonal naive when even AutoETS cannot), saying so in :attr:`Forecast.fallback`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from vigia.forecast.models.base import CONTEXT, HORIZON, LEVEL, Forecast, Forecaster
from vigia.forecast.models.stats import AutoETS, SeasonalNaive

__all__ = ["CONTEXT", "DEFAULT", "HORIZON", "LEVEL", "Forecast", "Forecaster", "build",
           "forecast_with_fallback", "names"]


def _ttm(path: str | None = None) -> Forecaster:
    """``path``: a directory of TTM weights (pretrained Granite TTM-R2, or :func:`.ttm.train_ttm`'s)."""
    if not path:
        raise ValueError("the ttm model needs path=<directory of its weights> (save_pretrained)")
    from vigia.forecast.models.ttm import TTMForecaster

    return TTMForecaster.load(path)


_BUILDERS: dict[str, Callable[..., Forecaster]] = {
    SeasonalNaive.name: SeasonalNaive,
    AutoETS.name: AutoETS,
    "ttm": _ttm,
}

#: The backtest's winner (tests/bench/bench_forecast.py: 5 rolling origins, horizon 96, sunspots 22;
#: its TTM trained on other phonesim seeds and synthetic series). Mean over phonesim, co2, elnino
#: and sunspots of the mean MASE: auto_ets 1.968, seasonal_naive 2.350, ttm 2.396. AutoETS wins by
#: a quarter of seasonal naive's error on co2 (0.47 vs 1.84; TTM 2.00); TTM is first only on
#: phonesim (4.83 vs AutoETS 4.92, naive 5.38); seasonal naive on elnino and sunspots. Per core,
#: 512 steps in: AutoETS ~30 forecasts/s (TTM ~900, seasonal naive ~1900); given 2880 steps with a
#: 1440-step season (STL first) AutoETS makes 0.44/s.
DEFAULT = "auto_ets"


def names() -> list[str]:
    """Every model name :func:`build` knows."""
    return sorted(_BUILDERS)


def build(name: str, **options: object) -> Forecaster:
    """The model called ``name``, made with ``options`` (``ttm``: ``path``). ValueError for a name
    it does not know, naming the ones it does."""
    try:
        builder = _BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown forecast model {name!r}: known models are {', '.join(names())}") from None
    return builder(**options)


def forecast_with_fallback(model: Forecaster, history: np.ndarray, horizon: int, season: int) -> Forecast:
    """``model``'s forecast, or, when ``history`` is shorter than ``model.min_history``, AutoETS's
    (seasonal naive's when AutoETS too needs more), with :attr:`Forecast.fallback` saying why, e.g.
    ``"212 steps of history, ttm needs 512: AutoETS"``."""
    if len(history) >= model.min_history:
        return model.forecast(history, horizon, season)
    stand_ins: list[tuple[Forecaster, str]] = [(AutoETS(), "AutoETS"), (SeasonalNaive(), "seasonal naive")]
    usable = [(m, label) for m, label in stand_ins if m.name != model.name and len(history) >= m.min_history]
    stand_in, label = usable[0] if usable else stand_ins[-1]
    reason = f"{len(history)} steps of history, {model.name} needs {model.min_history}: {label}"
    result = stand_in.forecast(history, horizon, season)
    if result.fallback:
        reason = f"{reason} ({result.fallback})"
    return Forecast(result.model, result.mean, result.lower, result.upper, result.level, reason)
