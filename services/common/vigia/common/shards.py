"""Spreading a group's shard queues over its live replicas: Redis leases and a fair share.

Fusion consumes ``fusion.sensors.<k>`` and vision ``vision.frames.<k>``: each shard must be worked
by one replica at a time, so that one device's packets (one camera's frames) are handled in order
by one process that keeps its state. Single active consumer on the queues makes that safe, but on
its own it gives every shard to whichever replica subscribed first: the others stand by and scaling
out adds nothing. :class:`ShardedConsumers` spreads the shards instead:

* ``shards:<vhost>:<group>:replicas`` is a sorted set of replica heartbeats (score = ms); members
  older than a lease are dropped, the rest are the live replicas. (The broker vhost is part of the
  key: shard queues of two vhosts sharing one Redis are different queues.)
* ``shards:<vhost>:<group>:<k>`` is the lease of shard ``k`` (holder = replica id), taken with
  ``SET NX``, renewed and released only by its holder (:class:`~vigia.common.leases.RedisLeases`).
* Every tick (a third of a lease) a replica heartbeats, renews its leases (a lost lease stops that
  shard's consumer), computes its fair share ``ceil(shards / live replicas)``, stops consuming and
  then releases the shards above it, and takes free shards (in random order) below it.

A replica joining takes its share within two ticks (the others release, it acquires); a replica
that dies (kill -9) stops renewing and its shards are taken over once its leases expire. A shard is
released only after its consumer stopped (in-flight messages finished and acked), and single
active consumer stays on the queues, so even while Redis is unreachable -- replicas then keep what
they consume -- two replicas never work one shard at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable, Sequence
from typing import Protocol

from prometheus_client import Gauge
from redis.asyncio import Redis

from vigia.common.leases import RedisLeases, heartbeat_replica

log = logging.getLogger(__name__)

SHARDS_HELD = Gauge("vigia_shards_held", "Shard queues this replica holds the lease of and consumes",
                    ["group"])
SHARD_REPLICAS = Gauge("vigia_shard_replicas_live", "Live replicas sharing the group's shards, as this "
                       "replica last counted them", ["group"])


class ShardConsumer(Protocol):
    """What :class:`ShardedConsumers` needs of a consumer (:class:`~vigia.common.broker.Consumer`)."""

    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...


def shard_lease_key(vhost: str, group: str, shard: int) -> str:
    return f"shards:{vhost}:{group}:{shard}"


def replicas_key(vhost: str, group: str) -> str:
    return f"shards:{vhost}:{group}:replicas"


class ShardedConsumers:
    """Runs one consumer (``make_consumer(shard)``) per shard of ``group`` this replica holds.

    ``vhost`` is the broker vhost of the queues; ``candidates`` restricts the shards this replica
    may take (default: all ``0..shards-1``).
    """

    def __init__(self, redis: Redis, group: str, shards: int, replica: str,
                 make_consumer: Callable[[int], ShardConsumer], *, vhost: str = "/", lease_ms: int = 15_000,
                 candidates: Sequence[int] | None = None) -> None:
        if shards < 1:
            raise ValueError("shards must be at least 1")
        self.redis = redis
        self.group = group
        self.vhost = vhost
        self.shards = shards
        self.replica = replica
        self.make_consumer = make_consumer
        self.lease_ms = lease_ms
        self.candidates = sorted(set(candidates if candidates is not None else range(shards)))
        self.consumers: dict[int, ShardConsumer] = {}
        self.live_replicas = 1
        self._leases = RedisLeases(redis, replica, lease_ms)

    @property
    def held(self) -> list[int]:
        return sorted(self.consumers)

    @property
    def tick_s(self) -> float:
        return self.lease_ms / 3000

    # --- one balancing step ---

    async def tick(self) -> None:
        """Heartbeat, renew, drop lost shards, release the surplus, take free shards up to the share."""
        self.live_replicas = await heartbeat_replica(self.redis, replicas_key(self.vhost, self.group),
                                                     self.replica, self.lease_ms)
        held = self.held
        renewed = await self._leases.renew(shard_lease_key(self.vhost, self.group, s) for s in held)
        for shard, ok in zip(held, renewed, strict=True):
            if not ok:
                log.warning("shard lease lost: stopping its consumer", extra={"group": self.group, "shard": shard})
                await self._stop(shard, release=False)
        share = math.ceil(self.shards / self.live_replicas)
        for shard in self.held[share:]:
            log.info("above fair share: handing a shard over", extra={"group": self.group, "shard": shard,
                                                                      "share": share})
            await self._stop(shard, release=True)
        wanted = share - len(self.consumers)
        if wanted > 0:
            await self._take(wanted)
        SHARDS_HELD.labels(self.group).set(len(self.consumers))
        SHARD_REPLICAS.labels(self.group).set(self.live_replicas)

    async def _take(self, wanted: int) -> None:
        others = [s for s in self.candidates if s not in self.consumers]
        if not others:
            return
        holders = await self.redis.mget([shard_lease_key(self.vhost, self.group, s) for s in others])
        # Free, or still leased to this replica's name by a previous life of it (a container
        # restarted with the same hostname): that process is gone, no need to wait for its lease.
        mine = self.replica.encode()
        free = [s for s, holder in zip(others, holders, strict=True) if holder in (None, mine, self.replica)]
        random.shuffle(free)
        taken: list[int] = []
        try:
            for shard in free:
                if wanted <= 0:
                    return
                if not await self._leases.hold(shard_lease_key(self.vhost, self.group, shard)):
                    continue  # another replica was quicker
                consumer = self.make_consumer(shard)
                try:
                    await consumer.start()
                except Exception as exc:
                    log.warning("could not start a shard's consumer; releasing it", extra={
                        "group": self.group, "shard": shard, "error": str(exc)[:300]})
                    with contextlib.suppress(Exception):
                        await consumer.shutdown()
                    await self._leases.release(shard_lease_key(self.vhost, self.group, shard))
                    return
                self.consumers[shard] = consumer
                taken.append(shard)
                wanted -= 1
        finally:
            if taken:  # one line per balancing step, not one per shard
                log.info("shards taken", extra={"group": self.group, "shards": sorted(taken),
                                                "held": self.held, "replica": self.replica})

    async def _stop(self, shard: int, *, release: bool) -> None:
        consumer = self.consumers.pop(shard)
        try:
            await consumer.shutdown()  # in-flight messages finish and are acked first
        finally:
            if release:
                await self._leases.release(shard_lease_key(self.vhost, self.group, shard))

    # --- lifecycle ---

    async def run(self, stopping: asyncio.Event) -> None:
        """Balance every tick until ``stopping`` is set; then stop every consumer and hand its
        shard over at once (release the leases, leave the replica set)."""
        try:
            while not stopping.is_set():
                try:
                    await self.tick()
                except Exception as exc:  # Redis away: keep what we consume (SAC keeps it exclusive)
                    log.warning("shard balancing failed; retrying", extra={"group": self.group,
                                                                           "error": str(exc)[:300]})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.tick_s)
        finally:
            await self.close()

    async def close(self) -> None:
        shards = self.held
        results = await asyncio.gather(*(self._stop(s, release=True) for s in shards), return_exceptions=True)
        for shard, result in zip(shards, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("shard did not stop cleanly", extra={"group": self.group, "shard": shard,
                                                                  "error": str(result)[:300]})
        with contextlib.suppress(Exception):
            await self.redis.zrem(replicas_key(self.vhost, self.group), self.replica)
        SHARDS_HELD.labels(self.group).set(0)
