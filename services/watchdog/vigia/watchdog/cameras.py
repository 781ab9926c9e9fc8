"""Camera freshness: a camera whose frames stopped is told to restart, and operators are told.

The streamer writes ``camera:{id}:last_frame`` = ``str(time.time_ns())`` (a plain integer string,
unix ns) for every frame it publishes. Every run, for every enabled camera:

* last frame older than ``camera_stale_seconds`` -- or none at all for a camera enabled (last
  changed) longer ago than that -- is *stale*:

  - outside its cool-down: publish ``camera.restart`` (vigia.control, ``camera.restart.<camera>``)
    then ``camera.health`` "restarting" (vigia.events), count ``watchdog_restarts_total{camera}``,
    and start a cool-down (``camera:{id}:restart_cooldown``, Redis TTL) that doubles with each
    restart that did not help, up to ``camera_restart_cooldown_max_s``: a dead camera is not hammered;
  - inside its cool-down: publish ``camera.health`` "stale" once, if operators were last told "ok";

* a fresh last frame after "stale"/"restarting" publishes ``camera.health`` "ok" once and resets
  the back-off.

The state lives in Redis (cool-downs, back-off counts, the last status told, hash
``watchdog:camera_health``), so a new leader carries on where the old one stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter
from redis.asyncio import Redis
from sqlalchemy import Engine, select

from vigia.common.broker import AsyncPublisher, PublishError
from vigia.common.db import cameras
from vigia.common.leases import camera_heartbeat_key
from vigia.common.messages import CameraHealth, CameraRestart, make

log = logging.getLogger(__name__)

RESTARTS = Counter("watchdog_restarts", "camera.restart commands sent for frozen cameras", ["camera"])
HEALTH_KEY = "watchdog:camera_health"
SOURCE = "watchdog"
NS = 1_000_000_000


last_frame_key = camera_heartbeat_key


def cooldown_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:restart_cooldown"


def restarts_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:restarts"


@dataclass(frozen=True)
class WatchedCamera:
    id: uuid.UUID
    org: uuid.UUID
    enabled_since_ns: int  # last change of the row: enabling a camera updates it


def parse_last_frame(raw: bytes | str | None) -> int | None:
    """The heartbeat's unix ns, or None when absent or not a plain integer."""
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * NS + moment.microsecond * 1000


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

    def enabled_cameras(self) -> list[WatchedCamera]:
        query = (select(cameras.c.id, cameras.c.org_id, cameras.c.updated_at)
                 .where(cameras.c.enabled.is_(True)))
        with self.engine.connect() as conn:
            return [WatchedCamera(row.id, row.org_id, _ns(row.updated_at)) for row in conn.execute(query)]

    async def run(self) -> None:
        watched = await asyncio.to_thread(self.enabled_cameras)
        told = {_text(k): _text(v) for k, v in (await self.redis.hgetall(HEALTH_KEY)).items()}
        gone = set(told) - {str(c.id) for c in watched}
        if gone:  # deleted or disabled cameras: forget what we told about them
            await self.redis.hdel(HEALTH_KEY, *gone)
        if not watched:
            return
        beats = await self.redis.mget([last_frame_key(c.id) for c in watched])
        now = self.clock()
        for camera, raw in zip(watched, beats, strict=True):
            last = parse_last_frame(raw)
            reference = last if last is not None else camera.enabled_since_ns
            previous = told.get(str(camera.id))
            try:
                if now - reference > self.stale_ns:
                    await self._stale(camera, last, now - reference, previous)
                elif last is not None and previous in ("stale", "restarting"):
                    await self._recovered(camera, last)
            except PublishError:
                log.warning("could not publish for camera; retrying next run",
                            extra={"camera": str(camera.id)}, exc_info=True)

    async def _stale(self, camera: WatchedCamera, last: int | None, age_ns: int,
                     previous: str | None) -> None:
        age = age_ns // NS
        detail = f"no frame for {age} s" if last is not None else f"no frame since enabled {age} s ago"
        restarts = int(await self.redis.get(restarts_key(camera.id)) or 0)
        cooldown = min(self.cooldown_s * 2 ** min(restarts, 30), self.cooldown_max_s)
        if await self.redis.set(cooldown_key(camera.id), str(restarts + 1), px=int(cooldown * 1000), nx=True):
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
            await self._tell(camera, "restarting", last, f"{detail}; restart #{restarts + 1} requested")
        elif previous not in ("stale", "restarting"):
            await self._tell(camera, "stale", last, f"{detail}; restart cool-down running")

    async def _recovered(self, camera: WatchedCamera, last: int) -> None:
        await self._tell(camera, "ok", last, "frames resumed")
        await self.redis.delete(restarts_key(camera.id))
        log.info("camera recovered", extra={"camera": str(camera.id), "org": str(camera.org)})

    async def _tell(self, camera: WatchedCamera, status: str, last: int | None, detail: str) -> None:
        health = CameraHealth(camera=camera.id, status=status, last_frame_at=last, detail=detail[:512])
        await self.publisher.publish(make("camera.health", camera.org, SOURCE, health))
        await self.redis.hset(HEALTH_KEY, str(camera.id), status)
