"""Seasonal naive and AutoETS through statsforecast: exact where they must be, honest bands."""

from __future__ import annotations

import numpy as np
import pytest

from vigia.forecast.models.stats import AutoETS, SeasonalNaive


def seasonal(n: int, season: int) -> np.ndarray:
    return 10 + 3 * np.sin(2 * np.pi * np.arange(n) / season) + np.cos(4 * np.pi * np.arange(n) / season)


def test_seasonal_naive_repeats_the_last_season_exactly():
    y = seasonal(5 * 24, 24)
    f = SeasonalNaive().forecast(y, 60, 24)
    expected = np.tile(y[-24:], 3)[:60]
    np.testing.assert_allclose(f.mean, expected, atol=1e-9)
    assert f.fallback is None and f.model == "seasonal_naive"
    assert np.all(f.lower <= f.mean) and np.all(f.mean <= f.upper)


def test_seasonal_naive_with_less_than_a_season_repeats_the_last_value_and_says_so():
    y = np.arange(30.0)
    f = SeasonalNaive().forecast(y, 5, 1440)
    np.testing.assert_allclose(f.mean, 29.0)
    assert f.fallback == "season of 1440 steps, 30 steps of history: naive (last value)"


def test_auto_ets_band_covers_about_95_percent_of_noisy_futures():
    covered, total = 0, 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        y = seasonal(24 * 20 + 48, 24) + rng.normal(0, 1.0, 24 * 20 + 48)
        history, future = y[:-48], y[-48:]
        f = AutoETS().forecast(history, 48, 24)
        covered += int(np.sum((future >= f.lower) & (future <= f.upper)))
        total += len(future)
        # The seasonal shape is learnt: far closer than the history's mean.
        assert np.mean(np.abs(f.mean - future)) < 0.6 * np.mean(np.abs(history.mean() - future))
    assert 0.85 <= covered / total <= 0.995


def test_auto_ets_takes_a_long_season_out_with_stl():
    rng = np.random.default_rng(3)
    y = seasonal(3 * 96 + 32, 96) + rng.normal(0, 0.2, 3 * 96 + 32)
    f = AutoETS().forecast(y[:-32], 32, 96)
    assert f.fallback is None
    assert np.mean(np.abs(f.mean - y[-32:])) < 0.5


def test_auto_ets_without_two_seasons_drops_the_season_and_says_so():
    y = seasonal(512, 24)[:100] + np.linspace(0, 1, 100)
    f = AutoETS().forecast(y, 10, 1440)
    assert f.fallback == "season of 1440 steps needs 2880 steps of history, 100 given: AutoETS without season"
    assert len(f.mean) == 10 and np.all(np.isfinite(f.mean))


@pytest.mark.parametrize("model", [SeasonalNaive(), AutoETS()])
def test_a_constant_series_is_forecast_flat_with_no_width(model):
    f = model.forecast(np.full(200, 7.5), 12, 24)
    np.testing.assert_array_equal(f.mean, np.full(12, 7.5))
    np.testing.assert_array_equal(f.lower, f.upper)


@pytest.mark.parametrize("model", [SeasonalNaive(), AutoETS()])
def test_bad_input_is_refused(model):
    with pytest.raises(ValueError, match="NaN"):
        model.forecast(np.array([1.0, np.nan, 3.0] * 10), 4, 3)
    with pytest.raises(ValueError, match="horizon"):
        model.forecast(np.arange(30.0), 0, 3)
