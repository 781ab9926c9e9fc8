"""The correlator's durable state in Redis: each site's window and open incident, and the queue of
evidence jobs.

Keys (prefix ``correlator:`` by default)::

    <prefix>site:<org>:<site>   JSON of a SiteState, refreshed on every change (expires after a day idle)
    <prefix>evidence            sorted set of evidence jobs (JSON), scored by when they are due (ms)

A site's new state and, when its incident closed, the evidence job are written in one MULTI, so a
closed incident always has its job. Everything here can be rebuilt: windows refill in a second,
and events without evidence are listed by the events table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from vigia.correlator.incidents import SiteState

SITE_TTL_S = 86_400

# Claim a due job: push its due time forward (the retry time) only if it is still due, so two
# replicas never build the same job at once and a crashed builder's job comes back later.
_CLAIM = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""


class StateStore:
    """Site states cached in memory, written through to Redis."""

    def __init__(self, redis: Redis, prefix: str = "correlator:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.evidence_key = f"{prefix}evidence"
        self._cache: dict[str, bytes] = {}

    def site_key(self, org: Any, site: str) -> str:
        return f"{self.prefix}site:{org}:{site}"

    def parse_site_key(self, key: str) -> tuple[str, str]:
        """``(org, site group)`` of a key made by :meth:`site_key`."""
        org, _, group = key[len(f"{self.prefix}site:"):].partition(":")
        return org, group

    async def restore(self) -> int:
        """Load every site state from Redis (at start); returns how many."""
        self._cache.clear()
        async for key in self.redis.scan_iter(match=f"{self.prefix}site:*", count=500):
            raw = cast(bytes | None, await self.redis.get(key))
            if raw is not None:
                self._cache[key.decode() if isinstance(key, bytes) else key] = raw
        return len(self._cache)

    async def load(self, key: str) -> SiteState:
        """A fresh copy of the site's state (callers mutate it, then :meth:`save` it)."""
        raw = self._cache.get(key)
        if raw is None:
            raw = cast(bytes | None, await self.redis.get(key))
            if raw is None:
                return SiteState()
            self._cache[key] = raw
        return SiteState.from_json(orjson.loads(raw))

    async def save(self, key: str, state: SiteState,
                   jobs: Sequence[tuple[dict[str, Any], float]] = ()) -> None:
        """Write the state (and queue evidence jobs, ``(job, due unix seconds)``) atomically."""
        raw = orjson.dumps(state.to_json())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, raw, ex=SITE_TTL_S)
            for job, due in jobs:
                pipe.zadd(self.evidence_key, {orjson.dumps(job, option=orjson.OPT_SORT_KEYS): int(due * 1000)})
            await pipe.execute()
        self._cache[key] = raw

    def site_keys(self) -> list[str]:
        return list(self._cache)

    def cached(self, key: str) -> SiteState | None:
        raw = self._cache.get(key)
        return SiteState.from_json(orjson.loads(raw)) if raw is not None else None

    # --- evidence jobs ----------------------------------------------------------------------

    async def claim_due(self, retry_after_s: float, limit: int = 10) -> list[tuple[bytes, dict[str, Any]]]:
        """Due evidence jobs, each claimed (its retry scheduled ``retry_after_s`` from now)."""
        now_ms = int(time.time() * 1000)
        members = cast(list[bytes], await self.redis.zrangebyscore(self.evidence_key, "-inf", now_ms,
                                                                   start=0, num=limit))
        claimed = []
        for member in members:
            if await cast(Any, self.redis.eval(_CLAIM, 1, self.evidence_key, member, now_ms,
                                               now_ms + int(retry_after_s * 1000))):
                claimed.append((member, orjson.loads(member)))
        return claimed

    async def finish(self, member: bytes) -> None:
        await self.redis.zrem(self.evidence_key, member)
