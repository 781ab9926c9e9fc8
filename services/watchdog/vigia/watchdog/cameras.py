"""Camera health: the watchdog decides each camera's status and restarts cameras whose frames stopped.

Whoever delivers a camera's frames writes ``camera:{id}:last_frame`` = ``str(time.time_ns())``
(the streamer for pulled cameras, ingest-frames for pushed ones); the streamer writes
``camera:{id}:circuit_open`` = the ns its circuit breaker for the camera opened, for as long as it
stays open (:mod:`vigia.common.leases`). Every run, for every enabled camera, with ``last`` the
newer of that heartbeat and the row's ``last_frame_at``:

* **status** (:func:`classify`), in this order:

  - breaker open, and no frame since it opened -> ``error`` (the camera cannot be reached; a frame
    pushed after the breaker opened means the camera delivers by another way);
  - last frame at most ``camera_stale_seconds`` old -> ``online``;
  - never a frame -> stays as it is: ``provisioning`` until the first frame;
  - otherwise, once stale (counted from the later of the last frame and the row's last change, so
    a camera just re-enabled or edited gets the full stale time) -> ``offline``.

  Each change is published once as ``camera.health`` (:class:`~vigia.common.messages.CameraHealth`,
  to vigia.events with confirms: the recorder stores it, live pushes it to operators), then
  written to the camera's row (``status``, ``status_changed_at``, ``last_frame_at``). The row is
  the memory: a restarted or newly elected watchdog starts from the status last announced and never
  repeats a transition; a change whose publish fails is retried on the next run.

* **restarts**: a stale camera (or one without any frame, enabled longer than the stale time)
  outside its cool-down gets ``camera.restart`` (vigia.control, ``camera.restart.<camera>``),
  counted in ``watchdog_restarts_total{camera}``, and a cool-down (``camera:{id}:restart_cooldown``,
  Redis TTL) that doubles with each restart that did not help, up to
  ``camera_restart_cooldown_max_s``: a dead camera is not hammered. A fresh frame resets the back-off.

* **last frame**: heartbeats that moved are written to ``cameras.last_frame_at`` in one batched
  UPDATE (only forward), so the API shows the last frame time of a camera that stays online.

Disabled cameras are not watched: a disabled camera is neither restarted nor marked offline by
staleness, and keeps the status it had until it is enabled again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis
from sqlalchemy import Engine, bindparam, select, text

from vigia.common.broker import AsyncPublisher, BatchPublishError, PublishError
from vigia.common.db import cameras
from vigia.common.leases import camera_circuit_key, camera_heartbeat_key
from vigia.common.messages import CameraHealth, CameraRestart, CameraStatus, Envelope, make, time_ns_to_datetime
from vigia.watchdog.clock import NS, datetime_ns, parse_ns, us

log = logging.getLogger(__name__)

RESTARTS = Counter("watchdog_restarts", "camera.restart commands sent for frozen cameras", ["camera"])
TRANSITIONS = Counter("watchdog_camera_transitions", "camera.health status changes published",
                      ["previous", "status"])
SOURCE = "watchdog"
MGET_CHUNK = 500  # cameras per MGET (two keys each)


last_frame_key = camera_heartbeat_key
circuit_key = camera_circuit_key


def cooldown_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:restart_cooldown"


def restarts_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:restarts"


@dataclass(frozen=True)
class WatchedCamera:
    id: uuid.UUID
    org: uuid.UUID
    status: CameraStatus  # the status last announced (cameras.status)
    stored_last_frame: int | None  # cameras.last_frame_at, ns
    changed_ns: int  # last change of the row's configuration: enabling a camera updates it


@dataclass(frozen=True)
class Transition:
    camera: WatchedCamera
    status: CameraStatus
    last_frame: int | None
    detail: str


def silent_ns(camera: WatchedCamera, last_frame: int | None, now: int) -> int:
    """How long the camera has had nothing to show, counted from its last frame or its row's last
    change (enabling, editing), whichever is later."""
    return now - max(last_frame or 0, camera.changed_ns)


def classify(camera: WatchedCamera, last_frame: int | None, circuit_since: int | None, now: int,
             stale_ns: int) -> tuple[CameraStatus, str]:
    """The status ``camera`` should have at ``now`` and why (see the module docstring)."""
    if circuit_since is not None and (last_frame is None or last_frame < circuit_since):
        return CameraStatus.ERROR, (f"the streamer cannot reach the camera: circuit breaker open for "
                                    f"{max(0, now - circuit_since) // NS} s")
    if last_frame is not None and now - last_frame <= stale_ns:
        return CameraStatus.ONLINE, "frames arriving"
    if last_frame is None and camera.status is CameraStatus.PROVISIONING:
        return camera.status, "no frame yet"
    silent = silent_ns(camera, last_frame, now)
    if silent <= stale_ns:
        return camera.status, "within the stale time"
    if last_frame is None:
        return CameraStatus.OFFLINE, f"no frame since enabled {silent // NS} s ago"
    return CameraStatus.OFFLINE, f"no frame for {(now - last_frame) // NS} s"


class CameraFreshness:
    """The camera part of the watchdog (a :class:`~vigia.watchdog.checks.PeriodicCheck`)."""

    name = "camera_freshness"

    def __init__(self, engine: Engine, redis: Redis, publisher: AsyncPublisher, *, interval: float,
                 stale_seconds: float, cooldown_seconds: float, cooldown_max_seconds: float,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.engine = engine
        self.redis = redis
        self.publisher = publisher
        self.interval = interval
        self.stale_ns = int(stale_seconds * NS)
        self.cooldown_s = cooldown_seconds
        self.cooldown_max_s = cooldown_max_seconds
        self.clock = clock

    # --- PostgreSQL ------------------------------------------------------------------------------

    def enabled_cameras(self) -> list[WatchedCamera]:
        query = (select(cameras.c.id, cameras.c.org_id, cameras.c.status, cameras.c.last_frame_at,
                        cameras.c.updated_at)
                 .where(cameras.c.enabled.is_(True)))
        out = []
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                try:
                    status = CameraStatus(row.status)
                except ValueError:  # a value no release wrote: start over from the first frame
                    status = CameraStatus.PROVISIONING
                out.append(WatchedCamera(row.id, row.org_id, status, datetime_ns(row.last_frame_at),
                                         datetime_ns(row.updated_at) or 0))
        return out

    def _store(self, changes: Sequence[tuple[Transition, Envelope]]) -> None:
        """The announced statuses into the camera rows; a row already holding a newer status (the
        recorder stored a later report) keeps it. last_frame_at only moves forward."""
        statement = text(
            "UPDATE cameras AS c SET"
            " status = CASE WHEN c.status_changed_at IS NULL OR c.status_changed_at < v.changed"
            " THEN v.status ELSE c.status END,"
            " status_changed_at = GREATEST(c.status_changed_at, v.changed),"
            " last_frame_at = GREATEST(c.last_frame_at, v.seen)"
            " FROM (SELECT unnest(CAST(:ids AS uuid[])) AS id, unnest(CAST(:statuses AS text[])) AS status,"
            " unnest(CAST(:changed AS timestamptz[])) AS changed,"
            " unnest(CAST(:seen AS timestamptz[])) AS seen) AS v WHERE c.id = v.id"
        ).bindparams(bindparam("ids"), bindparam("statuses"), bindparam("changed"), bindparam("seen"))
        with self.engine.begin() as conn:
            conn.execute(statement, {
                "ids": [t.camera.id for t, _ in changes],
                "statuses": [t.status.value for t, _ in changes],
                "changed": [time_ns_to_datetime(e.time) for _, e in changes],
                "seen": [time_ns_to_datetime(t.last_frame) if t.last_frame else None for t, _ in changes],
            })

    def _flush(self, seen: dict[uuid.UUID, int]) -> None:
        """Move cameras.last_frame_at forward in one UPDATE."""
        statement = text(
            "UPDATE cameras AS c SET last_frame_at = v.seen"
            " FROM (SELECT unnest(CAST(:ids AS uuid[])) AS id, unnest(CAST(:seen AS timestamptz[])) AS seen) AS v"
            " WHERE c.id = v.id AND (c.last_frame_at IS NULL OR c.last_frame_at < v.seen)"
        ).bindparams(bindparam("ids"), bindparam("seen"))
        with self.engine.begin() as conn:
            conn.execute(statement, {"ids": list(seen), "seen": [time_ns_to_datetime(v) for v in seen.values()]})

    # --- the check -------------------------------------------------------------------------------

    async def run(self) -> None:
        watched = await asyncio.to_thread(self.enabled_cameras)
        beats: dict[uuid.UUID, int] = {}
        circuits: dict[uuid.UUID, int] = {}
        for i in range(0, len(watched), MGET_CHUNK):
            part = watched[i:i + MGET_CHUNK]
            raw = await self.redis.mget([key for c in part for key in (last_frame_key(c.id), circuit_key(c.id))])
            for camera, raw_beat, raw_circuit in zip(part, raw[0::2], raw[1::2], strict=True):
                if (beat_ns := parse_ns(raw_beat)) is not None:
                    beats[camera.id] = beat_ns
                if (circuit_ns := parse_ns(raw_circuit)) is not None:
                    circuits[camera.id] = circuit_ns
        now = self.clock()
        changes: list[Transition] = []
        for camera in watched:
            beat = beats.get(camera.id)
            last = max(beat, camera.stored_last_frame or 0) if beat is not None else camera.stored_last_frame
            status, detail = classify(camera, last, circuits.get(camera.id), now, self.stale_ns)
            if status != camera.status:
                changes.append(Transition(camera, status, last, detail))
            try:
                if silent_ns(camera, last, now) > self.stale_ns:
                    await self._restart(camera, last, now)
            except PublishError:
                log.warning("could not request a restart; retrying next run",
                            extra={"camera": str(camera.id)}, exc_info=True)
        announced = await self._announce(changes) if changes else set()
        moved = {camera.id: beats[camera.id] for camera in watched
                 if camera.id in beats and camera.id not in announced
                 and us(beats[camera.id]) > us(camera.stored_last_frame or 0)}
        if moved:
            await asyncio.to_thread(self._flush, moved)

    async def _restart(self, camera: WatchedCamera, last: int | None, now: int) -> None:
        age = silent_ns(camera, last, now) // NS
        detail = f"no frame for {age} s" if last is not None else f"no frame since enabled {age} s ago"
        restarts = int(await self.redis.get(restarts_key(camera.id)) or 0)
        cooldown = min(self.cooldown_s * 2 ** min(restarts, 30), self.cooldown_max_s)
        if not await self.redis.set(cooldown_key(camera.id), str(restarts + 1), px=int(cooldown * 1000), nx=True):
            return  # inside its cool-down
        try:
            await self.publisher.publish(make("camera.restart", camera.org, SOURCE,
                                              CameraRestart(camera=camera.id, reason=f"stale: {detail}")))
        except PublishError:
            await self.redis.delete(cooldown_key(camera.id))  # not sent: retry on the next run
            raise
        RESTARTS.labels(str(camera.id)).inc()
        await self.redis.set(restarts_key(camera.id), restarts + 1, ex=86_400)
        log.warning("camera frozen: restart requested", extra={
            "camera": str(camera.id), "org": str(camera.org), "detail": detail,
            "restarts": restarts + 1, "cooldown_s": cooldown})

    async def _announce(self, changes: list[Transition]) -> set[uuid.UUID]:
        """Publish one camera.health per change, then store the confirmed ones; returns their ids."""
        envelopes: list[Envelope] = [
            make("camera.health", c.camera.org, SOURCE, CameraHealth(
                camera=c.camera.id, status=c.status, previous=c.camera.status, last_frame_at=c.last_frame,
                detail=c.detail[:512]))
            for c in changes]
        try:
            await self.publisher.publish_many(envelopes)
            confirmed = list(zip(changes, envelopes, strict=True))
        except BatchPublishError as exc:
            failed = {id(item) for item, _ in exc.failures}
            confirmed = [(c, e) for c, e in zip(changes, envelopes, strict=True) if id(e) not in failed]
            log.warning("camera.health not confirmed for %d cameras; retrying next run", len(failed))
        except PublishError:
            log.warning("camera.health could not be published; retrying next run", exc_info=True)
            return set()
        if not confirmed:
            return set()
        # Announced first, stored second: a crash in between repeats the announcement (at least
        # once), never loses it.
        await asyncio.to_thread(self._store, confirmed)
        for change, _ in confirmed:
            camera = change.camera
            if change.status is CameraStatus.ONLINE:
                await self.redis.delete(restarts_key(camera.id))  # frames again: reset the back-off
            TRANSITIONS.labels(camera.status.value, change.status.value).inc()
            log.info("camera status changed", extra={"camera": str(camera.id), "org": str(camera.org),
                                                      "previous": camera.status.value,
                                                      "status": change.status.value, "detail": change.detail})
        return {change.camera.id for change, _ in confirmed}
