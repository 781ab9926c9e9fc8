"""A device's forecasts as its page charts them: per metric, the forecast in force (the newest
stored by the forecast service), the metric's recent readings resampled to the forecast's step,
and the ``forecast`` anomalies of that window."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from vigia.common.db import STEP_ORIGIN, telemetry_steps_sql
from vigia.control.observations.models import Anomaly, Forecast


def latest_forecasts(org_id: uuid.UUID, device_id: uuid.UUID, metric: str | None) -> list[Forecast]:
    """The forecast in force of each of the device's metrics (or of ``metric``), by metric name:
    one probe of the forecasts_latest index per metric."""
    rows = Forecast.objects.filter(org_id=org_id, device_id=device_id)
    metrics = [metric] if metric is not None else sorted(
        rows.order_by().values_list("metric", flat=True).distinct())
    found = (rows.filter(metric=name).order_by("-made_at").first() for name in metrics)
    return [forecast for forecast in found if forecast is not None]


def chart(forecast: Forecast, history_steps: int, now: datetime) -> dict[str, Any]:
    """One metric's chart: the forecast's points, the readings from ``history_steps`` steps before
    its start until now (the steps it covers so far included: they are what the band is judged
    against), and the forecast anomalies among them."""
    step = timedelta(seconds=forecast.step_s)
    since = forecast.start - history_steps * step
    until = min(now, forecast.start + len(forecast.mean) * step)
    with connection.cursor() as cursor:
        cursor.execute(telemetry_steps_sql(forecast.metric), {
            "step": forecast.step_s, "origin": STEP_ORIGIN, "org": forecast.org_id, "device": forecast.device_id,
            "since": since, "until": max(until, since)})
        history = [{"t": bucket, "value": value} for bucket, value in cursor.fetchall()]
    anomalies = (Anomaly.objects.filter(org_id=forecast.org_id, device_id=forecast.device_id, kind="forecast",
                                        details__metric=forecast.metric, time__gte=since,
                                        time__lt=forecast.start + len(forecast.mean) * step)
                 .order_by("time"))
    return {
        "metric": forecast.metric,
        "model": forecast.model,
        "fallback": forecast.fallback,
        "made_at": forecast.made_at,
        "step_s": forecast.step_s,
        "history_steps": forecast.history_steps,
        "start": forecast.start,
        "level": forecast.level,
        "points": [{"t": forecast.start + i * step, "mean": mean, "lower": lower, "upper": upper}
                   for i, (mean, lower, upper) in enumerate(zip(forecast.mean, forecast.lower, forecast.upper,
                                                                strict=True))],
        "history": history,
        "anomalies": [{"id": a.id, "t": a.time, "value": a.value, "severity": a.severity, "score": a.score,
                       "expected": a.details.get("expected"), "lower": a.details.get("lower"),
                       "upper": a.details.get("upper")} for a in anomalies],
    }
