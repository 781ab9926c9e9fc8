"""Factories for observation rows and a SQLAlchemy engine on the test database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from sqlalchemy import Engine

from vigia.common.db import make_engine
from vigia.control.observations.models import Anomaly, Detection, Event, Telemetry
from vigia.control.tenancy.models import Organization

NOW = datetime.now(UTC)


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


@pytest.fixture
def make_detection(db: Any, org: Organization) -> Callable[..., Detection]:
    def _make(org: Organization = org, **fields: Any) -> Detection:
        values: dict[str, Any] = {
            "camera_id": uuid.uuid4(), "time": ago(minutes=5), "label": "car", "confidence": 0.9,
            "box": {"x1": 1, "y1": 2, "x2": 30, "y2": 40},
        }
        values.update(fields)
        return Detection.objects.create(org=org, **values)

    return _make


@pytest.fixture
def make_event(db: Any, org: Organization) -> Callable[..., Event]:
    def _make(org: Organization = org, **fields: Any) -> Event:
        values: dict[str, Any] = {"time": ago(minutes=5), "event_type": "intrusion", "severity": "high",
                                  "score": 0.8}
        values.update(fields)
        return Event.objects.create(org=org, **values)

    return _make


@pytest.fixture
def make_anomaly(db: Any, org: Organization) -> Callable[..., Anomaly]:
    def _make(org: Organization = org, **fields: Any) -> Anomaly:
        values: dict[str, Any] = {"device_id": uuid.uuid4(), "time": ago(minutes=5), "kind": "magnetic",
                                  "severity": "medium", "score": 4.2}
        values.update(fields)
        return Anomaly.objects.create(org=org, **values)

    return _make


@pytest.fixture
def make_telemetry(db: Any, org: Organization) -> Callable[..., Telemetry]:
    seq = iter(range(1, 1_000_000))

    def _make(org: Organization = org, **fields: Any) -> Telemetry:
        values: dict[str, Any] = {"device_id": uuid.uuid4(), "time": ago(minutes=5), "seq": next(seq),
                                  "mag_x": 1.0}
        values.update(fields)
        return Telemetry.objects.create(org=org, **values)

    return _make


def test_database_url() -> str:
    cfg = connection.settings_dict
    name = cfg["NAME"]
    user = cfg["USER"] or "postgres"
    password = f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else ""
    return f"postgresql://{user}{password}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{name}"


test_database_url.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def engine(transactional_db: Any) -> Iterator[Engine]:
    """A SQLAlchemy engine on the test database. With ``transactional_db`` what it commits is
    visible to the ORM and is truncated after the test."""
    eng = make_engine(test_database_url(), pool_size=4, application_name="vigia-test")
    yield eng
    eng.dispose()
