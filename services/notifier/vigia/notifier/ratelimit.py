"""Per-channel rate limits: a token bucket in Redis, shared by every notifier replica.

One Lua script refills the bucket for the time elapsed on Redis' clock (``rate`` tokens per
second, at most ``burst``) and takes a token if there is one; otherwise it answers how long until
there is. Redis holds nothing that cannot be rebuilt: a lost bucket starts full again.
"""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis

_TAKE = """
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now_ms end
tokens = math.min(burst, tokens + math.max(0, now_ms - at) * rate / 1000)
local wait_ms = 0
if tokens >= 1 then tokens = tokens - 1 else wait_ms = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait_ms
"""


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script: Any = redis.register_script(_TAKE)

    async def take(self, channel: uuid.UUID, rate_per_s: float, burst: int) -> float:
        """Take a token of ``channel``'s bucket; 0.0 when taken, else the seconds until one is free
        (nothing taken then)."""
        wait_ms = await self._script(keys=[f"{self.prefix}rate:{channel}"], args=[burst, rate_per_s])
        return int(wait_ms) / 1000
