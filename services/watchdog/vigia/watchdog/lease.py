"""The leader lease: one active watchdog among replicas, so a camera is never restarted twice.

``watchdog:leader`` holds the holder's name with a TTL. :meth:`LeaderLease.hold` takes the lease
when it is free and renews it when we hold it, atomically (a Lua script), so two replicas can
never both believe they lead. A leader that dies stops renewing and the lease expires; a leader
that stops cleanly releases it at once.
"""

from __future__ import annotations

import os
import socket
import uuid

from redis.asyncio import Redis

LEADER_KEY = "watchdog:leader"

_HOLD = """
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def default_holder() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaderLease:
    """A Redis lease named ``key`` held as ``holder`` for ``ttl`` seconds at a time."""

    def __init__(self, redis: Redis, holder: str, ttl: float, key: str = LEADER_KEY) -> None:
        self.redis = redis
        self.holder = holder
        self.ttl_ms = max(1, int(ttl * 1000))
        self.key = key
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)

    async def hold(self) -> bool:
        """Take or renew the lease; True while we are the leader."""
        return bool(await self._hold(keys=[self.key], args=[self.holder, self.ttl_ms]))

    async def release(self) -> None:
        """Give the lease up if we hold it (a clean stop hands over at once)."""
        await self._release(keys=[self.key], args=[self.holder])
