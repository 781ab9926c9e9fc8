"""The forecast service's work, one device metric at a time (:meth:`ForecastService.refresh_metric`):

1. read the metric's last ``CONTEXT`` steps (:class:`vigia.forecast.series.StepMeans`: only those
   since the last refresh from the database, the others kept);
2. compare the steps completed since the forecast in force was made with its band: each observed
   step outside it (by ``threshold`` half-widths) is published as ``anomaly.detected`` of kind
   ``forecast`` with an id derived from (device, metric, step), so a refresh repeated after a crash
   publishes the same messages, which consumers store once;
3. forecast the next ``HORIZON`` steps (the registry's :func:`forecast_with_fallback`: the
   statistical model for a short history, saying so) and store it; it is now the one in force, so
   the steps compared in 2 are never compared again;
4. announce it as ``forecast.updated`` (for the operators' screens; dropped when no screen listens).

Anomalies are published before the new forecast is stored: a crash in between leaves the old
forecast in force and the next refresh finds the same steps again, under the same ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from prometheus_client import Counter, Histogram
from sqlalchemy import Engine

from vigia.common.broker import MessageMeta, UnroutableError
from vigia.common.ids import uuid7_of
from vigia.common.messages import (
    AnomalyDetected,
    Envelope,
    ForecastAnomaly,
    ForecastRequested,
    ForecastUpdated,
    Severity,
    make,
)
from vigia.forecast import models
from vigia.forecast.forecasts import StoredForecast, active_devices, device_org, latest_forecast, store_forecast
from vigia.forecast.models.base import CONTEXT, HORIZON, Forecaster
from vigia.forecast.series import MetricSpec, Series, StepMeans, step_floor

log = logging.getLogger(__name__)

Publish = Callable[[Envelope], Awaitable[None]]

REFRESHES = Counter("vigia_forecast_refreshes_total", "Device metrics the forecast service refreshed, by "
                    "outcome (stored; fallback: stored, made by the statistical model for a short history; "
                    "no_data: no reading in the context window; failed)", ["metric", "outcome"])
ANOMALIES = Counter("vigia_forecast_anomalies_total", "Resampled readings outside their forecast band, "
                    "published as anomaly.detected of kind forecast", ["metric"])
FORECAST_SECONDS = Histogram("vigia_forecast_seconds", "Time to refresh one device metric (read, compare, "
                             "forecast, store)", ["metric"],
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def forecast_anomaly_id(device: uuid.UUID, metric: str, step: datetime) -> uuid.UUID:
    """A UUIDv7 whose time is the step's and whose other bits hash (device, metric, step): the same
    step found outside the band again (a repeated refresh) is the same message."""
    ns = int(step.timestamp()) * 1_000_000_000
    return uuid7_of(ns, f"{device}:forecast:{metric}:{ns}")


def severity_of(score: float) -> Severity:
    """How far outside the band, in half-widths of the band on the reading's side."""
    if score >= 3:
        return Severity.critical
    if score >= 2:
        return Severity.high
    if score >= 1.5:
        return Severity.medium
    return Severity.low


@dataclass(frozen=True)
class Residual:
    """One observed step outside the forecast band."""

    time: datetime
    value: float
    expected: float
    lower: float
    upper: float
    score: float


def outside_band(series: Series, forecast: StoredForecast, threshold: float, min_history: int = 0) -> list[Residual]:
    """The observed steps of ``series`` that ``forecast`` covers and that lie farther from its mean
    than ``threshold`` times the band's half-width on their side. A forecast made from fewer than
    ``min_history`` steps judges nothing, nor does a step whose band has no width: a few steps, or a
    flat history, give no spread to measure a reading against (a new device would flag its every
    change)."""
    found: list[Residual] = []
    if forecast.history_steps < min_history:
        return found
    for i in np.flatnonzero(series.observed):
        moment = series.time_of(int(i))
        k = forecast.index_of(moment)
        if k is None:
            continue
        value, mean = float(series.values[i]), float(forecast.mean[k])
        lower, upper = float(forecast.lower[k]), float(forecast.upper[k])
        half = (upper - mean) if value >= mean else (mean - lower)
        if half <= 0:
            continue
        score = abs(value - mean) / half
        if score > threshold:
            found.append(Residual(moment, value, mean, lower, upper, score))
    return found


@dataclass(frozen=True)
class Refreshed:
    """What one refresh of a device metric did."""

    metric: str
    outcome: str
    forecast: StoredForecast | None = None
    anomalies: tuple[Envelope, ...] = ()


class ForecastService:
    """Refreshes device metrics' forecasts through the adapters it is given: the database
    (``engine``), the model and the publisher."""

    def __init__(self, engine: Engine, model: Forecaster, metrics: list[MetricSpec], publish: Publish, *,
                 threshold: float = 1.0, min_history: int = 0, source: str = "forecast",
                 clock: Callable[[], float] = time.time, steps: StepMeans | None = None) -> None:
        self.engine = engine
        self.steps = steps or StepMeans()  # each refresh reads only the steps since the last
        self.model = model
        self.metrics = {spec.name: spec for spec in metrics}
        self.publish = publish
        self.threshold = threshold
        self.min_history = min_history
        self.source = source
        self.clock = clock

    # --- entry points ---

    async def refresh_active(self, since: datetime) -> int:
        """Refresh every metric of every device seen since ``since``; returns how many devices."""
        devices = await asyncio.to_thread(self._read, active_devices, since)
        for org, device in devices:
            try:
                await self.refresh_device(org, device)
            except Exception:  # one device's failure must not starve the others
                log.exception("forecast refresh failed", extra={"device": str(device)})
        return len(devices)

    async def handle_request(self, envelope: Envelope, meta: MessageMeta) -> None:
        """``forecast.requested`` (queue forecast.control): refresh that device now."""
        request = envelope.data
        if not isinstance(request, ForecastRequested):
            log.warning("forecast.control got %s: ignored", envelope.type)
            return
        org = await asyncio.to_thread(self._read, device_org, request.device)
        if org != envelope.org:  # deleted meanwhile, or not that organization's: nothing to refresh
            log.info("forecast request for an unknown device ignored", extra={"device": str(request.device)})
            return
        if request.metric is not None and request.metric not in self.metrics:
            log.info("forecast request for a metric not forecast ignored", extra={"metric": request.metric})
            return
        await self.refresh_device(envelope.org, request.device, request.metric, trace=envelope.trace)

    async def refresh_device(self, org: uuid.UUID, device: uuid.UUID, metric: str | None = None, *,
                             trace: str | None = None) -> list[Refreshed]:
        specs = [self.metrics[metric]] if metric is not None else list(self.metrics.values())
        return [await self.refresh_metric(org, device, spec, trace=trace) for spec in specs]

    # --- one device metric ---

    async def refresh_metric(self, org: uuid.UUID, device: uuid.UUID, spec: MetricSpec, *,
                             trace: str | None = None) -> Refreshed:
        started = time.perf_counter()
        now = datetime.fromtimestamp(self.clock(), UTC)
        until = step_floor(now, spec.step_s)
        try:
            series, previous = await asyncio.to_thread(self._inputs, org, device, spec, until)
            if series is None:
                REFRESHES.labels(spec.name, "no_data").inc()
                return Refreshed(spec.name, "no_data")
            anomalies = self._anomalies(org, device, spec, series, previous, trace) if previous else []
            if anomalies:
                await asyncio.gather(*(self.publish(a) for a in anomalies))
                ANOMALIES.labels(spec.name).inc(len(anomalies))
            made = await asyncio.to_thread(models.forecast_with_fallback, self.model, series.values, HORIZON,
                                           spec.season)
            stored = StoredForecast(org=org, device=device, metric=spec.name, model=made.model,
                                    fallback=made.fallback, made_at=now, step_s=spec.step_s,
                                    history_steps=len(series), start=series.end,
                                    level=made.level, mean=made.mean, lower=made.lower, upper=made.upper)
            stored = replace(stored, id=await asyncio.to_thread(self._store, stored))
            await self._announce(stored, anomalies, trace)
        except Exception:
            REFRESHES.labels(spec.name, "failed").inc()
            raise
        finally:
            FORECAST_SECONDS.labels(spec.name).observe(time.perf_counter() - started)
        outcome = "fallback" if stored.fallback else "stored"
        REFRESHES.labels(spec.name, outcome).inc()
        log.debug("forecast stored", extra={"device": str(device), "metric": spec.name, "model": stored.model,
                                            "steps": len(series), "anomalies": len(anomalies)})
        return Refreshed(spec.name, outcome, stored, tuple(anomalies))

    def _anomalies(self, org: uuid.UUID, device: uuid.UUID, spec: MetricSpec, series: Series,
                   forecast: StoredForecast, trace: str | None) -> list[Envelope]:
        found = []
        for r in outside_band(series, forecast, self.threshold, self.min_history):
            data = AnomalyDetected(
                device=device, kind="forecast", severity=severity_of(r.score), score=round(r.score, 4),
                observed_at=int(r.time.timestamp()) * 1_000_000_000, value=r.value,
                details={"metric": spec.name, "expected": round(r.expected, 6), "lower": round(r.lower, 6),
                         "upper": round(r.upper, 6), "model": forecast.model, "step_s": spec.step_s,
                         "forecast": str(forecast.id)})
            envelope = make("anomaly.detected", org, self.source, data, trace=trace)
            found.append(envelope.model_copy(update={"id": forecast_anomaly_id(device, spec.name, r.time)}))
        return found

    async def _announce(self, stored: StoredForecast, anomalies: list[Envelope], trace: str | None) -> None:
        shown = []
        for a in anomalies:
            data = a.data
            assert isinstance(data, AnomalyDetected) and data.value is not None
            shown.append(ForecastAnomaly(id=a.id, observed_at=data.observed_at, value=data.value,
                                         lower=data.details["lower"], upper=data.details["upper"],
                                         severity=data.severity))
        update = ForecastUpdated(device=stored.device, metric=stored.metric, model=stored.model,
                                 fallback=stored.fallback, made_at=_ns(stored.made_at), start=_ns(stored.start),
                                 step_s=stored.step_s, horizon=len(stored.mean), anomalies=shown)
        # Feed-only: unroutable means no live instance runs, so no screen to tell; the table holds it.
        with contextlib.suppress(UnroutableError):
            await self.publish(make("forecast.updated", stored.org, self.source, update, trace=trace))

    # --- the database, in a worker thread ---

    def _read(self, query: Callable[..., Any], *args: Any) -> Any:
        with self.engine.connect() as conn:
            return query(conn, *args)

    def _inputs(self, org: uuid.UUID, device: uuid.UUID, spec: MetricSpec,
                until: datetime) -> tuple[Series | None, StoredForecast | None]:
        with self.engine.connect() as conn:
            series = self.steps.read(conn, org, device, spec.name, spec.step_s, until, CONTEXT)
            previous = latest_forecast(conn, org, device, spec.name) if series is not None else None
        return series, previous

    def _store(self, forecast: StoredForecast) -> uuid.UUID:
        with self.engine.begin() as conn:
            return store_forecast(conn, forecast)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000
