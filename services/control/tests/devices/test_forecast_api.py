"""A device's forecasts: read (the one in force per metric, its readings and anomalies), asked for
now through the outbox, and never another organization's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from services.control.tests.devices.test_api import make_device
from vigia.control.observations.models import Anomaly, Forecast, Telemetry
from vigia.control.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db


def forecast(device: Any, metric: str, made_at: datetime, start: datetime, **extra: Any) -> Forecast:
    values = {"model": "ttm", "fallback": None, "step_s": 60, "history_steps": 512, "level": 95,
              "mean": [50.0, 51.0, 52.0], "lower": [49.0, 50.0, 51.0], "upper": [51.0, 52.0, 53.0], **extra}
    return Forecast.objects.create(org=device.org, device_id=device.id, metric=metric, made_at=made_at,
                                   start=start, **values)


def test_the_forecast_in_force_comes_with_its_readings_and_anomalies(api: Any, viewer: Any, org: Any) -> None:
    device = make_device(org)
    start = (datetime.now(UTC) - timedelta(minutes=1)).replace(second=0, microsecond=0)
    forecast(device, "mag_magnitude", start - timedelta(minutes=10), start - timedelta(minutes=10),
             model="old")  # replaced by the next one
    forecast(device, "mag_magnitude", start - timedelta(seconds=20), start)
    forecast(device, "audio_peak", start, start, model="seasonal_naive", fallback="only 40 steps of history")
    for minute, value in ((-2, 40.0), (-2, 42.0), (0, 80.0), (-500, 1.0)):
        Telemetry.objects.create(org=org, device_id=device.id, time=start + timedelta(minutes=minute, seconds=5),
                                 seq=minute + 1000 + int(value), mag_magnitude=value)
    Anomaly.objects.create(org=org, device_id=device.id, time=start, kind="forecast", severity="critical",
                           score=29.0, value=80.0, details={"metric": "mag_magnitude", "expected": 50.0,
                                                            "lower": 49.0, "upper": 51.0, "model": "ttm"})
    Anomaly.objects.create(org=org, device_id=device.id, time=start, kind="magnetic", severity="high", score=5.0)

    response = api(viewer).get(f"/api/v1/devices/{device.id}/forecast", {"history": 5})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["device"] == str(device.id)
    assert [(f["metric"], f["model"], f["fallback"]) for f in body["forecasts"]] == [
        ("audio_peak", "seasonal_naive", "only 40 steps of history"), ("mag_magnitude", "ttm", None)]
    mag = body["forecasts"][1]
    assert (mag["step_s"], mag["history_steps"], mag["level"], len(mag["points"])) == (60, 512, 95, 3)
    assert mag["points"][1] == {"t": _iso(start + timedelta(minutes=1)), "mean": 51.0, "lower": 50.0, "upper": 52.0}
    assert mag["history"] == [{"t": _iso(start - timedelta(minutes=2)), "value": 41.0},
                              {"t": _iso(start), "value": 80.0}]
    assert [(a["value"], a["severity"], a["expected"], a["upper"]) for a in mag["anomalies"]] == [
        (80.0, "critical", 50.0, 51.0)]

    one = api(viewer).get(f"/api/v1/devices/{device.id}/forecast", {"metric": "audio_peak"}).json()
    assert [f["metric"] for f in one["forecasts"]] == ["audio_peak"]
    bad = api(viewer).get(f"/api/v1/devices/{device.id}/forecast", {"metric": "telepathy"})
    assert bad.status_code == 400 and "metric" in bad.json()["error"]["fields"]


def test_a_device_without_forecasts_has_an_empty_list(api: Any, viewer: Any, org: Any) -> None:
    device = make_device(org)
    response = api(viewer).get(f"/api/v1/devices/{device.id}/forecast")
    assert response.status_code == 200 and response.json() == {"device": str(device.id), "forecasts": []}


def test_another_organizations_device_is_not_found(api: Any, outsider: Any, org: Any) -> None:
    device = make_device(org)
    forecast(device, "mag_magnitude", datetime.now(UTC), datetime.now(UTC))
    client = api(outsider)
    assert client.get(f"/api/v1/devices/{device.id}/forecast").status_code == 404
    assert client.post(f"/api/v1/devices/{device.id}/forecast/refresh", {}, format="json").status_code == 404
    assert not OutboxMessage.objects.filter(type="forecast.requested").exists()


def test_a_refresh_is_asked_for_through_the_outbox(api: Any, operator: Any, viewer: Any, org: Any) -> None:
    device = make_device(org)
    assert api(viewer).post(f"/api/v1/devices/{device.id}/forecast/refresh", {}, format="json").status_code == 403

    response = api(operator).post(f"/api/v1/devices/{device.id}/forecast/refresh", {"metric": "audio_peak"},
                                  format="json")

    assert response.status_code == 202, response.content
    row = OutboxMessage.objects.get(type="forecast.requested")
    assert response.json() == {"request": str(row.id), "device": str(device.id), "metric": "audio_peak"}
    assert (row.exchange, row.routing_key) == ("vigia.control", f"forecast.requested.{org.id}.{device.id}")
    assert orjson.loads(row.body)["data"] == {"device": str(device.id), "metric": "audio_peak"}
    bad = api(operator).post(f"/api/v1/devices/{device.id}/forecast/refresh", {"metric": "nope"}, format="json")
    assert bad.status_code == 400 and OutboxMessage.objects.filter(type="forecast.requested").count() == 1


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
