"""Fixtures for the forecast service: a database migrated by the control plane, an organization and
a device of their own per test, telemetry written as fusion writes it, and a tiny forecasting model
(numpy, no registry needed) whose band is easy to reason about."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, insert

from tests.support.databases import migrated_database
from vigia.common.db import devices, make_engine, organizations, telemetry
from vigia.forecast.models.base import Forecast

DB_NAME = os.environ.get("VIGIA_TEST_FORECAST_DB", "vigia_forecast_svc")


class NaiveForecaster:
    """The last value carried forward; the band is ±(4 · std of the step-to-step changes + 0.5)."""

    name = "naive_test"

    def __init__(self, min_history: int = 64) -> None:
        self.min_history = min_history

    def forecast(self, history: np.ndarray, horizon: int, season: int) -> Forecast:
        spread = 4 * float(np.std(np.diff(history))) + 0.5 if len(history) > 1 else 1.0
        mean = np.full(horizon, float(history[-1]))
        return Forecast(self.name, mean, mean - spread, mean + spread)


@pytest.fixture
def naive() -> NaiveForecaster:
    return NaiveForecaster()


@pytest.fixture(scope="session")
def database_url() -> str:
    return migrated_database(DB_NAME)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def org(engine: Engine) -> uuid.UUID:
    org_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org_id, name="Forecast test", slug=f"fc-{org_id.hex[:12]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    return org_id


@pytest.fixture
def device(engine: Engine, org: uuid.UUID) -> uuid.UUID:
    device_id, now = uuid.uuid4(), datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(devices).values(
            id=device_id, org_id=org, name=f"phone {device_id.hex[:6]}", kind="phone", status="ON",
            last_seen=now, reporting_interval=1.0, location="", site="dock", config={}, version=1,
            created_at=now, updated_at=now))
    return device_id


@pytest.fixture
def write_readings(engine: Engine, org: uuid.UUID, device: uuid.UUID) -> Callable[..., None]:
    """``write_readings([(time, value), ...], metric="mag_magnitude")``: telemetry rows of the device."""
    seq = iter(range(1, 10**9))

    def write(readings: list[tuple[datetime, float]], metric: str = "mag_magnitude") -> None:
        rows = [{"org_id": org, "device_id": device, "time": t, "seq": next(seq), "humanoid": False, metric: v}
                for t, v in readings]
        with engine.begin() as conn:
            conn.execute(insert(telemetry), rows)

    return write


def minutes(start: datetime, values: list[float] | np.ndarray, offset_s: float = 10) -> list[tuple[datetime, float]]:
    """One reading ``offset_s`` into each minute from ``start``."""
    return [(start + timedelta(minutes=i, seconds=offset_s), float(v)) for i, v in enumerate(values)]
