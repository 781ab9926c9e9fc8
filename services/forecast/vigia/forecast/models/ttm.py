"""TinyTimeMixer (IBM's TTM, through ``granite-tsfm``): a small MLP-mixer forecaster of the last
``context`` steps to the next ``prediction_length``.

Two sources of weights, both local directories written by ``save_pretrained``:

* pretrained Granite TTM-R2 weights an admin puts on the machine (never downloaded: the loader
  sets ``HF_HUB_OFFLINE`` and passes ``local_files_only``);
* a TTM the project trains on the organization's own history (:func:`train_ttm`).

TTM is a point forecaster. Its 95 % band is the model's own error: the 2.5 and 97.5 percentiles
of its residuals per horizon step, measured on held-out windows and in units of each window's
standard deviation (``bands.json`` beside the weights, written by :func:`train_ttm` or
:meth:`TTMForecaster.calibrate`). A model without them (pretrained weights as shipped) uses a
random-walk band, ``1.96 * sd(one-step change) * sqrt(step)``, until it is calibrated.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vigia.forecast.models.base import CONTEXT, HORIZON, LEVEL, Forecast

BANDS_FILE = "bands.json"
TRAINING_FILE = "training.json"
_EPS = 1e-8


class ModelNotFound(ValueError):
    """The directory holds no TinyTimeMixer saved with ``save_pretrained``."""


def _torch() -> Any:
    import torch

    return torch


def _ttm() -> Any:
    """tsfm_public's TTM classes, imported on first use (transformers takes seconds to import)."""
    from tsfm_public.models.tinytimemixer import TinyTimeMixerConfig, TinyTimeMixerForPrediction

    return TinyTimeMixerConfig, TinyTimeMixerForPrediction


@dataclass(frozen=True)
class Bands:
    """Per horizon step, the 2.5 and 97.5 percentiles of residuals / window sd."""

    low: np.ndarray
    high: np.ndarray

    def save(self, directory: Path) -> None:
        (directory / BANDS_FILE).write_text(json.dumps(
            {"level": LEVEL, "unit": "window standard deviations",
             "low": [round(float(v), 6) for v in self.low], "high": [round(float(v), 6) for v in self.high]}))

    @classmethod
    def read(cls, directory: Path) -> Bands | None:
        path = directory / BANDS_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        return cls(np.asarray(data["low"], dtype=np.float64), np.asarray(data["high"], dtype=np.float64))

    @classmethod
    def of(cls, residuals: np.ndarray) -> Bands:
        """From scaled residuals of shape (windows, horizon)."""
        tail = (100 - LEVEL) / 2
        return cls(np.percentile(residuals, tail, axis=0), np.percentile(residuals, 100 - tail, axis=0))


class TTMForecaster:
    """A loaded TTM. ``min_history`` is its context length: a shorter series is forecast by the
    statistical model (:func:`vigia.forecast.models.forecast_with_fallback`)."""

    name = "ttm"

    def __init__(self, model: Any, bands: Bands | None = None, source: str = "") -> None:
        self.model = model.eval()
        self.context: int = int(model.config.context_length)
        self.prediction_length: int = int(model.config.prediction_length)
        self.min_history = self.context
        self.bands = bands
        self.source = source

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TTMForecaster:
        """The TTM saved in directory ``path`` (and its ``bands.json`` when there is one), from the
        local disk only. :class:`ModelNotFound` names the path when it is missing or not a TTM."""
        directory = Path(path)
        if not (directory / "config.json").is_file():
            raise ModelNotFound(f"no TinyTimeMixer at {directory}: no config.json there")
        os.environ["HF_HUB_OFFLINE"] = "1"  # never the network, whatever transformers would try
        config_cls, model_cls = _ttm()
        try:
            config = config_cls.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelNotFound(f"no TinyTimeMixer at {directory}: {exc}") from exc
        if getattr(config, "model_type", None) != config_cls.model_type:
            kind = getattr(config, "model_type", "?")
            raise ModelNotFound(f"{directory} holds a {kind!r} model, not a TinyTimeMixer")
        try:
            model = model_cls.from_pretrained(directory, local_files_only=True)
        except OSError as exc:
            raise ModelNotFound(f"no TinyTimeMixer weights at {directory}: {exc}") from exc
        return cls(model, Bands.read(directory), source=str(directory))

    def _predict(self, windows: np.ndarray) -> np.ndarray:
        """Point forecasts for a batch of context windows (n, context) -> (n, prediction_length)."""
        torch = _torch()
        with torch.no_grad():
            x = torch.as_tensor(windows, dtype=torch.float32).unsqueeze(-1)
            out = self.model(past_values=x).prediction_outputs
        return np.asarray(out[..., 0].numpy(), dtype=np.float64)

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> Forecast:
        """``season`` is not used: TTM learns the shapes it sees in its context."""
        y = np.asarray(history, dtype=np.float64)
        if len(y) < self.context:
            raise ValueError(f"{len(y)} steps of history, ttm needs {self.context}")
        if not 1 <= horizon <= self.prediction_length:
            raise ValueError(f"horizon must be 1..{self.prediction_length} for this TTM, not {horizon}")
        window = y[-self.context:]
        mean = self._predict(window[None, :])[0, :horizon]
        sd = float(np.std(window))
        if self.bands is not None:
            lower = mean + self.bands.low[:horizon] * sd
            upper = mean + self.bands.high[:horizon] * sd
        else:
            step_sd = float(np.std(np.diff(window)))
            half = 1.96 * step_sd * np.sqrt(np.arange(1, horizon + 1))
            lower, upper = mean - half, mean + half
        return Forecast(self.name, mean, np.minimum(lower, mean), np.maximum(upper, mean), level=LEVEL)

    def calibrate(self, series: list[np.ndarray], stride: int = 16) -> Bands:
        """Measure the band on ``series`` (history the model was not trained on) and keep it."""
        ctx, future, _ = _windows(series, self.context, self.prediction_length, stride)
        if not len(ctx):
            needed = self.context + self.prediction_length
            raise ValueError(f"no series is {needed} steps long: nothing to calibrate on")
        self.bands = Bands.of(_scaled_residuals(self, ctx, future))
        return self.bands


def _windows(series: list[np.ndarray], context: int, horizon: int,
             stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sliding (context, future) windows of every series; the third array says which series."""
    ctx, fut, which = [], [], []
    for k, s in enumerate(series):
        s = np.asarray(s, dtype=np.float64)
        for start in range(0, len(s) - context - horizon + 1, stride):
            ctx.append(s[start:start + context])
            fut.append(s[start + context:start + context + horizon])
            which.append(k)
    if not ctx:
        return np.empty((0, context)), np.empty((0, horizon)), np.empty(0, dtype=int)
    return np.stack(ctx), np.stack(fut), np.asarray(which)


def _scaled_residuals(forecaster: TTMForecaster, ctx: np.ndarray, future: np.ndarray, batch: int = 256) -> np.ndarray:
    preds = np.concatenate([forecaster._predict(ctx[i:i + batch]) for i in range(0, len(ctx), batch)])
    sd = ctx.std(axis=1, keepdims=True) + _EPS
    return np.asarray((future - preds[:, :future.shape[1]]) / sd)


def small_config(context: int = CONTEXT, horizon: int = HORIZON) -> Any:
    """A TTM small enough to train on a CPU in minutes: 8 patches of context/8 steps, d_model 32."""
    config_cls, _ = _ttm()
    patch = max(1, context // 8)
    return config_cls(
        context_length=context, prediction_length=horizon, patch_length=patch, patch_stride=patch,
        num_input_channels=1, d_model=32, num_layers=2, decoder_num_layers=2, decoder_d_model=16,
        expansion_factor=2, dropout=0.1, head_dropout=0.1, scaling="std", loss="mse",
        adaptive_patching_levels=0, use_decoder=True,
    )


def train_ttm(series: list[np.ndarray], out_dir: str | os.PathLike[str], *, context: int = CONTEXT,
              horizon: int = HORIZON, epochs: int = 10, seed: int = 0, stride: int = 8, batch_size: int = 64,
              learning_rate: float = 3e-3, max_windows: int = 20_000) -> Path:
    """Train a :func:`small_config` TTM from scratch on sliding windows of ``series`` and save it to
    ``out_dir`` with ``save_pretrained``, with ``bands.json`` and ``training.json`` (its figures).

    Each window is scaled by its own context's mean and sd (TTM's ``std`` scaler) and the loss is
    the MSE in those units, so a series of large values weighs no more than one of small values.
    The last 20 % of each series' windows are held out: they measure the validation loss and the
    band. Deterministic for a ``seed`` on one machine. Returns the directory."""
    torch = _torch()
    _, model_cls = _ttm()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_ctx, train_fut, val_ctx, val_fut = [], [], [], []
    for s in series:
        ctx, fut, _ = _windows([s], context, horizon, stride)
        cut = int(len(ctx) * 0.8) if len(ctx) >= 5 else len(ctx)
        train_ctx.append(ctx[:cut])
        train_fut.append(fut[:cut])
        # Held-out windows start after the last training window's future ends: no overlap.
        gap = -(-horizon // stride)
        val_ctx.append(ctx[cut + gap:])
        val_fut.append(fut[cut + gap:])
    x, y = np.concatenate(train_ctx), np.concatenate(train_fut)
    if not len(x):
        raise ValueError(f"no series is {context + horizon} steps long: nothing to train on")
    if len(x) > max_windows:
        keep = rng.choice(len(x), max_windows, replace=False)
        x, y = x[keep], y[keep]
    vx, vy = np.concatenate(val_ctx), np.concatenate(val_fut)

    model = model_cls(small_config(context, horizon))
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    steps = epochs * -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=max(1, steps))
    xt = torch.as_tensor(x, dtype=torch.float32).unsqueeze(-1)
    yt = torch.as_tensor(y, dtype=torch.float32).unsqueeze(-1)
    sd = xt.std(dim=1, keepdim=True) + 1e-5
    started = time.monotonic()
    losses = []
    for _epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt))
        total = 0.0
        for i in range(0, len(order), batch_size):
            b = order[i:i + batch_size]
            pred = model(past_values=xt[b]).prediction_outputs
            loss = torch.mean(((pred - yt[b]) / sd[b]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(b)
        losses.append(total / len(xt))

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    forecaster = TTMForecaster(model)
    metrics: dict[str, Any] = {
        "context": context, "horizon": horizon, "epochs": epochs, "seed": seed, "series": len(series),
        "train_windows": len(x), "validation_windows": len(vx), "train_loss_scaled_mse": [round(v, 5) for v in losses],
        "seconds": round(time.monotonic() - started, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if len(vx):
        residuals = _scaled_residuals(forecaster, vx, vy)
        Bands.of(residuals).save(out)
        metrics["validation_scaled_mse"] = round(float(np.mean(residuals ** 2)), 5)
    (out / TRAINING_FILE).write_text(json.dumps(metrics, indent=1))
    return out
