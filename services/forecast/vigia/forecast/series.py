"""A device metric as a series: its ``telemetry`` readings averaged over equal steps in SQL
(``date_bin``), the last ``steps`` steps before a step boundary, gaps filled.

Gaps: a step without readings between two with readings takes the straight line between them
(linear interpolation in time); steps after the last reading carry it forward; steps before the
first reading are left out (the series starts at its first reading, so a new device has a short
history, which the models answer with the statistical model). :attr:`Series.observed` tells the
steps that had readings from the filled ones: only those are compared with a forecast's band.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection

from vigia.common.db import STEP_ORIGIN, TELEMETRY_METRICS, telemetry_steps_sql
from vigia.common.settings import Duration

#: The telemetry columns a metric may name.
METRICS = TELEMETRY_METRICS


@dataclass(frozen=True)
class MetricSpec:
    """One forecast metric: its telemetry column, step (s) and seasonal period (in steps)."""

    name: str
    step_s: int
    season: int


def parse_metrics(raw: str, step: timedelta, season: timedelta) -> list[MetricSpec]:
    """``mag_magnitude,audio_peak:30s:12h`` -> specs; ValueError names the bad part."""
    specs: list[MetricSpec] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, *rest = (word.strip() for word in part.split(":"))
        if name not in METRICS:
            raise ValueError(f"{name!r} is not a telemetry metric (one of {', '.join(METRICS)})")
        if len(rest) > 2:
            raise ValueError(f"{part!r}: expected <column>[:<step>[:<season>]]")
        its_step = _duration(rest[0], part) if rest else step
        its_season = _duration(rest[1], part) if len(rest) > 1 else season
        step_s = its_step.total_seconds()
        if step_s < 1 or step_s != int(step_s) or step_s > 86_400:
            raise ValueError(f"{part!r}: the step must be whole seconds from 1s to 1d")
        steps = its_season.total_seconds() / step_s
        if steps < 2 or steps != int(steps):
            raise ValueError(f"{part!r}: the season must be a whole number (2 or more) of steps")
        if any(s.name == name for s in specs):
            raise ValueError(f"{name!r} is listed twice")
        specs.append(MetricSpec(name, int(step_s), int(steps)))
    if not specs:
        raise ValueError("no metric to forecast")
    return specs


_DURATION: TypeAdapter[timedelta] = TypeAdapter(Duration)


def _duration(value: str, part: str) -> timedelta:
    try:
        return _DURATION.validate_python(value)
    except ValidationError:
        raise ValueError(f"{part!r}: {value!r} is not a duration such as 30s, 1m or 1d") from None


def step_floor(moment: datetime, step_s: int) -> datetime:
    """The start of the step ``moment`` is in (steps aligned to :data:`vigia.common.db.STEP_ORIGIN`)."""
    seconds = (moment - STEP_ORIGIN).total_seconds()
    return STEP_ORIGIN + timedelta(seconds=(seconds // step_s) * step_s)


@dataclass(frozen=True)
class Series:
    """``values[i]`` is the metric's mean over the step starting at ``start + i * step_s``;
    ``observed[i]`` whether that step had readings (else it was filled)."""

    metric: str
    step_s: int
    start: datetime
    values: np.ndarray
    observed: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @property
    def end(self) -> datetime:
        """The first step after the series: where its forecast starts."""
        return self.start + timedelta(seconds=self.step_s * len(self.values))

    def time_of(self, index: int) -> datetime:
        return self.start + timedelta(seconds=self.step_s * index)


def read_series(conn: Connection, org: uuid.UUID, device: uuid.UUID, metric: str, step_s: int,
                until: datetime, steps: int) -> Series | None:
    """The device metric's last ``steps`` steps before ``until`` (a step boundary), resampled and
    gap-filled (module docstring); None when it has no reading in them."""
    since = until - timedelta(seconds=step_s * steps)
    buckets = _step_means(conn, org, device, metric, step_s, since, until)
    return fill_gaps(metric, step_s, buckets, until) if buckets else None


def _step_means(conn: Connection, org: uuid.UUID, device: uuid.UUID, metric: str, step_s: int,
                since: datetime, until: datetime) -> list[tuple[datetime, float]]:
    rows = conn.exec_driver_sql(telemetry_steps_sql(metric), {
        "step": step_s, "origin": STEP_ORIGIN, "org": org, "device": device, "since": since, "until": until}).all()
    return [(row.bucket, float(row.value)) for row in rows]


class StepMeans:
    """:func:`read_series` that reads each device metric's steps once: the step means read before
    are kept (per device metric, the last ``steps`` of them as two arrays, 16 bytes a step), and
    the next refresh reads only the steps since, plus the last ``late_steps`` again for readings
    that came in late. A phone at 10 Hz has ~300 000 readings in 512 one-minute steps; a refresh
    every 5 minutes then reads ~3 000 of them instead.

    A reading that comes later than ``late_steps`` steps is seen at the next full read: every
    ``full_read_s`` (an hour) per device metric, and whenever the window moved back or reaches
    further back than what is kept. At most ``max_series`` device metrics are kept (least recently refreshed out).
    """

    def __init__(self, *, late_steps: int = 2, full_read_s: float = 3600.0, max_series: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.late_steps = late_steps
        self.full_read_s = full_read_s
        self.max_series = max_series
        self.clock = clock
        # (org, device, metric, step) -> (bucket starts as epoch seconds, means, read from, read up to,
        # full read at)
        self._kept: OrderedDict[tuple[uuid.UUID, uuid.UUID, str, int],
                                tuple[np.ndarray, np.ndarray, datetime, datetime, float]] = OrderedDict()
        self._lock = threading.Lock()  # refreshes run in worker threads
        self.full_reads = self.partial_reads = 0

    def read(self, conn: Connection, org: uuid.UUID, device: uuid.UUID, metric: str, step_s: int,
             until: datetime, steps: int) -> Series | None:
        """As :func:`read_series`, reading only what it does not keep (class docstring)."""
        key = (org, device, metric, step_s)
        window = until - timedelta(seconds=step_s * steps)
        now = self.clock()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[2] <= window and kept[3] <= until and now - kept[4] < self.full_read_s:
            since = max(window, kept[3] - timedelta(seconds=step_s * self.late_steps))
            stay = (kept[0] >= window.timestamp()) & (kept[0] < since.timestamp())
            starts, means, full_at = kept[0][stay], kept[1][stay], kept[4]
            self.partial_reads += 1
        else:
            since, starts, means, full_at = window, np.empty(0), np.empty(0), now
            self.full_reads += 1
        fresh = _step_means(conn, org, device, metric, step_s, since, until)
        starts = np.concatenate([starts, np.array([t.timestamp() for t, _ in fresh], dtype=np.float64)])
        means = np.concatenate([means, np.array([v for _, v in fresh], dtype=np.float64)])
        with self._lock:
            self._kept[key] = (starts, means, window, until, full_at)  # what is kept now covers [window, until)
            self._kept.move_to_end(key)
            while len(self._kept) > self.max_series:
                self._kept.popitem(last=False)
        if not len(starts):
            return None
        buckets = [(datetime.fromtimestamp(t, until.tzinfo), float(v)) for t, v in zip(starts, means, strict=True)]
        return fill_gaps(metric, step_s, buckets, until)


def fill_gaps(metric: str, step_s: int, buckets: list[tuple[datetime, float]], until: datetime) -> Series:
    """A :class:`Series` from the steps that had readings (oldest first), up to ``until``."""
    start = buckets[0][0]
    count = int((until - start).total_seconds() // step_s)
    known = np.array([(t - start).total_seconds() / step_s for t, _ in buckets], dtype=np.float64)
    values = np.interp(np.arange(count, dtype=np.float64), known,
                       np.array([v for _, v in buckets], dtype=np.float64))
    observed = np.zeros(count, dtype=bool)
    observed[known.astype(np.int64)] = True
    return Series(metric, step_s, start, values, observed)
