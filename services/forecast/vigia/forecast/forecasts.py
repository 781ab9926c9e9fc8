"""The ``forecasts`` table (control's migrations own it; vigia.common.db declares it): the latest
forecast of a device metric, a new one stored, and which devices are active."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, insert, select

from vigia.common import db
from vigia.common.ids import uuid7


@dataclass(frozen=True)
class StoredForecast:
    """One row of ``forecasts``: ``mean``/``lower``/``upper`` of the steps from ``start``."""

    org: uuid.UUID
    device: uuid.UUID
    metric: str
    model: str
    fallback: str | None
    made_at: datetime
    step_s: int
    history_steps: int
    start: datetime
    level: int
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    id: uuid.UUID | None = None

    def index_of(self, moment: datetime) -> int | None:
        """The forecast step that starts at ``moment``, or None outside the horizon."""
        offset = (moment - self.start).total_seconds() / self.step_s
        if offset < 0 or offset != int(offset) or offset >= len(self.mean):
            return None
        return int(offset)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.step_s * len(self.mean))


def latest_forecast(conn: Connection, org: uuid.UUID, device: uuid.UUID, metric: str) -> StoredForecast | None:
    """The forecast in force: the newest stored for the device metric (index forecasts_latest)."""
    f = db.forecasts
    row = conn.execute(select(f).where(f.c.org_id == org, f.c.device_id == device, f.c.metric == metric)
                       .order_by(f.c.made_at.desc()).limit(1)).first()
    if row is None:
        return None
    return StoredForecast(org=row.org_id, device=row.device_id, metric=row.metric, model=row.model,
                          fallback=row.fallback, made_at=row.made_at, step_s=row.step_s,
                          history_steps=row.history_steps, start=row.start,
                          level=row.level, mean=np.asarray(row.mean, dtype=np.float64),
                          lower=np.asarray(row.lower, dtype=np.float64),
                          upper=np.asarray(row.upper, dtype=np.float64), id=row.id)


def store_forecast(conn: Connection, forecast: StoredForecast) -> uuid.UUID:
    """Insert ``forecast``; returns its id."""
    row_id = forecast.id or uuid7()
    conn.execute(insert(db.forecasts).values(
        id=row_id, org_id=forecast.org, device_id=forecast.device, metric=forecast.metric, model=forecast.model,
        fallback=forecast.fallback, made_at=forecast.made_at, step_s=forecast.step_s,
        history_steps=forecast.history_steps, start=forecast.start,
        level=forecast.level, mean=[float(v) for v in forecast.mean], lower=[float(v) for v in forecast.lower],
        upper=[float(v) for v in forecast.upper]))
    return row_id


def active_devices(conn: Connection, since: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(org, device)`` of every device seen since ``since`` (devices.last_seen, which the
    watchdog keeps current), in a stable order."""
    d = db.devices
    rows = conn.execute(select(d.c.org_id, d.c.id).where(d.c.last_seen >= since).order_by(d.c.org_id, d.c.id))
    return [(row.org_id, row.id) for row in rows]


def device_org(conn: Connection, device: uuid.UUID) -> uuid.UUID | None:
    """The organization of a device (None: no such device)."""
    d = db.devices
    return conn.execute(select(d.c.org_id).where(d.c.id == device)).scalar()
