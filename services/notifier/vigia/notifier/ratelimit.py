"""Per-channel rate limits: a token bucket in Redis, shared by every notifier replica.

One Lua script refills the bucket for the time elapsed on Redis' clock (``rate`` tokens per
second, at most ``burst``) and hands out up to the tokens asked for; with none left it answers how
long until there is one. A replica asks for the tokens of the next :data:`BATCH_S` seconds at once
(at least one) and spends them locally for up to :data:`HOLD_S`, so a fast channel does not cost a
Redis round trip per message; tokens it did not spend in time are simply lost (the limit errs on
the slow side). Redis holds nothing that cannot be rebuilt: a lost bucket starts full again.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

from redis.asyncio import Redis

BATCH_S = 0.05
HOLD_S = 0.5

_TAKE = """
local burst, rate, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now_ms end
tokens = math.min(burst, tokens + math.max(0, now_ms - at) * rate / 1000)
local granted, wait_ms = math.min(want, math.floor(tokens)), 0
if granted >= 1 then tokens = tokens - granted else granted = 0; wait_ms = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, wait_ms}
"""


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._script: Any = redis.register_script(_TAKE)
        self._held: dict[uuid.UUID, tuple[int, float]] = {}  # channel -> (tokens, spend before)

    async def take(self, channel: uuid.UUID, rate_per_s: float, burst: int) -> float:
        """Take a token of ``channel``'s bucket; 0.0 when taken, else the seconds until one is free
        (nothing taken then)."""
        now = time.monotonic()
        tokens, until = self._held.get(channel, (0, 0.0))
        if tokens > 0 and now < until:
            self._held[channel] = (tokens - 1, until)
            return 0.0
        want = max(1, min(burst, math.floor(rate_per_s * BATCH_S)))
        granted, wait_ms = await self._script(keys=[f"{self.prefix}rate:{channel}"], args=[burst, rate_per_s, want])
        if int(granted) < 1:
            self._held.pop(channel, None)
            return int(wait_ms) / 1000
        self._held[channel] = (int(granted) - 1, now + HOLD_S)
        return 0.0
