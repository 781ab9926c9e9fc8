"""The heartbeat of pushed cameras: what the streamer writes for the cameras it pulls.

After the broker confirmed a pushed frame, ``camera:{id}:last_frame`` = ``str(time.time_ns())``
(:func:`vigia.common.leases.camera_heartbeat_key`), so the watchdog sees the camera deliver and
shows it ``online`` (and ``offline`` once the pushes stop). Written at most once a second per
camera and process: the watchdog looks every few seconds, and a camera pushing 100 frames/s must
not cost 100 Redis writes/s. A Redis failure never fails the frame, which is already on the broker.
"""

from __future__ import annotations

import logging
import time
import uuid

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from vigia.common.leases import camera_heartbeat_key

log = logging.getLogger(__name__)

HEARTBEAT_FAILURES = Counter("vigia_frames_heartbeat_failures", "Camera heartbeats ingest-frames could not "
                             "write to Redis")
BEAT_EVERY_S = 1.0
TTL_S = 3600  # as the streamer's default: a camera silent for an hour is long offline


class CameraHeartbeat:
    """``await beat(camera)`` after each confirmed frame; see the module docstring."""

    def __init__(self, redis: Redis, *, every_s: float = BEAT_EVERY_S, ttl_s: int = TTL_S) -> None:
        self.redis = redis
        self.every_s = every_s
        self.ttl_s = ttl_s
        self._written: dict[uuid.UUID, float] = {}  # camera -> monotonic time of its last write
        self._warned_at = -float("inf")

    async def beat(self, camera: uuid.UUID) -> None:
        now = time.monotonic()
        if now - self._written.get(camera, -float("inf")) < self.every_s:
            return
        self._written[camera] = now
        try:
            await self.redis.set(camera_heartbeat_key(camera), str(time.time_ns()), ex=self.ttl_s)
        except RedisError as exc:
            del self._written[camera]  # not written: the next frame tries again
            HEARTBEAT_FAILURES.inc()
            if now - self._warned_at >= 30:
                self._warned_at = now
                log.warning("camera heartbeat not written", extra={"camera": str(camera), "error": str(exc)})
