"""Per-camera frame rate limit in Redis, shared by every gateway replica.

A fixed window that opens with a camera's first frame and lasts one second: one Lua script (one
round trip, atomic) increments the window's counter, starts its expiry when it is new, and either
refuses the frame (with the window's remaining time, the Retry-After) or takes the camera's next
frame sequence number. A burst straddling two windows can reach twice the limit for an instant;
the limit exists to protect the vision workers from a runaway camera, which this does.

If Redis is unreachable the limiter lets frames through (``seq`` 0) and counts it: Redis holds
nothing the gateway cannot do without, and refusing every frame during a Redis outage would turn
a cache failure into a total outage.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RATE_LIMIT_UNAVAILABLE = Counter(
    "vigia_frames_rate_limit_unavailable_total",
    "Frames let through without a rate-limit decision because Redis did not answer")

WINDOW_MS = 1000
SEQ_TTL_S = 86_400  # a camera silent for a day restarts its sequence at 1

_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]); ttl = tonumber(ARGV[2]) end
  return {0, ttl}
end
local seq = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return {1, seq}
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """``allowed`` with the frame's per-camera ``seq``, or refused with ``retry_after_s``."""

    allowed: bool
    seq: int = 0
    retry_after_s: int = 0


class CameraRateLimiter:
    """``limit`` frames per second per camera; see the module docstring."""

    def __init__(self, redis: Redis, limit: int, *, prefix: str = "frames") -> None:
        self._redis = redis
        self._limit = limit
        self._prefix = prefix
        self._script = redis.register_script(_SCRIPT)

    async def admit(self, camera: uuid.UUID) -> RateDecision:
        """Count one frame of ``camera`` and say whether it may go through."""
        keys = [f"{self._prefix}:{camera}:rate", f"{self._prefix}:{camera}:seq"]
        try:
            allowed, value = await self._script(keys=keys, args=[self._limit, WINDOW_MS, SEQ_TTL_S])
        except (RedisError, OSError) as exc:
            RATE_LIMIT_UNAVAILABLE.inc()
            log.warning("rate limit unavailable, frame let through", extra={"error": str(exc)})
            return RateDecision(True)
        if allowed:
            return RateDecision(True, seq=int(value))
        return RateDecision(False, retry_after_s=max(1, math.ceil(int(value) / 1000)))
