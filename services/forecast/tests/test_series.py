"""A device metric read from ``telemetry`` as equal steps: means per step in SQL, gaps filled."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from vigia.forecast.series import StepMeans, parse_metrics, read_series, step_floor

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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_kept_step_means_give_the_full_read_and_only_new_steps_are_read(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None]) -> None:
    at = lambda minute, second=0: T0 + timedelta(minutes=minute, seconds=second)  # noqa: E731
    write_readings([(at(m, s), float(m * 10 + s)) for m in range(0, 20) for s in (0, 30)])
    clock = Clock()
    steps = StepMeans(late_steps=2, full_read_s=3600, clock=clock)
    with engine.connect() as conn:
        first = steps.read(conn, org, device, "mag_magnitude", 60, at(20), steps=15)
    assert first is not None and (steps.full_reads, steps.partial_reads) == (1, 0)

    # Five more minutes of readings, one of them late (in the last kept step, 19) and one too late
    # (in step 10, older than the two steps read again).
    write_readings([(at(m, s), float(m * 10 + s)) for m in range(20, 25) for s in (0, 30)])
    write_readings([(at(19, 45), 1000.0), (at(10, 45), 5000.0)])
    clock.now += 300
    with engine.connect() as conn:
        kept = steps.read(conn, org, device, "mag_magnitude", 60, at(25), steps=15)
        full = read_series(conn, org, device, "mag_magnitude", 60, at(25), steps=15)
    assert (steps.full_reads, steps.partial_reads) == (1, 1)
    assert kept is not None and full is not None and kept.start == full.start == at(10)
    # The same steps as a full read, but step 10's too-late reading, which the full read averages in.
    np.testing.assert_allclose(kept.values[1:], full.values[1:])
    assert kept.values[9] == pytest.approx((190 + 220 + 1000) / 3)  # the late one of step 19 is in
    assert kept.values[0] == pytest.approx(115) and full.values[0] == pytest.approx((100 + 130 + 5000) / 3)

    # An hour on, everything is read again: the too-late reading is in.
    clock.now += 3600
    with engine.connect() as conn:
        again = steps.read(conn, org, device, "mag_magnitude", 60, at(25), steps=15)
    assert steps.full_reads == 2 and again is not None
    np.testing.assert_allclose(again.values, full.values)
    assert again.observed.tolist() == full.observed.tolist()


def test_kept_step_means_are_bounded_and_a_metric_without_readings_has_none(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None]) -> None:
    write_readings([(T0 + timedelta(seconds=10), 1.0)])
    steps = StepMeans(max_series=1, clock=Clock())
    with engine.connect() as conn:
        assert steps.read(conn, org, device, "audio_peak", 60, T0 + timedelta(minutes=5), steps=10) is None
        assert steps.read(conn, org, device, "mag_magnitude", 60, T0 + timedelta(minutes=5), steps=10) is not None
        # audio_peak was let go to keep one series: read whole again.
        assert steps.read(conn, org, device, "audio_peak", 60, T0 + timedelta(minutes=6), steps=10) is None
    assert (steps.full_reads, steps.partial_reads) == (3, 0)


def test_a_window_reaching_further_back_than_what_is_kept_is_read_whole(
        engine: Engine, org: uuid.UUID, device: uuid.UUID, write_readings: Callable[..., None]) -> None:
    write_readings([(T0 + timedelta(minutes=m, seconds=5), float(m)) for m in range(30)])
    steps = StepMeans(clock=Clock())
    until = T0 + timedelta(minutes=30)
    with engine.connect() as conn:
        short = steps.read(conn, org, device, "mag_magnitude", 60, until, steps=5)
        long = steps.read(conn, org, device, "mag_magnitude", 60, until, steps=20)
        again = steps.read(conn, org, device, "mag_magnitude", 60, until + timedelta(minutes=1), steps=20)
    assert short is not None and len(short) == 5
    assert long is not None and long.start == T0 + timedelta(minutes=10) and len(long) == 20
    assert again is not None and again.start == T0 + timedelta(minutes=11) and len(again) == 20
    assert (steps.full_reads, steps.partial_reads) == (2, 1)
