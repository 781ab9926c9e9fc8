"""The leader lease and the periodic-check loop, against real Redis (and the real camera check)."""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.asyncio import Redis

from services.watchdog.tests.conftest import AddCamera, MakeFreshness, Taps
from vigia.watchdog.cameras import last_frame_key
from vigia.watchdog.checks import Watchdog
from vigia.watchdog.lease import LEADER_KEY, LeaderLease


class CountingCheck:
    """A check that only counts its runs (another check type besides cameras)."""

    def __init__(self, name: str = "counting", interval: float = 0.0, fail: bool = False) -> None:
        self.name, self.interval, self.fail, self.runs = name, interval, fail, 0

    async def run(self) -> None:
        self.runs += 1
        if self.fail:
            raise RuntimeError("boom")


async def test_two_watchdogs_only_the_leader_restarts_and_the_other_takes_over_when_it_stops(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera()
    await redis.set(last_frame_key(camera), str(time.time_ns() - 60 * 1_000_000_000))
    first_count, second_count = CountingCheck(), CountingCheck()
    first = Watchdog([freshness(), first_count], LeaderLease(redis, "replica-a", ttl=30), tick=0.1)
    second = Watchdog([freshness(), second_count], LeaderLease(redis, "replica-b", ttl=30), tick=0.1)
    assert await first.tick() is True
    assert await second.tick() is False
    assert await first.tick() is True  # renewal
    assert len(await taps.take("restarts")) == 1
    assert (first_count.runs, second_count.runs) == (2, 0)
    assert await redis.get(LEADER_KEY) == b"replica-a"
    first.stop()
    await first.run()  # a clean stop releases the lease at once
    assert await second.tick() is True
    assert second_count.runs == 1
    assert await taps.take("restarts") == []  # the new leader respects the cool-down the old one set


async def test_lease_of_a_dead_leader_expires_and_is_taken_over(redis: Redis) -> None:
    dead = LeaderLease(redis, "dead", ttl=0.2)
    alive = LeaderLease(redis, "alive", ttl=5)
    assert await dead.hold() is True
    assert await alive.hold() is False
    await asyncio.sleep(0.3)  # the dead leader stopped renewing: its 0.2 s lease runs out
    assert await alive.hold() is True
    assert await dead.hold() is False
    await dead.release()  # releasing a lease one does not hold leaves it alone
    assert await redis.get(LEADER_KEY) == b"alive"


async def test_checks_run_at_their_own_interval_and_a_failing_check_does_not_stop_the_others(
        redis: Redis) -> None:
    slow, failing, fast = CountingCheck("slow", 3600), CountingCheck("failing", 0, fail=True), CountingCheck()
    watchdog = Watchdog([slow, failing, fast], LeaderLease(redis, f"x-{uuid.uuid4().hex}", ttl=5), tick=0.1)
    for _ in range(3):
        assert await watchdog.tick() is True
    assert (slow.runs, failing.runs, fast.runs) == (1, 3, 3)
