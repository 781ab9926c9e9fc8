"""Forecast benchmark: which model forecasts device metrics best, and how many forecasts a core makes.

Run: ``.venv/bin/python tests/bench/bench_forecast.py [--origins 5] [--epochs 12] [--quick]``
Prints ONE JSON line. Needs statsmodels (it comes with statsforecast) for its shipped datasets.

* Backtest, rolling origin: each series is cut at ``--origins`` points ``horizon`` steps apart
  (the last cut leaves exactly ``horizon`` steps after it); every model forecasts ``horizon`` steps
  from the history before the cut (the statistical models from up to 2048 steps, TTM from its last
  512) through the registry's ``forecast_with_fallback``, so a history shorter than TTM needs is
  answered by AutoETS and counted in ``ttm_fallbacks``. Errors: MASE (mean absolute error over the
  in-sample seasonal naive's, lag 1 when the history holds under two seasons) and sMAPE (%).
* Series: (a) phonesim phones (``vigia.simulators.phonesim.signals``, 1 packet/s) resampled to
  1-minute means: magnetometer magnitude (season: the phone's own sine period in whole minutes) and
  bluetooth devices seen (season 1440 steps, one day: the registry's default, longer than any
  history here, so the models run without it); (b) statsmodels' shipped datasets: co2 (weekly,
  gaps interpolated, season 52), elnino (monthly, season 12), sunspots (yearly, season 11,
  horizon 22: 309 years leave no room for 96).
* The TTM is trained by this bench (``train_ttm``, context 512, horizon 96) on phonesim phones of
  other seeds and synthetic seasonal series, never on a series it is evaluated on; the JSON says
  which (``ttm_trained_on``).
* The winner is the model with the lowest mean over datasets of the mean MASE; ``why`` says by
  how much. ``capacity``: forecasts per core per second of each model for one device metric
  (512 steps of history, season 1440, one torch thread), and the core-seconds one refresh of
  ``--metrics`` device metrics takes; ``auto_ets_2880_steps_stl``: AutoETS given two days of
  minutes, so that it uses the daily season (STL + AutoETS).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vigia.forecast import models
from vigia.forecast.models.base import CONTEXT, HORIZON, Forecaster
from vigia.forecast.models.ttm import TTMForecaster, train_ttm
from vigia.simulators.phonesim.signals import PhoneSignals, SignalConfig

MODELS = ("seasonal_naive", "auto_ets", "ttm")
STATS_HISTORY = 2048
EVAL_SEED = 2
TRAIN_SEEDS = (11, 12)


@dataclass
class Series:
    dataset: str
    name: str
    values: np.ndarray
    season: int
    horizon: int = HORIZON


def phone_minutes(seed: int, index: int, minutes: int) -> tuple[np.ndarray, np.ndarray, float]:
    """1-minute means of a phonesim phone's magnetometer magnitude and bluetooth count, and the
    period of its magnetometer sine in seconds."""
    phone = PhoneSignals(SignalConfig(rate=1.0, audio_rate=0), seed=seed, index=index, epoch_ns=0)
    mag = np.empty(minutes * 60)
    bt = np.empty(minutes * 60)
    for i in range(minutes * 60):
        p = phone.packet(i)
        mag[i] = p["magnetometer"]["magnitude"]
        bt[i] = p["bluetooth_devices_count"]
        if i % 600 == 0:
            phone.forget_before(p["timestamp"] - 10**10)
    return mag.reshape(minutes, 60).mean(axis=1), bt.reshape(minutes, 60).mean(axis=1), float(phone.season_period)


def phonesim_series(seed: int, phones: int, minutes: int) -> list[Series]:
    out = []
    for index in range(phones):
        mag, bt, period_s = phone_minutes(seed, index, minutes)
        out.append(Series("phonesim", f"seed{seed}/phone{index}/magnetometer", mag, max(2, round(period_s / 60))))
        out.append(Series("phonesim", f"seed{seed}/phone{index}/bluetooth", bt, 1440))
    return out


def statsmodels_series() -> list[Series]:
    import statsmodels.api as sm

    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy(dtype=np.float64)
    elnino = sm.datasets.elnino.load_pandas().data.drop(columns="YEAR").to_numpy(dtype=np.float64).ravel()
    sunspots = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=np.float64)
    return [Series("co2", "co2 (weekly)", co2, 52), Series("elnino", "elnino (monthly)", elnino, 12),
            Series("sunspots", "sunspots (yearly)", sunspots, 11, horizon=22)]


def synthetic_series(count: int, length: int, seed: int) -> list[np.ndarray]:
    """Seasonal shapes for TTM to learn from: one or two sines of random periods (4-200 steps), a
    trend, AR(1) noise and now and then a level shift, on random levels and scales."""
    rng = np.random.default_rng(seed)
    out = []
    t = np.arange(length)
    for _ in range(count):
        y = np.zeros(length)
        for _k in range(int(rng.integers(1, 3))):
            period = float(np.exp(rng.uniform(np.log(4), np.log(200))))
            y += rng.uniform(0.2, 2.0) * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        y += rng.normal(0, 1) * t / length
        noise = np.zeros(length)
        phi, sd = rng.uniform(0, 0.9), rng.uniform(0.05, 0.6)
        eps = rng.normal(0, sd, length)
        for i in range(1, length):
            noise[i] = phi * noise[i - 1] + eps[i]
        y += noise
        if rng.random() < 0.3:
            y[int(rng.integers(length // 4, length)):] += rng.normal(0, 1.5)
        out.append(rng.uniform(-50, 100) + rng.uniform(0.5, 20) * y)
    return out


def mase_scale(history: np.ndarray, season: int) -> float:
    lag = season if len(history) >= 2 * season else 1
    diffs = np.abs(history[lag:] - history[:-lag])
    return float(np.mean(diffs)) or 1e-9


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    denom = np.abs(actual) + np.abs(forecast)
    terms = np.where(denom > 0, 2 * np.abs(actual - forecast) / np.where(denom > 0, denom, 1), 0.0)
    return float(100 * np.mean(terms))


def origins(series: Series, count: int) -> Iterator[int]:
    n, h = len(series.values), series.horizon
    for k in range(count - 1, -1, -1):
        cut = n - h - k * h
        if cut >= 24:
            yield cut


def backtest(series: list[Series], forecasters: dict[str, Forecaster], count: int) -> dict[str, dict[str, list]]:
    """Per model: the MASE and sMAPE of every (series, origin), and which fell back and why."""
    scores: dict[str, dict[str, list]] = {m: {"mase": [], "smape": [], "dataset": [], "fallbacks": []}
                                          for m in forecasters}
    for s in series:
        for cut in origins(s, count):
            actual = s.values[cut:cut + s.horizon]
            for name, model in forecasters.items():
                history = s.values[max(0, cut - STATS_HISTORY):cut] if name != "ttm" else s.values[:cut]
                f = models.forecast_with_fallback(model, history, s.horizon, s.season)
                scale = mase_scale(s.values[max(0, cut - STATS_HISTORY):cut], s.season)
                scores[name]["mase"].append(float(np.mean(np.abs(actual - f.mean))) / scale)
                scores[name]["smape"].append(smape(actual, f.mean))
                scores[name]["dataset"].append(s.dataset)
                if f.fallback:
                    scores[name]["fallbacks"].append(f"{s.name}@{cut}: {f.fallback}")
    return scores


def summary(scores: dict[str, dict[str, list]]) -> dict[str, dict[str, dict[str, float]]]:
    """dataset -> model -> mean MASE, mean sMAPE, MASE relative to seasonal naive's."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    datasets = sorted(set(scores["seasonal_naive"]["dataset"]))
    for d in datasets:
        out[d] = {}
        for m, sc in scores.items():
            pick = [i for i, x in enumerate(sc["dataset"]) if x == d]
            out[d][m] = {"mase": round(float(np.mean([sc["mase"][i] for i in pick])), 4),
                         "smape": round(float(np.mean([sc["smape"][i] for i in pick])), 3),
                         "windows": len(pick)}
        for m in scores:
            out[d][m]["mase_vs_seasonal_naive"] = round(out[d][m]["mase"] / out[d]["seasonal_naive"]["mase"], 3)
    return out


def capacity(forecasters: dict[str, Forecaster], metrics: int, seconds: float) -> dict[str, dict[str, float]]:
    """Forecasts per core per second for one metric's 512 steps, season 1440 (one torch thread)."""
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    history = 48 + np.sin(np.arange(CONTEXT) * 2 * np.pi / 7) + rng.normal(0, 0.3, CONTEXT)
    out = {}
    for name, model in forecasters.items():
        model.forecast(history, HORIZON, 1440)  # warm-up (imports, numba, first call)
        n, started = 0, time.process_time()
        while time.process_time() - started < seconds:
            model.forecast(history, HORIZON, 1440)
            n += 1
        rate = n / (time.process_time() - started)
        out[name] = {"forecasts_per_core_s": round(rate, 2),
                     f"core_s_per_refresh_of_{metrics}": round(metrics / rate, 2)}
    # Two days of history let AutoETS use the daily season (STL first): far dearer per forecast.
    long = 48 + np.sin(np.arange(2 * 1440) * 2 * np.pi / 1440) + rng.normal(0, 0.3, 2 * 1440)
    started = time.process_time()
    forecasters["auto_ets"].forecast(long, HORIZON, 1440)
    rate = 1 / (time.process_time() - started)
    out["auto_ets_2880_steps_stl"] = {"forecasts_per_core_s": round(rate, 2),
                                      f"core_s_per_refresh_of_{metrics}": round(metrics / rate, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--origins", type=int, default=5, help="rolling origins per series")
    parser.add_argument("--phones", type=int, default=3, help="phonesim phones evaluated (seed 2)")
    parser.add_argument("--minutes", type=int, default=1400, help="minutes of each evaluated phone")
    parser.add_argument("--train-phones", type=int, default=2, help="phonesim phones per training seed (11, 12)")
    parser.add_argument("--synthetic", type=int, default=60, help="synthetic series TTM also trains on")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--metrics", type=int, default=1000, help="device metrics in one refresh (capacity)")
    parser.add_argument("--capacity-seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="2 phones, 3 origins, 4 epochs")
    args = parser.parse_args()
    if args.quick:
        args.phones, args.origins, args.epochs, args.train_phones, args.synthetic = 2, 3, 4, 1, 30

    import torch

    torch.set_num_threads(1)  # the machine is shared; capacity is per core anyway
    started = time.monotonic()
    train = [s.values for seed in TRAIN_SEEDS for s in phonesim_series(seed, args.train_phones, 2000)]
    train += synthetic_series(args.synthetic, 2000, seed=7)
    with tempfile.TemporaryDirectory() as tmp:
        path = train_ttm(train, tmp, context=CONTEXT, horizon=HORIZON, epochs=args.epochs, seed=0, stride=8)
        training = json.loads((path / "training.json").read_text())
        ttm: Forecaster = TTMForecaster.load(path)
    forecasters: dict[str, Forecaster] = {"seasonal_naive": models.build("seasonal_naive"),
                                          "auto_ets": models.build("auto_ets"), "ttm": ttm}
    evaluated = phonesim_series(EVAL_SEED, args.phones, args.minutes) + statsmodels_series()
    scores = backtest(evaluated, forecasters, args.origins)
    table = summary(scores)
    mean_mase = {m: round(float(np.mean([table[d][m]["mase"] for d in table])), 4) for m in MODELS}
    ranked = sorted(MODELS, key=lambda m: mean_mase[m])
    winner, second = ranked[0], ranked[1]
    wins = [d for d in table if min(MODELS, key=lambda m, d=d: table[d][m]["mase"]) == winner]
    others = ", ".join(f"{m} {mean_mase[m]}" for m in ranked[1:])
    why = (f"{winner} has the lowest mean MASE over {len(table)} datasets ({mean_mase[winner]}; {others}), "
           f"{round(mean_mase[winner] / mean_mase[second], 3)} of {second}'s; lowest on {', '.join(wins) or 'none'}")
    result = {
        "bench": "forecast",
        "horizon": HORIZON, "context": CONTEXT, "origins": args.origins,
        "horizon_note": "sunspots: horizon 22 (309 yearly values); TTM then uses the first 22 of its 96",
        "datasets": table,
        "mean_mase": mean_mase,
        "mean_smape": {m: round(float(np.mean([table[d][m]["smape"] for d in table])), 3) for m in MODELS},
        "winner": winner, "why": why,
        "ttm_fallbacks": len(scores["ttm"]["fallbacks"]),
        "ttm_fallback_examples": scores["ttm"]["fallbacks"][:2],
        "ttm_trained_on": (f"phonesim seeds {list(TRAIN_SEEDS)} x {args.train_phones} phones x 2 metrics (2000 min) + "
                           f"{args.synthetic} synthetic seasonal series (2000 steps); evaluated on phonesim seed "
                           f"{EVAL_SEED} and statsmodels co2, elnino, sunspots: none seen in training"),
        "ttm_training": {k: training[k] for k in ("epochs", "train_windows", "seconds", "parameters",
                                                  "validation_scaled_mse")},
        "capacity": capacity(forecasters, args.metrics, args.capacity_seconds),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result, separators=(",", ":")))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
