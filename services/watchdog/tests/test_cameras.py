"""Camera freshness against real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import asyncio
import time
import uuid

from prometheus_client import REGISTRY
from redis.asyncio import Redis

from services.watchdog.tests.conftest import AddCamera, MakeFreshness, Taps
from vigia.common.messages import format_time_ns
from vigia.watchdog.cameras import HEALTH_KEY, last_frame_key

NS = 1_000_000_000


def restarts_of(camera: uuid.UUID) -> float:
    return REGISTRY.get_sample_value("watchdog_restarts_total", {"camera": str(camera)}) or 0.0


async def beat(redis: Redis, camera: uuid.UUID, seconds_ago: float) -> int:
    """Write the streamer's heartbeat: a plain integer string of unix ns."""
    value = time.time_ns() - int(seconds_ago * NS)
    await redis.set(last_frame_key(camera), str(value))
    return value


async def test_stale_camera_gets_one_restart_and_a_health_event_and_is_counted(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, org: uuid.UUID) -> None:
    camera = add_camera()
    last = await beat(redis, camera, seconds_ago=60)
    before = restarts_of(camera)
    await freshness().run()
    restarts = await taps.take("restarts")
    assert [m["routing_key"] for m in restarts] == [f"camera.restart.{camera}"]
    assert restarts[0]["type"] == "camera.restart" and restarts[0]["org"] == str(org)
    assert restarts[0]["data"]["camera"] == str(camera)
    health = await taps.take("health")
    assert [m["routing_key"] for m in health] == [f"camera.health.{org}.{camera}"]
    assert health[0]["data"]["status"] == "restarting"
    assert health[0]["data"]["detail"].startswith("no frame for 60 s")
    assert health[0]["data"]["last_frame_at"] == format_time_ns(last)
    assert restarts_of(camera) == before + 1


async def test_fresh_camera_gets_nothing(add_camera: AddCamera, redis: Redis, taps: Taps,
                                         freshness: MakeFreshness) -> None:
    camera = add_camera()
    await beat(redis, camera, seconds_ago=2)
    await freshness().run()
    assert await taps.take("restarts") == [] and await taps.take("health") == []


async def test_camera_without_heartbeat_is_restarted_only_once_enabled_longer_than_the_stale_time(
        add_camera: AddCamera, taps: Taps, freshness: MakeFreshness) -> None:
    just_enabled = add_camera(changed_ago_s=3)
    long_enabled = add_camera(changed_ago_s=120)
    add_camera(enabled=False, changed_ago_s=120)
    await freshness().run()
    restarts = await taps.take("restarts")
    assert [m["data"]["camera"] for m in restarts] == [str(long_enabled)]
    assert str(just_enabled) not in {m["data"]["camera"] for m in await taps.take("health")}


async def test_restart_cool_down_is_respected_and_doubles(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera()
    await beat(redis, camera, seconds_ago=60)
    check = freshness(cooldown_seconds=1, cooldown_max_seconds=10)
    await check.run()
    await check.run()  # inside the cool-down: no second restart, no repeated health event
    assert len(await taps.take("restarts")) == 1
    assert len(await taps.take("health")) == 1
    await asyncio.sleep(1.1)
    await check.run()  # cool-down over, still frozen: restart again
    assert len(await taps.take("restarts")) == 1
    await asyncio.sleep(1.1)
    await check.run()  # the second cool-down is 2 s: not yet
    assert await taps.take("restarts") == []
    assert 0 < await redis.pttl(f"camera:{camera}:restart_cooldown") <= 2000
    assert restarts_of(camera) >= 2


async def test_recovered_camera_publishes_health_ok_once(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera()
    await beat(redis, camera, seconds_ago=60)
    check = freshness()
    await check.run()
    await taps.take("restarts")
    await taps.take("health")
    last = await beat(redis, camera, seconds_ago=0.5)
    await check.run()
    await check.run()
    health = await taps.take("health")
    assert [m["data"]["status"] for m in health] == ["ok"]
    assert health[0]["data"]["detail"] == "frames resumed"
    assert await taps.take("restarts") == []
    assert (await redis.hget(HEALTH_KEY, str(camera))) == b"ok"
    assert last > 0


async def test_stale_again_within_the_cool_down_is_reported_stale_without_a_restart(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera()
    check = freshness()
    await beat(redis, camera, seconds_ago=60)
    await check.run()
    await beat(redis, camera, seconds_ago=1)
    await check.run()
    await taps.take("restarts")
    await taps.take("health")
    await beat(redis, camera, seconds_ago=60)
    await check.run()
    await check.run()
    assert await taps.take("restarts") == []
    assert [m["data"]["status"] for m in await taps.take("health")] == ["stale"]


async def test_unparseable_heartbeat_counts_as_missing(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera(changed_ago_s=120)
    await redis.set(last_frame_key(camera), "yesterday")
    await freshness().run()
    health = await taps.take("health")
    assert [m["data"]["status"] for m in health] == ["restarting"]
    assert health[0]["data"]["last_frame_at"] is None
