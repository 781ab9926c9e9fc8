"""The registry: names, building, the default, and the fallback to AutoETS for a short history."""

from __future__ import annotations

import numpy as np
import pytest

from vigia.forecast import models
from vigia.forecast.models.stats import AutoETS


class NeedsLongHistory:
    name = "ttm"
    min_history = 512

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> models.Forecast:
        raise AssertionError("a model must not be asked with less history than it needs")


def test_every_name_builds_and_the_default_is_one_of_them():
    assert models.names() == ["auto_ets", "seasonal_naive", "ttm"]
    assert models.DEFAULT in models.names()
    assert models.build("auto_ets").name == "auto_ets"
    assert models.build("seasonal_naive").name == "seasonal_naive"


def test_an_unknown_name_is_refused_naming_the_known_ones():
    known = "known models are auto_ets, seasonal_naive, ttm"
    with pytest.raises(ValueError, match=f"unknown forecast model 'prophet': {known}"):
        models.build("prophet")


def test_ttm_without_a_path_is_refused():
    with pytest.raises(ValueError, match="path="):
        models.build("ttm")


def test_a_short_history_goes_to_auto_ets_and_says_so():
    y = 5 + np.sin(np.arange(212) * 2 * np.pi / 24)
    f = models.forecast_with_fallback(NeedsLongHistory(), y, 96, 24)
    assert f.model == "auto_ets"
    assert f.fallback == "212 steps of history, ttm needs 512: AutoETS"
    assert len(f.mean) == 96


def test_a_history_too_short_even_for_auto_ets_goes_to_seasonal_naive():
    f = models.forecast_with_fallback(NeedsLongHistory(), np.array([1.0, 2.0, 3.0, 2.0, 1.0]), 4, 1440)
    assert f.model == "seasonal_naive"
    assert f.fallback == ("5 steps of history, ttm needs 512: seasonal naive "
                          "(season of 1440 steps, 5 steps of history: naive (last value))")
    np.testing.assert_allclose(f.mean, 1.0)


def test_a_long_enough_history_is_the_model_own():
    y = 5 + np.sin(np.arange(300) * 2 * np.pi / 24)
    f = models.forecast_with_fallback(AutoETS(), y, 24, 24)
    assert f.model == "auto_ets" and f.fallback is None
