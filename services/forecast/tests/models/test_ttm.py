"""TinyTimeMixer: trained here, saved with save_pretrained, loaded from the directory (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vigia.forecast import models
from vigia.forecast.models.ttm import ModelNotFound, TTMForecaster, train_ttm

CONTEXT, HORIZON = 128, 32


def wave(n: int, period: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 20 + rng.uniform(1, 4) * np.sin(2 * np.pi * t / period + rng.uniform(0, 6)) + rng.normal(0, 0.2, n)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)  # the machine is shared
    periods = np.random.default_rng(5).uniform(16, 40, 24)
    series = [wave(600, float(period), seed) for seed, period in enumerate(periods)]
    return train_ttm(series, tmp_path_factory.mktemp("ttm"), context=CONTEXT, horizon=HORIZON, epochs=6, seed=1,
                     stride=4)


def test_a_trained_ttm_is_saved_with_its_figures_and_band(trained: Path):
    assert (trained / "config.json").is_file()
    figures = json.loads((trained / "training.json").read_text())
    assert figures["context"] == CONTEXT and figures["horizon"] == HORIZON
    assert figures["train_loss_scaled_mse"][-1] < figures["train_loss_scaled_mse"][0]
    band = json.loads((trained / "bands.json").read_text())
    assert len(band["low"]) == HORIZON and all(lo < hi for lo, hi in zip(band["low"], band["high"], strict=True))


def test_a_loaded_ttm_forecasts_the_seasonal_shape_better_than_a_flat_line(trained: Path):
    model = models.build("ttm", path=str(trained))
    assert isinstance(model, TTMForecaster) and model.min_history == CONTEXT
    errors, flat_errors, covered = [], [], 0
    for seed, period in zip(range(100, 106), [22, 30, 18, 22, 30, 18], strict=True):  # unseen series
        y = wave(CONTEXT + HORIZON, period, seed)
        f = model.forecast(y[:CONTEXT], HORIZON, period)
        future = y[CONTEXT:]
        errors.append(np.mean(np.abs(f.mean - future)))
        flat_errors.append(np.mean(np.abs(y[:CONTEXT].mean() - future)))
        covered += int(np.sum((future >= f.lower) & (future <= f.upper)))
        assert np.all(f.lower <= f.mean) and np.all(f.mean <= f.upper)
    assert np.mean(errors) < 0.5 * np.mean(flat_errors)
    assert covered / (6 * HORIZON) > 0.6


def test_a_short_history_falls_back_to_auto_ets(trained: Path):
    model = TTMForecaster.load(trained)
    f = models.forecast_with_fallback(model, wave(100, 16, 7), 16, 16)
    assert f.model == "auto_ets" and f.fallback == f"100 steps of history, ttm needs {CONTEXT}: AutoETS"


def test_loading_a_missing_or_foreign_directory_names_it(tmp_path: Path):
    with pytest.raises(ModelNotFound, match=str(tmp_path / "nowhere")):
        TTMForecaster.load(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelNotFound, match=str(tmp_path)):
        TTMForecaster.load(tmp_path)
