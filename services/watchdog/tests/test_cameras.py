"""Camera health and restarts against real PostgreSQL, Redis and RabbitMQ: each status transition
is published once (the camera.health message live forwards) and stored in the camera's row."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import Engine, select

from services.watchdog.tests.conftest import AddCamera, MakeFreshness, Taps
from vigia.common.db import cameras
from vigia.common.messages import format_time_ns, time_ns_to_datetime
from vigia.watchdog.cameras import circuit_key, last_frame_key

NS = 1_000_000_000


def restarts_of(camera: uuid.UUID) -> float:
    return REGISTRY.get_sample_value("watchdog_restarts_total", {"camera": str(camera)}) or 0.0


async def beat(redis: Redis, camera: uuid.UUID, seconds_ago: float) -> int:
    """Write the streamer's heartbeat: a plain integer string of unix ns."""
    value = time.time_ns() - int(seconds_ago * NS)
    await redis.set(last_frame_key(camera), str(value))
    return value


async def open_breaker(redis: Redis, camera: uuid.UUID, seconds_ago: float) -> int:
    """What the streamer writes while its circuit breaker for the camera is open."""
    value = time.time_ns() - int(seconds_ago * NS)
    await redis.set(circuit_key(camera), str(value))
    return value


def row(engine: Engine, camera: uuid.UUID) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(cameras).where(cameras.c.id == camera)).one()


def statuses(messages: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    return [(m["data"]["previous"], m["data"]["status"]) for m in messages]


async def test_a_fresh_camera_becomes_online_once_with_its_last_frame_time(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine,
        org: uuid.UUID) -> None:
    camera = add_camera()
    before = row(engine, camera)
    last = await beat(redis, camera, seconds_ago=1)
    check = freshness()
    await check.run()
    await check.run()
    await freshness().run()  # a restarted (or newly elected) watchdog starts from the stored status

    health = await taps.take("health")
    assert [m["routing_key"] for m in health] == [f"camera.health.{org}.{camera}"]
    assert statuses(health) == [("provisioning", "online")]
    assert health[0]["data"]["last_frame_at"] == format_time_ns(last)
    stored = row(engine, camera)
    assert (stored.status, stored.last_frame_at) == ("online", time_ns_to_datetime(last))
    assert stored.status_changed_at is not None
    assert (stored.version, stored.updated_at) == (before.version, before.updated_at)  # not a config change
    assert await taps.take("restarts") == []


async def test_a_stale_camera_goes_offline_exactly_once_and_is_restarted(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine,
        org: uuid.UUID) -> None:
    camera = add_camera(status="online")
    last = await beat(redis, camera, seconds_ago=60)
    before = restarts_of(camera)
    check = freshness()
    for _ in range(3):
        await check.run()
    await freshness().run()

    health = await taps.take("health")
    assert statuses(health) == [("online", "offline")]
    assert health[0]["data"]["detail"].startswith("no frame for 60 s")
    assert health[0]["data"]["last_frame_at"] == format_time_ns(last)
    assert row(engine, camera).status == "offline"
    restarts = await taps.take("restarts")
    assert [m["routing_key"] for m in restarts] == [f"camera.restart.{camera}"]  # the cool-down holds the rest
    assert restarts[0]["type"] == "camera.restart" and restarts[0]["org"] == str(org)
    assert restarts_of(camera) == before + 1


async def test_an_open_breaker_is_error_and_the_first_frames_after_it_bring_the_camera_online(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine) -> None:
    camera = add_camera(status="online")
    await beat(redis, camera, seconds_ago=40)
    await open_breaker(redis, camera, seconds_ago=5)
    check = freshness()
    await check.run()
    await check.run()
    health = await taps.take("health")
    assert statuses(health) == [("online", "error")]
    assert "circuit breaker open" in health[0]["data"]["detail"]
    assert row(engine, camera).status == "error"

    await redis.delete(circuit_key(camera))  # the streamer's trial start delivered a frame
    last = await beat(redis, camera, seconds_ago=0.5)
    await check.run()
    await check.run()
    health = await taps.take("health")
    assert statuses(health) == [("error", "online")]
    assert health[0]["data"]["last_frame_at"] == format_time_ns(last)
    assert row(engine, camera).status == "online"


async def test_a_breaker_that_stays_open_after_the_streamer_is_gone_leaves_error_for_offline_once(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine) -> None:
    camera = add_camera(status="error")
    await beat(redis, camera, seconds_ago=120)
    check = freshness()
    await check.run()  # no breaker key (expired with its streamer), frames stale
    await check.run()
    assert statuses(await taps.take("health")) == [("error", "offline")]
    assert row(engine, camera).status == "offline"


async def test_a_camera_whose_frames_arrive_after_its_breaker_opened_is_online(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    """A pushed camera: its RTSP pull fails, its frames come through ingest-frames."""
    camera = add_camera()
    await open_breaker(redis, camera, seconds_ago=30)
    await beat(redis, camera, seconds_ago=1)
    await freshness().run()
    assert statuses(await taps.take("health")) == [("provisioning", "online")]


async def test_a_camera_that_never_sent_a_frame_stays_provisioning_but_is_restarted(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine) -> None:
    just_enabled = add_camera(changed_ago_s=3)
    long_enabled = add_camera(changed_ago_s=120)
    await redis.set(last_frame_key(long_enabled), "yesterday")  # unparseable: counts as missing
    add_camera(enabled=False, changed_ago_s=120)
    await freshness().run()
    assert await taps.take("health") == []
    assert row(engine, long_enabled).status == "provisioning"
    restarts = await taps.take("restarts")
    assert [m["data"]["camera"] for m in restarts] == [str(long_enabled)]
    assert str(just_enabled) not in {m["data"]["camera"] for m in restarts}


async def test_a_camera_that_never_sent_a_frame_is_error_while_the_breaker_is_open(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera(changed_ago_s=120)
    await open_breaker(redis, camera, seconds_ago=10)
    await freshness().run()
    health = await taps.take("health")
    assert statuses(health) == [("provisioning", "error")] and health[0]["data"]["last_frame_at"] is None


async def test_a_disabled_camera_is_not_marked_offline_nor_restarted(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine) -> None:
    camera = add_camera(enabled=False, status="online", last_frame_at=datetime.now(UTC) - timedelta(hours=1))
    await beat(redis, camera, seconds_ago=3600)
    await freshness().run()
    assert await taps.take("health") == [] and await taps.take("restarts") == []
    assert row(engine, camera).status == "online"


async def test_a_re_enabled_camera_gets_the_stale_time_before_it_is_offline(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine) -> None:
    camera = add_camera(status="online", changed_ago_s=2)  # enabled again 2 s ago, last frame long ago
    await beat(redis, camera, seconds_ago=3600)
    await freshness().run()
    assert await taps.take("health") == [] and await taps.take("restarts") == []
    assert row(engine, camera).status == "online"


async def test_the_stored_last_frame_time_follows_the_heartbeat_without_a_message(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness, engine: Engine) -> None:
    camera = add_camera()
    check = freshness()
    await beat(redis, camera, seconds_ago=3)
    await check.run()
    await taps.take("health")
    later = await beat(redis, camera, seconds_ago=0.5)
    await check.run()
    assert await taps.take("health") == []
    assert row(engine, camera).last_frame_at == time_ns_to_datetime(later)


async def test_restart_cool_down_is_respected_and_doubles(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera(status="online")
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
    assert await taps.take("health") == []
    assert restarts_of(camera) >= 2


async def test_frames_again_reset_the_restart_back_off(
        add_camera: AddCamera, redis: Redis, taps: Taps, freshness: MakeFreshness) -> None:
    camera = add_camera(status="online")
    await beat(redis, camera, seconds_ago=60)
    check = freshness()
    await check.run()
    assert await redis.get(f"camera:{camera}:restarts") == b"1"
    await beat(redis, camera, seconds_ago=0.5)
    await check.run()
    assert statuses(await taps.take("health")) == [("online", "offline"), ("offline", "online")]
    assert await redis.get(f"camera:{camera}:restarts") is None
