"""The scheduled rounds: every ``interval`` seconds the leader refreshes every active device.

Replicas share one Redis lease, ``forecast:leader`` (:class:`vigia.common.leases.RedisLeases`:
taken when free, renewed only by its holder), so a round runs on one replica at a time. The
lease is renewed every third of its lifetime while a round runs; a replica that loses it cancels
its round (another took over), and a clean stop releases it at once. On-demand requests do not
need the lease: the ``forecast.control`` queue hands each to one replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vigia.common.leases import RedisLeases

log = logging.getLogger(__name__)

LEADER_KEY = "forecast:leader"


def default_holder() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class RefreshSchedule:
    """Runs ``refresh(since)`` every ``interval`` s while this replica holds the leader lease;
    ``since`` is now minus ``active_s`` (the devices seen since then are refreshed)."""

    def __init__(self, redis: Redis, holder: str, refresh: Callable[[datetime], Coroutine[Any, Any, int]], *,
                 interval: float, active_s: float, lease_s: float, key: str = LEADER_KEY) -> None:
        self.leases = RedisLeases(redis, holder, max(1, int(lease_s * 1000)))
        self.holder = holder
        self.key = key
        self.refresh = refresh
        self.interval = interval
        self.active_s = active_s
        self.renew_s = lease_s / 3
        self.leading = False

    async def run(self, stopping: asyncio.Event) -> None:
        """Until ``stopping`` is set; then the round in progress is cancelled and the lease released."""
        round_task: asyncio.Task[int] | None = None
        due = 0.0
        try:
            while not stopping.is_set():
                self.leading = await self._hold()
                if round_task is not None and (round_task.done() or not self.leading):
                    await self._finish(round_task)
                    round_task = None
                if self.leading and round_task is None and time.monotonic() >= due:
                    due = time.monotonic() + self.interval
                    since = datetime.now(UTC) - timedelta(seconds=self.active_s)
                    round_task = asyncio.create_task(self.refresh(since))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), min(self.renew_s, self.interval))
        finally:
            if round_task is not None:
                await self._finish(round_task)
            with contextlib.suppress(RedisError, OSError):
                await self.leases.release(self.key)

    async def _hold(self) -> bool:
        try:
            return await self.leases.hold(self.key)
        except (RedisError, OSError) as exc:  # Redis away: nobody can be sure to lead, so nobody does
            log.warning("forecast leader lease unavailable", extra={"error": str(exc)[:200]})
            return False

    async def _finish(self, task: asyncio.Task[int]) -> None:
        if not task.done():
            task.cancel()
        try:
            devices = await task
            log.info("forecast round done", extra={"devices": devices})
        except asyncio.CancelledError:
            log.info("forecast round cancelled (lease lost or stopping)")
        except Exception:
            log.exception("forecast round failed")
