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

from vigia.common.leases import RedisLeases

LEADER_KEY = "watchdog:leader"

def default_holder() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LeaderLease:
    """A Redis lease named ``key`` held as ``holder`` for ``ttl`` seconds at a time."""

    def __init__(self, redis: Redis, holder: str, ttl: float, key: str = LEADER_KEY) -> None:
        self.redis = redis
        self.holder = holder
        self.ttl_ms = max(1, int(ttl * 1000))
        self.key = key
        self._leases = RedisLeases(redis, holder, self.ttl_ms)

    async def hold(self) -> bool:
        """Take or renew the lease; True while we are the leader."""
        return await self._leases.hold(self.key)

    async def release(self) -> None:
        """Give the lease up if we hold it (a clean stop hands over at once)."""
        await self._leases.release(self.key)
