"""The watchdog loop: a list of periodic checks, run only by the replica that holds the lease.

A check is anything with a ``name``, an ``interval`` (s) and ``async run()``. Camera freshness
(:mod:`vigia.watchdog.cameras`), device health (:mod:`vigia.watchdog.devices`) and the janitor jobs
(:mod:`vigia.watchdog.janitor`) are listed in
``__main__``. A failing check is logged and counted; the loop and
the other checks go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

from vigia.watchdog.lease import LeaderLease

log = logging.getLogger(__name__)

IS_LEADER = Gauge("watchdog_is_leader", "1 while this replica holds the watchdog:leader lease")
CHECK_SECONDS = Histogram("watchdog_check_seconds", "Duration of one run of a periodic check", ["check"],
                          buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
CHECK_FAILURES = Counter("watchdog_check_failures_total", "Runs of a periodic check that raised", ["check"])


class PeriodicCheck(Protocol):
    """One thing the watchdog looks at every ``interval`` seconds."""

    name: str
    interval: float

    async def run(self) -> object:
        """Look and act once; exceptions are logged and counted by the loop, a result is ignored."""


class Watchdog:
    """Runs the due checks on every tick while holding the leader lease."""

    def __init__(self, checks: Sequence[PeriodicCheck], lease: LeaderLease, tick: float) -> None:
        self.checks = list(checks)
        self.lease = lease
        self.tick_s = tick
        self._due: dict[str, float] = {}
        self._stopping = asyncio.Event()

    async def tick(self) -> bool:
        """Renew (or take) the lease and, if we lead, run the checks that are due; True if we lead."""
        try:
            leader = await self.lease.hold()
        except Exception:
            log.warning("leader lease unavailable; standing by", exc_info=True)
            leader = False
        IS_LEADER.set(1 if leader else 0)
        if not leader:
            self._due.clear()  # a new term starts with every check due at once
            return False
        for check in self.checks:
            now = time.monotonic()
            if now < self._due.get(check.name, 0.0):
                continue
            self._due[check.name] = now + check.interval
            started = time.perf_counter()
            try:
                await check.run()
            except Exception:
                CHECK_FAILURES.labels(check.name).inc()
                log.exception("check failed", extra={"check": check.name})
            finally:
                CHECK_SECONDS.labels(check.name).observe(time.perf_counter() - started)
        return True

    def stop(self) -> None:
        """Ask :meth:`run` to finish its current tick and return (safe from a signal handler)."""
        self._stopping.set()

    async def run(self) -> None:
        """Tick until :meth:`stop`; then release the lease so another replica takes over at once."""
        try:
            while not self._stopping.is_set():
                await self.tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.tick_s)
        finally:
            IS_LEADER.set(0)
            with contextlib.suppress(Exception):
                await self.lease.release()
