"""A device metric read from ``telemetry`` as equal steps: means per step in SQL, gaps filled."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from vigia.forecast.series import parse_metrics, read_series, step_floor

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_readings_are_averaged_per_step_and_gaps_interpolated_then_carried_forward(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None]) -> None:
    at = lambda minute, second: T0 + timedelta(minutes=minute, seconds=second)  # noqa: E731
    write_readings([(at(0, 5), 10.0), (at(0, 50), 20.0),  # step 0: mean 15
                    (at(1, 30), 18.0),                     # step 1: 18
                    # step 2, 3: no reading -> on the line from 18 to 30
                    (at(4, 0), 30.0), (at(4, 59), 30.0),   # step 4: 30
                    (at(-30, 0), 99.0)])                   # before the window: not read
    write_readings([(at(2, 0), 1.0)], metric="audio_peak")  # another metric: not in this series

    until = T0 + timedelta(minutes=7)
    with engine.connect() as conn:
        series = read_series(conn, org, device, "mag_magnitude", 60, until, steps=10)

    assert series is not None
    assert series.start == T0  # the window reached back to 09:57, but the first reading is at 10:00
    assert series.end == until
    np.testing.assert_allclose(series.values, [15, 18, 22, 26, 30, 30, 30])  # 5, 6: carried forward
    assert series.observed.tolist() == [True, True, False, False, True, False, False]


def test_a_metric_without_readings_in_the_window_has_no_series(engine: Engine, org: uuid.UUID, device: uuid.UUID,
                                                               write_readings: Callable[..., None]) -> None:
    write_readings([(T0 - timedelta(hours=3), 5.0)])
    with engine.connect() as conn:
        assert read_series(conn, org, device, "mag_magnitude", 60, T0, steps=60) is None
        with pytest.raises(ValueError, match="unknown metric"):
            read_series(conn, org, device, "mag_magnitude; DROP TABLE telemetry", 60, T0, steps=60)


def test_steps_are_aligned_the_same_for_every_refresh() -> None:
    assert step_floor(datetime(2026, 11, 2, 10, 3, 41, tzinfo=UTC), 60) == datetime(2026, 11, 2, 10, 3, tzinfo=UTC)
    assert step_floor(datetime(2026, 11, 2, 10, 7, 41, tzinfo=UTC), 300) == datetime(2026, 11, 2, 10, 5, tzinfo=UTC)


def test_each_metric_may_have_its_own_step_and_season() -> None:
    specs = parse_metrics("mag_magnitude, audio_peak:30s:12h", timedelta(minutes=1), timedelta(days=1))
    assert [(s.name, s.step_s, s.season) for s in specs] == [("mag_magnitude", 60, 1440), ("audio_peak", 30, 1440)]
    for bad, problem in (("telepathy", "not a telemetry metric"), ("mag_magnitude:7s:1d", "whole number"),
                         ("mag_magnitude,mag_magnitude", "twice"), ("mag_magnitude:soon", "not a duration"),
                         ("", "no metric")):
        with pytest.raises(ValueError, match=problem):
            parse_metrics(bad, timedelta(minutes=1), timedelta(days=1))
