"""Device health: a device that goes quiet is flagged WARNING, then OFF; its next packet brings it ON.

ingest-sensors writes ``device:{id}:last_seen`` = ``str(ns)`` of the device's last accepted packet
(at most about once a second). Every run, for every device in PostgreSQL (reloaded every
``refresh_seconds``), with ``interval = max(reporting_interval, min_interval)``:

* silent for more than 5 x interval -> ``OFF``; more than 2 x -> ``WARNING``; else ``ON``;
* a device that is WARNING or OFF and whose last_seen moved past the one it had when it was
  flagged is ``ON`` again (its next packet), even if that packet is already getting old — the next
  run flags it again if it stays quiet;
* time alone only makes a status worse (ON -> WARNING -> OFF), never better: only a new packet
  does. A device that never reported (no last_seen in Redis nor in its row) stays as it is until
  it reports; if it is ON (set by hand), it degrades from the time its row last changed.

Each change is published once as ``device.status`` (:class:`DeviceStatusChanged`, to vigia.events
with confirms: the recorder stores it, live pushes it to operators), then written to the
device's row, so a restarted or newly elected watchdog starts from the status last announced and
never repeats a transition. A change whose publish fails is retried on the next run. Every
``flush_seconds`` the last_seen values that moved are written to ``devices.last_seen`` in one
batched UPDATE (only forward).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from sqlalchemy import Engine, bindparam, select, text

from vigia.common.broker import AsyncPublisher, BatchPublishError, PublishError
from vigia.common.db import devices
from vigia.common.messages import DeviceStatus, DeviceStatusChanged, Envelope, make, time_ns_to_datetime
from vigia.watchdog.clock import NS, datetime_ns, parse_ns, us

log = logging.getLogger(__name__)

SOURCE = "watchdog"
WARNING_FACTOR, OFF_FACTOR = 2.0, 5.0
MGET_CHUNK = 1000
SEVERITY = {DeviceStatus.ON: 0, DeviceStatus.WARNING: 1, DeviceStatus.OFF: 2}

DEVICES_BY_STATUS = Gauge("watchdog_devices", "Devices by health status, as the watchdog last saw them", ["status"])
TRANSITIONS = Counter("watchdog_device_transitions", "device.status changes published", ["previous", "status"])


def last_seen_key(device: uuid.UUID | str) -> str:
    return f"device:{device}:last_seen"


@dataclass
class WatchedDevice:
    id: uuid.UUID
    org: uuid.UUID
    status: DeviceStatus
    interval_s: float
    stored_last_seen: int | None  # devices.last_seen, ns
    changed_ns: int  # devices.updated_at, ns
    seen_at_status: int | None  # last_seen when the current status was set


@dataclass(frozen=True)
class Transition:
    device: WatchedDevice
    status: DeviceStatus
    last_seen: int | None
    reason: str


def classify(device: WatchedDevice, last_seen: int | None, now: int, min_interval_s: float) -> tuple[DeviceStatus, str]:
    """The status ``device`` should have at ``now`` given its ``last_seen`` (ns), and why."""
    interval = max(device.interval_s, min_interval_s)
    if last_seen is not None and device.status != DeviceStatus.ON and (
            device.seen_at_status is None or us(last_seen) > us(device.seen_at_status)):
        return DeviceStatus.ON, "reporting again"
    reference = last_seen if last_seen is not None else device.changed_ns
    silent_s = (now - reference) / NS
    if silent_s > OFF_FACTOR * interval:
        status = DeviceStatus.OFF
    elif silent_s > WARNING_FACTOR * interval:
        status = DeviceStatus.WARNING
    else:
        status = DeviceStatus.ON
    if SEVERITY[status] < SEVERITY[device.status]:
        status = device.status  # only a new packet makes a device better (above), never time alone
    if status == DeviceStatus.ON:
        return status, "reporting"
    what = f"silent for {silent_s:.1f} s" if last_seen is not None else f"never reported; {silent_s:.1f} s"
    return status, f"{what} (reporting interval {interval:g} s)"


class DeviceHealth:
    """The device part of the watchdog (a :class:`~vigia.watchdog.checks.PeriodicCheck`)."""

    name = "device_health"

    def __init__(self, engine: Engine, redis: Redis, publisher: AsyncPublisher, *, interval: float,
                 refresh_seconds: float, flush_seconds: float, min_interval_s: float = 1.0,
                 clock: Callable[[], int] = time.time_ns, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.redis = redis
        self.publisher = publisher
        self.interval = interval
        self.refresh_s = refresh_seconds
        self.flush_s = flush_seconds
        self.min_interval_s = min_interval_s
        self.clock = clock
        self.monotonic = monotonic
        self.devices: dict[uuid.UUID, WatchedDevice] = {}
        self._seen: dict[uuid.UUID, int] = {}  # latest last_seen read from Redis
        self._loaded_at: float | None = None
        self._flushed_at: float | None = None

    # --- PostgreSQL ------------------------------------------------------------------------------

    def load(self) -> dict[uuid.UUID, WatchedDevice]:
        query = select(devices.c.id, devices.c.org_id, devices.c.status, devices.c.reporting_interval,
                       devices.c.last_seen, devices.c.updated_at)
        out = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                try:
                    status = DeviceStatus(row.status)
                except ValueError:
                    status = DeviceStatus.OFF
                last = datetime_ns(row.last_seen)
                out[row.id] = WatchedDevice(row.id, row.org_id, status, float(row.reporting_interval), last,
                                            datetime_ns(row.updated_at) or 0, last)
        return out

    def _merge(self, loaded: dict[uuid.UUID, WatchedDevice]) -> None:
        for device_id, fresh in loaded.items():
            known = self.devices.get(device_id)
            if known is not None and known.status == fresh.status:
                # Same status as we know it: keep when it was set (the row may lag behind Redis).
                fresh.seen_at_status = known.seen_at_status
            if known is not None and known.stored_last_seen is not None:
                fresh.stored_last_seen = max(fresh.stored_last_seen or 0, known.stored_last_seen)
        self.devices = loaded
        self._seen = {k: v for k, v in self._seen.items() if k in loaded}

    def _store(self, changes: Sequence[Transition]) -> None:
        """The announced statuses (and the last_seen they were based on) into the device rows."""
        statement = text(
            "UPDATE devices AS d SET status = v.status, updated_at = now(),"
            " last_seen = CASE WHEN v.seen IS NULL THEN d.last_seen"
            " ELSE GREATEST(COALESCE(d.last_seen, v.seen), v.seen) END"
            " FROM (SELECT unnest(CAST(:ids AS uuid[])) AS id, unnest(CAST(:statuses AS text[])) AS status,"
            " unnest(CAST(:seen AS timestamptz[])) AS seen) AS v WHERE d.id = v.id"
        ).bindparams(bindparam("ids"), bindparam("statuses"), bindparam("seen"))
        with self.engine.begin() as conn:
            conn.execute(statement, {
                "ids": [c.device.id for c in changes],
                "statuses": [c.status.value for c in changes],
                "seen": [time_ns_to_datetime(c.last_seen) if c.last_seen else None for c in changes],
            })

    def _flush(self, seen: dict[uuid.UUID, int]) -> int:
        """Move devices.last_seen forward in one UPDATE; returns how many rows moved."""
        statement = text(
            "UPDATE devices AS d SET last_seen = v.seen"
            " FROM (SELECT unnest(CAST(:ids AS uuid[])) AS id, unnest(CAST(:seen AS timestamptz[])) AS seen) AS v"
            " WHERE d.id = v.id AND (d.last_seen IS NULL OR d.last_seen < v.seen)"
        ).bindparams(bindparam("ids"), bindparam("seen"))
        with self.engine.begin() as conn:
            result = conn.execute(statement, {"ids": list(seen),
                                              "seen": [time_ns_to_datetime(v) for v in seen.values()]})
            return int(result.rowcount or 0)

    # --- the check -------------------------------------------------------------------------------

    async def run(self) -> None:
        started = self.monotonic()
        if self._loaded_at is None or started - self._loaded_at >= self.refresh_s:
            self._merge(await asyncio.to_thread(self.load))
            self._loaded_at = started
        watched = list(self.devices.values())
        for i in range(0, len(watched), MGET_CHUNK):
            part = watched[i:i + MGET_CHUNK]
            for device, raw in zip(part, await self.redis.mget([last_seen_key(d.id) for d in part]), strict=True):
                value = parse_ns(raw)
                if value is not None:
                    self._seen[device.id] = value
        now = self.clock()
        changes = []
        for device in watched:
            last = self._seen.get(device.id, device.stored_last_seen)
            if last is not None and device.stored_last_seen is not None:
                last = max(last, device.stored_last_seen)
            status, reason = classify(device, last, now, self.min_interval_s)
            if status != device.status:
                changes.append(Transition(device, status, last, reason))
        if changes:
            await self._announce(changes)
        if self._flushed_at is None or started - self._flushed_at >= self.flush_s:
            await self._flush_last_seen()
            self._flushed_at = started
        counts = dict.fromkeys(DeviceStatus, 0)
        for device in self.devices.values():
            counts[device.status] += 1
        for status, count in counts.items():
            DEVICES_BY_STATUS.labels(status.value).set(count)

    async def _announce(self, changes: list[Transition]) -> None:
        envelopes: list[Envelope] = [
            make("device.status", c.device.org, SOURCE, DeviceStatusChanged(
                device=c.device.id, status=c.status, previous=c.device.status, last_seen=c.last_seen,
                reason=c.reason[:256]))
            for c in changes]
        try:
            await self.publisher.publish_many(envelopes)
            confirmed = changes
        except BatchPublishError as exc:
            failed = {id(item) for item, _ in exc.failures}
            confirmed = [c for c, e in zip(changes, envelopes, strict=True) if id(e) not in failed]
            log.warning("device.status not confirmed for %d devices; retrying next run", len(failed))
        except PublishError:
            log.warning("device.status could not be published; retrying next run", exc_info=True)
            return
        if not confirmed:
            return
        # Announced first, stored second: a crash in between repeats the announcement (at least
        # once), never loses it.
        await asyncio.to_thread(self._store, confirmed)
        for change in confirmed:
            device = change.device
            TRANSITIONS.labels(device.status.value, change.status.value).inc()
            log.info("device status changed", extra={"device": str(device.id), "org": str(device.org),
                                                      "previous": device.status.value, "status": change.status.value,
                                                      "reason": change.reason})
            device.status = change.status
            device.seen_at_status = change.last_seen
            if change.last_seen is not None:
                device.stored_last_seen = max(device.stored_last_seen or 0, change.last_seen)

    async def _flush_last_seen(self) -> None:
        moved = {device_id: seen for device_id, seen in self._seen.items()
                 if device_id in self.devices and us(seen) > us(self.devices[device_id].stored_last_seen or 0)}
        if not moved:
            return
        await asyncio.to_thread(self._flush, moved)
        for device_id, seen in moved.items():
            self.devices[device_id].stored_last_seen = seen
