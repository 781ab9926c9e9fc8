"""The forecast service against the real database and broker: forecasts stored (the statistical
model standing in for a short history, saying so), a reading outside the band published once as a
``forecast`` anomaly, and a refresh asked for through ``vigia.control``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aio_pika
import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, select

from services.forecast.tests.conftest import NaiveForecaster, minutes
from vigia.common import db
from vigia.common.broker import EVENTS, AsyncPublisher, Consumer
from vigia.common.broker.topology import FORECAST_CONTROL
from vigia.common.messages import Envelope, ForecastRequested, make
from vigia.forecast.models.base import HORIZON
from vigia.forecast.series import MetricSpec
from vigia.forecast.service import ForecastService

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
MAG = MetricSpec("mag_magnitude", 60, 1440)
AUDIO = MetricSpec("audio_peak", 60, 1440)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[tuple[AsyncPublisher, aio_pika.abc.AbstractQueue]]:
    """A publisher (topology declared) and a tap on vigia.events for anomalies and forecast news."""
    async with AsyncPublisher(amqp_url, declare=True) as publisher:
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            tap = await channel.declare_queue("tap", exclusive=True)
            for key in ("anomaly.#", "forecast.#"):
                await tap.bind(EVENTS, key)
            yield publisher, tap


async def drain(queue: aio_pika.abc.AbstractQueue, wait_s: float = 0.3) -> list[Envelope]:
    await asyncio.sleep(wait_s)
    got = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        got.append(Envelope.from_json(message.body))
    return got


def stored(engine: Engine, device: uuid.UUID) -> list[dict[str, object]]:
    f = db.forecasts
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(
            select(f).where(f.c.device_id == device).order_by(f.c.made_at, f.c.metric))]


async def test_a_device_with_history_gets_its_forecast_stored_and_announced(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None],
        naive: NaiveForecaster, broker: tuple[AsyncPublisher, aio_pika.abc.AbstractQueue]) -> None:
    publisher, tap = broker
    rng = np.random.default_rng(1)
    write_readings(minutes(T0, 50 + rng.normal(0, 0.1, 600)))
    clock = Clock(T0 + timedelta(minutes=600, seconds=30))
    service = ForecastService(engine, naive, [MAG, AUDIO], publisher.publish, clock=clock)

    results = await service.refresh_device(org, device)

    assert [(r.metric, r.outcome) for r in results] == [("mag_magnitude", "stored"), ("audio_peak", "no_data")]
    [row] = stored(engine, device)
    assert (row["org_id"], row["metric"], row["model"], row["fallback"]) == (org, "mag_magnitude", "naive_test", None)
    assert row["start"] == T0 + timedelta(minutes=600) and row["step_s"] == 60 and row["level"] == 95
    assert row["history_steps"] == 512  # the context: the last 512 of the 600 steps
    assert len(row["mean"]) == len(row["lower"]) == len(row["upper"]) == HORIZON  # type: ignore[arg-type]
    [news] = await drain(tap)
    assert news.type == "forecast.updated" and news.org == org
    assert (news.data.device, news.data.metric, news.data.anomalies) == (device, "mag_magnitude", [])  # type: ignore[attr-defined]


async def test_a_short_history_is_forecast_by_the_statistical_model_which_says_so(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None],
        naive: NaiveForecaster, broker: tuple[AsyncPublisher, aio_pika.abc.AbstractQueue]) -> None:
    publisher, _ = broker
    write_readings(minutes(T0, 50 + np.sin(np.arange(40) / 3)))
    service = ForecastService(engine, naive, [MAG], publisher.publish, clock=Clock(T0 + timedelta(minutes=40)))

    [result] = await service.refresh_device(org, device)

    [row] = stored(engine, device)
    assert result.outcome == "fallback"
    assert row["model"] != "naive_test" and row["fallback"]
    assert len(row["mean"]) == HORIZON  # type: ignore[arg-type]


async def test_a_reading_outside_the_band_is_published_once_as_a_forecast_anomaly(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None],
        naive: NaiveForecaster, broker: tuple[AsyncPublisher, aio_pika.abc.AbstractQueue]) -> None:
    publisher, tap = broker
    write_readings(minutes(T0, np.full(120, 50.0)))
    clock = Clock(T0 + timedelta(minutes=120, seconds=1))
    service = ForecastService(engine, naive, [MAG], publisher.publish, clock=clock)
    await service.refresh_device(org, device)  # band 49.5..50.5 from 02:00 on
    await drain(tap)
    # 02:00 and 02:01 as expected, 02:02 far above the band; 02:03 still running (not compared yet).
    write_readings(minutes(T0 + timedelta(minutes=120), [50.2, 49.8, 80.0, 95.0]))
    clock.at = T0 + timedelta(minutes=123, seconds=20)

    await service.refresh_device(org, device)
    await service.refresh_device(org, device)  # again: the new forecast is in force, nothing to compare
    first = await drain(tap)

    anomalies = [e for e in first if e.type == "anomaly.detected"]
    assert len(anomalies) == 1
    anomaly = anomalies[0].data
    assert (anomaly.kind, anomaly.device, anomaly.value) == ("forecast", device, 80.0)  # type: ignore[attr-defined]
    assert anomaly.observed_at == int((T0 + timedelta(minutes=122)).timestamp()) * 10**9  # type: ignore[attr-defined]
    assert anomaly.severity == "critical"  # type: ignore[attr-defined]
    assert {k: anomaly.details[k] for k in ("metric", "expected", "lower", "upper", "model")} == {  # type: ignore[attr-defined]
        "metric": "mag_magnitude", "expected": 50.0, "lower": 49.5, "upper": 50.5, "model": "naive_test"}
    updates = [e for e in first if e.type == "forecast.updated"]
    assert [len(u.data.anomalies) for u in updates] == [1, 0]  # type: ignore[attr-defined]
    assert updates[0].data.anomalies[0].id == anomalies[0].id  # type: ignore[attr-defined]

    # A crash after publishing, before the new forecast was stored: the refresh finds the same step
    # again and publishes it under the same id, which consumers store once.
    f = db.forecasts
    with engine.begin() as conn:
        newest = select(func.max(f.c.made_at)).where(f.c.device_id == device).scalar_subquery()
        conn.execute(delete(f).where(f.c.device_id == device, f.c.made_at == newest))  # both of 02:03:20
    await service.refresh_device(org, device)
    again = [e for e in await drain(tap) if e.type == "anomaly.detected"]
    assert [a.id for a in again] == [anomalies[0].id]


async def test_a_forecast_from_too_short_a_history_judges_no_reading(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None],
        naive: NaiveForecaster, broker: tuple[AsyncPublisher, aio_pika.abc.AbstractQueue]) -> None:
    publisher, tap = broker
    write_readings(minutes(T0, np.full(30, 50.0)))
    clock = Clock(T0 + timedelta(minutes=30))
    service = ForecastService(engine, naive, [MAG], publisher.publish, clock=clock, min_history=60)
    await service.refresh_device(org, device)
    write_readings(minutes(T0 + timedelta(minutes=30), [90.0]))
    clock.at = T0 + timedelta(minutes=31)

    await service.refresh_device(org, device)

    assert [e.type for e in await drain(tap)] == ["forecast.updated", "forecast.updated"]
    assert [row["history_steps"] for row in stored(engine, device)] == [30, 31]


async def test_a_refresh_asked_for_through_the_control_exchange_forecasts_that_device(
        amqp_url: str, engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None],
        naive: NaiveForecaster, broker: tuple[AsyncPublisher, aio_pika.abc.AbstractQueue]) -> None:
    publisher, _ = broker
    write_readings(minutes(T0, np.full(100, 50.0)))
    write_readings(minutes(T0, np.full(100, 0.2)), metric="audio_peak")
    service = ForecastService(engine, naive, [MAG, AUDIO], publisher.publish,
                              clock=Clock(T0 + timedelta(minutes=100)))
    consumer = Consumer(amqp_url, FORECAST_CONTROL, service.handle_request)
    await consumer.start()
    try:
        stranger = make("forecast.requested", uuid.uuid4(), "control", ForecastRequested(device=device))
        await publisher.publish(stranger)  # another organization's id for the device: ignored
        await publisher.publish(make("forecast.requested", org, "control",
                                     ForecastRequested(device=device, metric="audio_peak")))
        for _ in range(100):
            if stored(engine, device):
                break
            await asyncio.sleep(0.1)
    finally:
        await consumer.shutdown()
    assert [(row["metric"], row["org_id"]) for row in stored(engine, device)] == [("audio_peak", org)]
