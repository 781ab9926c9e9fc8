"""Per-device rate limit: a token bucket per device in this gateway process.

Every item a device sends (a packet, an audio chunk) takes a token; tokens come back at
``sensors_rate_limit`` per second up to ``rate * sensors_rate_burst_s``. The deep bucket is on
purpose: a phone that reconnects resends its whole unacknowledged backlog at once, and refusing it
would make it resend forever. In process rather than in Redis: a device's socket lives on one
gateway, the check costs nothing per frame, and a device spreading sockets over replicas gets at
most one limit per replica, which still stops a runaway phone.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable


class DeviceRateLimiter:
    """``rate`` items per second per device with a bucket ``burst_s`` seconds deep."""

    def __init__(self, rate: float, burst_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate * burst_s)
        self._clock = clock
        self._buckets: dict[uuid.UUID, list[float]] = {}  # device -> [tokens, last refill]

    def take(self, device: uuid.UUID, items: int) -> bool:
        """Take ``items`` tokens of ``device``'s bucket; False (nothing taken) when there are too few."""
        now = self._clock()
        bucket = self._buckets.get(device)
        if bucket is None:
            bucket = self._buckets[device] = [self.capacity, now]
        tokens = min(self.capacity, bucket[0] + (now - bucket[1]) * self.rate)
        bucket[1] = now
        if tokens < items:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - items
        return True

    def retry_after_s(self, device: uuid.UUID, items: int) -> int:
        """Seconds until ``items`` tokens are available (at least 1)."""
        bucket = self._buckets.get(device)
        tokens = self.capacity if bucket is None else bucket[0]
        return max(1, math.ceil((items - tokens) / self.rate))

    def prune(self) -> None:
        """Forget buckets that are full again: they hold nothing a fresh bucket would not."""
        now = self._clock()
        full = [device for device, (tokens, at) in self._buckets.items()
                if tokens + (now - at) * self.rate >= self.capacity]
        for device in full:
            del self._buckets[device]
