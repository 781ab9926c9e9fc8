"""Pushed cameras heartbeat like pulled ones: a confirmed frame writes camera:{id}:last_frame, so
the watchdog can show the camera online (real database, Redis and RabbitMQ; the app in-process)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from vigia.common.leases import camera_heartbeat_key
from vigia.ingest_frames.heartbeat import CameraHeartbeat


async def test_a_pushed_frame_writes_its_cameras_heartbeat_and_a_refused_one_does_not(
        running: Any, settings_for: Any, redis_url: str, tenant: Any, other_tenant: Any, make_jpeg: Any) -> None:
    gw = await running(settings_for())
    before = time.time_ns()
    accepted = await gw.post_frame(tenant, make_jpeg())
    refused = await gw.post_frame(other_tenant, b"not an image")
    assert (accepted.status_code, refused.status_code) == (202, 415)
    async with aioredis.Redis.from_url(redis_url) as redis:
        beat = await redis.get(camera_heartbeat_key(tenant.camera))
        assert beat is not None and before <= int(beat) <= time.time_ns()
        assert 0 < await redis.ttl(camera_heartbeat_key(tenant.camera)) <= 3600
        assert await redis.get(camera_heartbeat_key(other_tenant.camera)) is None


async def test_a_burst_of_frames_writes_the_heartbeat_once_per_period(redis_url: str) -> None:
    camera, other = uuid.uuid4(), uuid.uuid4()
    async with aioredis.Redis.from_url(redis_url) as redis:
        heartbeat = CameraHeartbeat(redis, every_s=3600)
        await heartbeat.beat(camera)
        first = await redis.get(camera_heartbeat_key(camera))
        await heartbeat.beat(camera)
        await heartbeat.beat(other)
        assert first is not None and await redis.get(camera_heartbeat_key(camera)) == first
        assert await redis.get(camera_heartbeat_key(other)) is not None
