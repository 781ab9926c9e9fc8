"""Redis leases and the camera and device keys shared by the services that use them.

A lease is a key holding its holder's name with a TTL. It is taken with ``SET NX PX``; renewed
and released only by its holder (compare-and-``PEXPIRE`` / compare-and-``DEL`` Lua scripts), so a
replica can never extend or drop another's lease. A holder that dies stops renewing and its
lease expires after one TTL.

Camera keys (the contract between streamer, watchdog and anyone reading camera health):

* ``camera:{id}:last_frame`` — ``str(time.time_ns())`` of the camera's last published frame;
* ``camera:{id}:lease`` — the streamer replica running the camera;
* ``camera:{id}:restart`` — a counter bumped by each restart command;
* ``camera:{id}:circuit_open`` — ``str(time.time_ns())`` of when the streamer's circuit breaker
  for the camera opened; present while it stays open (refreshed with a TTL), deleted by the
  streamer once a start delivers a frame again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from redis.asyncio import Redis

_HOLD = """
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def camera_heartbeat_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:last_frame"


def camera_circuit_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:circuit_open"


def camera_lease_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:lease"


def camera_frames_key(camera: uuid.UUID | str) -> str:
    """Redis stream of a camera's recent frames (fields ``t`` capture ns, ``jpeg``), written by the
    vision worker, read by the correlator's evidence builder."""
    return f"camera:{camera}:frames"


def device_audio_key(device: uuid.UUID | str) -> str:
    """Redis stream of a phone's recent audio chunks (fields ``t`` ns, ``rate`` Hz, ``pcm`` PCM16
    LE mono), written by fusion, read by the correlator's evidence builder."""
    return f"device:{device}:audio"


def camera_restart_key(camera: uuid.UUID | str) -> str:
    return f"camera:{camera}:restart"


class RedisLeases:
    """Lease operations of one ``holder`` over any number of keys, ``ttl_ms`` at a time."""

    def __init__(self, redis: Redis, holder: str, ttl_ms: int) -> None:
        self.redis = redis
        self.holder = holder
        self.ttl_ms = max(1, int(ttl_ms))
        self._hold = redis.register_script(_HOLD)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, key: str) -> bool:
        """Take ``key`` if nobody holds it (never renews)."""
        return bool(await self.redis.set(key, self.holder, nx=True, px=self.ttl_ms))

    async def hold(self, key: str) -> bool:
        """Take ``key`` if free or renew it if ours; True while we hold it."""
        return bool(await self._hold(keys=[key], args=[self.holder, self.ttl_ms]))

    async def renew(self, keys: Iterable[str]) -> list[bool]:
        """Extend the given leases in one round trip; for each key, whether we still hold it."""
        items = list(keys)
        if not items:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in items:
                await self._renew(keys=[key], args=[self.holder, self.ttl_ms], client=pipe)
            results = await pipe.execute()
        return [bool(ok) for ok in results]

    async def release(self, key: str) -> bool:
        """Give ``key`` up if we hold it (a clean stop hands over at once)."""
        return bool(await self._release(keys=[key], args=[self.holder]))


async def heartbeat_replica(redis: Redis, key: str, replica: str, ttl_ms: int) -> int:
    """Record ``replica`` as alive in the sorted set ``key`` (score = ms), drop members silent for
    more than ``ttl_ms``, and return how many replicas are alive (at least 1)."""
    now = int(time.time() * 1000)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(key, {replica: now})
        pipe.zremrangebyscore(key, "-inf", now - ttl_ms)
        pipe.zcard(key)
        results = await pipe.execute()
    return max(1, int(results[-1]))
