"""Camera leases in Redis: which replica runs which camera.

* ``camera:{id}:lease`` = replica id, set with ``SET NX PX lease_ms``; renewed by its holder with a
  compare-and-``PEXPIRE`` script, released with compare-and-``DEL`` (never another's lease).
* ``streamer:replicas`` is a sorted set of replica heartbeats (score = ms); members older than a
  lease are dropped, the rest are the live replicas used for the fair-share cap.
* ``cameras:version`` is bumped on every camera change notification; replicas reload the
  cameras from the database when it moves. ``camera:{id}:restart`` counts restart commands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from redis.asyncio import Redis

from vigia.common.leases import (
    RedisLeases,
    camera_circuit_key,
    camera_heartbeat_key,
    camera_lease_key,
    camera_restart_key,
    heartbeat_replica,
)

REPLICAS_KEY = "streamer:replicas"
VERSION_KEY = "cameras:version"

lease_key = camera_lease_key
restart_key = camera_restart_key
heartbeat_key = camera_heartbeat_key
circuit_key = camera_circuit_key


class CameraLeases:
    """Lease operations of one replica (``replica``) over ``redis`` (decode_responses=False)."""

    def __init__(self, redis: Redis, replica: str, lease_ms: int) -> None:
        self.redis = redis
        self.replica = replica
        self.lease_ms = lease_ms
        self._leases = RedisLeases(redis, replica, lease_ms)

    async def acquire(self, camera: uuid.UUID) -> bool:
        """Take the camera's lease if nobody holds it."""
        return await self._leases.acquire(lease_key(camera))

    async def renew(self, cameras: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        """Extend our leases; returns the cameras whose lease we still hold."""
        items = list(cameras)
        held = await self._leases.renew(lease_key(camera) for camera in items)
        return {camera for camera, ok in zip(items, held, strict=True) if ok}

    async def release(self, camera: uuid.UUID) -> bool:
        return await self._leases.release(lease_key(camera))

    async def holders(self, cameras: Iterable[uuid.UUID]) -> dict[uuid.UUID, str | None]:
        items = list(cameras)
        if not items:
            return {}
        values = await self.redis.mget([lease_key(c) for c in items])
        return {c: (v.decode() if isinstance(v, bytes) else v) for c, v in zip(items, values, strict=True)}

    async def heartbeat(self) -> int:
        """Record this replica as alive; returns how many replicas are alive (at least 1)."""
        return await heartbeat_replica(self.redis, REPLICAS_KEY, self.replica, self.lease_ms)

    async def leave(self) -> None:
        await self.redis.zrem(REPLICAS_KEY, self.replica)

    async def restart_generations(self, cameras: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        items = list(cameras)
        if not items:
            return {}
        values = await self.redis.mget([restart_key(c) for c in items])
        return {c: int(v or 0) for c, v in zip(items, values, strict=True)}
