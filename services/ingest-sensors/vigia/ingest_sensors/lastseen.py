"""``device:{id}:last_seen`` in Redis: when the gateway last accepted something from a device.

Accepting a batch only notes the time in a dict; :meth:`LastSeenRecorder.run` writes the noted
devices in one pipeline every ``sensors_last_seen_flush_s`` (1 s), so a device's key is written at
most once a second however fast it sends. The value is the gateway's clock (ns since the epoch) at
the broker confirm: device health compares it with "now", which a phone's own clock (or a resent
backlog's old timestamps) would skew. The watchdog reads these keys and flushes them to
``devices.last_seen``. A Redis outage loses no notes: they are kept and written on the next round.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


def last_seen_key(device: uuid.UUID | str) -> str:
    return f"device:{device}:last_seen"


class LastSeenRecorder:
    """Notes the last acceptance per device and writes them to Redis periodically."""

    def __init__(self, redis: Redis, interval_s: float) -> None:
        self._redis = redis
        self._interval = interval_s
        self._noted: dict[str, int] = {}

    def note(self, device: uuid.UUID) -> None:
        self._noted[last_seen_key(device)] = time.time_ns()

    async def flush(self) -> None:
        """Write what was noted since the last flush (kept for the next one if Redis fails)."""
        if not self._noted:
            return
        noted, self._noted = self._noted, {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, ns in noted.items():
                    pipe.set(key, str(ns))
                await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not write last_seen", extra={"error": str(exc), "devices": len(noted)})
            for key, ns in noted.items():
                self._noted[key] = max(ns, self._noted.get(key, 0))

    async def run(self) -> None:
        """Flush every interval until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
