"""Streamer replicas against real Postgres, Redis, RabbitMQ and RTSP: cameras loaded from the
database, control messages, leases split across replicas, and takeover after kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import psutil
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, delete, update

from vigia.common.broker import AsyncPublisher, Consumer, declare_topology
from vigia.common.broker.topology import STREAMER_CONTROL
from vigia.common.db import cameras
from vigia.common.messages import CameraChanged, CameraDeleted, CameraRestart, make
from vigia.streamer.leases import lease_key
from vigia.streamer.service import FramePublisher, Streamer
from vigia.streamer.settings import StreamerSettings
from vigia.streamer.testsource import RtspTestSource, free_port

pytestmark = pytest.mark.slow


async def _until(predicate: Callable[[], Any], seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        await asyncio.sleep(step)
    return False


@asynccontextmanager
async def _replica(settings: StreamerSettings, engine: Engine, redis: Redis, publisher: AsyncPublisher,
                   *, consume: bool = False) -> AsyncIterator[Streamer]:
    """An in-process replica (reconcile loop, optionally the control consumer)."""
    sink = FramePublisher(publisher, redis, f"streamer:{settings.replica_id}", 60)
    streamer = Streamer(settings, engine, redis, sink)
    consumer = None
    if consume:
        consumer = Consumer(settings.amqp_url, STREAMER_CONTROL, streamer.handle_control, settings=settings,
                            setup=lambda ch: declare_topology(ch, settings))
        await consumer.start()
    task = asyncio.create_task(streamer.run())
    try:
        yield streamer
    finally:
        if consumer is not None:
            await consumer.shutdown()
        streamer.stop()
        await asyncio.wait_for(task, 30)


async def test_enabled_cameras_are_loaded_at_start_and_leased_to_the_replica(
        rtsp_source: RtspTestSource, make_camera: Callable[..., uuid.UUID], engine: Engine, redis: Redis,
        publisher: AsyncPublisher, frames_queue: Any, drain: Any,
        fast_settings: Callable[..., StreamerSettings]) -> None:
    on = [make_camera(rtsp_source.url("cam0")), make_camera(rtsp_source.url("cam1"))]
    off = make_camera(rtsp_source.url("cam2"), enabled=False)
    settings = fast_settings()
    async with _replica(settings, engine, redis, publisher) as streamer:
        assert await _until(lambda: all(w.seq >= 2 for w in streamer.workers.values())
                            and len(streamer.workers) == 2, 20)
        assert set(streamer.workers) == set(on)
        for camera in on:
            assert (await redis.get(lease_key(camera))).decode() == settings.replica_id
        assert await redis.get(lease_key(off)) is None
        frames = await drain(frames_queue, 1.5)
    assert {e.data.camera for e, _, _ in frames} == set(on)
    # Shutdown releases every lease.
    assert [await redis.get(lease_key(c)) for c in on] == [None, None]


async def test_camera_deleted_stops_the_worker_and_releases_the_lease(
        rtsp_source: RtspTestSource, make_camera: Callable[..., uuid.UUID], engine: Engine, redis: Redis,
        publisher: AsyncPublisher, org: uuid.UUID, fast_settings: Callable[..., StreamerSettings]) -> None:
    camera = make_camera(rtsp_source.url("cam0"))
    keep = make_camera(rtsp_source.url("cam1"))
    # A long reload period: only the notification can make the replica notice.
    settings = fast_settings(refresh_interval_s=3600)
    async with _replica(settings, engine, redis, publisher, consume=True) as streamer:
        assert await _until(lambda: camera in streamer.workers and streamer.workers[camera].seq >= 1, 20)
        pid = streamer.workers[camera].pid
        with engine.begin() as conn:
            conn.execute(delete(cameras).where(cameras.c.id == camera))
        await publisher.publish(make("camera.deleted", org, "control", CameraDeleted(camera=camera)))
        assert await _until(lambda: camera not in streamer.workers, 10)

        async def lease_released() -> bool:
            return await redis.get(lease_key(camera)) is None

        # The worker leaves the table first; the lease goes once its ffmpeg has stopped (up to 15 s).
        assert await _until(lease_released, 20)
        assert pid is not None and not psutil.pid_exists(pid)
        assert keep in streamer.workers


async def test_camera_update_restarts_with_the_new_settings_and_stale_updates_are_ignored(
        rtsp_source: RtspTestSource, make_camera: Callable[..., uuid.UUID], engine: Engine, redis: Redis,
        publisher: AsyncPublisher, org: uuid.UUID, fast_settings: Callable[..., StreamerSettings]) -> None:
    camera = make_camera(rtsp_source.url("cam0"), fps=1.0, version=1)
    settings = fast_settings(refresh_interval_s=3600)
    async with _replica(settings, engine, redis, publisher, consume=True) as streamer:
        assert await _until(lambda: camera in streamer.workers and streamer.workers[camera].seq >= 1, 20)
        first = streamer.workers[camera]
        with engine.begin() as conn:
            conn.execute(update(cameras).where(cameras.c.id == camera).values(fps=0.5, version=2))
        changed = CameraChanged(camera=camera, name="x", fps=0.5, version=2)
        await publisher.publish(make("camera.updated", org, "control", changed))
        assert await _until(lambda: streamer.workers.get(camera) not in (None, first), 10)
        assert streamer.workers[camera].config.fps == 0.5 and streamer.workers[camera].config.version == 2

        # A late copy of version 1 changes nothing.
        second = streamer.workers[camera]
        stale = CameraChanged(camera=camera, name="x", fps=1.0, version=1)
        before = await redis.get("cameras:version")
        await publisher.publish(make("camera.updated", org, "control", stale))
        await asyncio.sleep(2.0)
        assert streamer.workers[camera] is second
        assert await redis.get("cameras:version") == before

        # camera.restart.<camera> restarts the running FFmpeg.
        assert await _until(lambda: second.streaming, 20)
        pid = second.pid
        await publisher.publish(make("camera.restart", org, "watchdog", CameraRestart(camera=camera, reason="t")))
        assert await _until(lambda: second.pid not in (None, pid) and second.streaming, 20)


async def test_two_replicas_split_four_cameras(
        rtsp_source: RtspTestSource, make_camera: Callable[..., uuid.UUID], engine: Engine, redis: Redis,
        publisher: AsyncPublisher, fast_settings: Callable[..., StreamerSettings]) -> None:
    all_cameras = {make_camera(rtsp_source.url(f"cam{i}")) for i in range(4)}
    async with _replica(fast_settings(replica_id="replica-a"), engine, redis, publisher) as a:
        # Alone, A takes everything; when B joins, A gives up its share above ceil(4/2).
        assert await _until(lambda: len(a.workers) == 4, 15)
        async with _replica(fast_settings(replica_id="replica-b"), engine, redis, publisher) as b:
            assert await _until(lambda: len(a.workers) == 2 and len(b.workers) == 2, 20)
            assert set(a.workers) | set(b.workers) == all_cameras
            assert not set(a.workers) & set(b.workers)
            holders = {c: (await redis.get(lease_key(c))).decode() for c in all_cameras}
            assert sorted(holders.values()) == ["replica-a"] * 2 + ["replica-b"] * 2
            assert await _until(lambda: all(w.seq >= 1 for w in [*a.workers.values(), *b.workers.values()]), 20)


def _live_children(pid: int) -> list[psutil.Process]:
    return [p for p in psutil.Process(pid).children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


def _spawn_replica(name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "vigia.streamer"],
                            env={**env, "VIGIA_REPLICA_ID": name, "VIGIA_METRICS_PORT": str(free_port())},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_cameras_of_a_replica_killed_with_sigkill_resume_on_the_survivor(
        rtsp_source: RtspTestSource, make_camera: Callable[..., uuid.UUID], database_url: str,
        redis_url: str, amqp_url: str, redis: Redis, frames_queue: Any, drain: Any,
        rtsp_password: str) -> None:
    all_cameras = {make_camera(rtsp_source.url(f"cam{i}")) for i in range(4)}
    lease_ms = 3000
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_REDIS_URL": redis_url,
           "VIGIA_AMQP_URL": amqp_url, "VIGIA_LEASE_MS": str(lease_ms), "VIGIA_RECONCILE_INTERVAL_S": "0.5",
           "VIGIA_ENV": "test", "VIGIA_LOG_JSON": "true", "VIGIA_HANG_TIMEOUT_S": "5"}
    a = _spawn_replica("replica-a", env)
    b = _spawn_replica("replica-b", env)
    try:
        async def holders() -> dict[uuid.UUID, str | None]:
            values = [await redis.get(lease_key(c)) for c in all_cameras]
            return {c: v.decode() if v else None for c, v in zip(all_cameras, values, strict=True)}

        async def split() -> bool:
            return sorted(map(str, (await holders()).values())) == ["replica-a"] * 2 + ["replica-b"] * 2

        assert await _until(split, 30)
        assert await _until(lambda: len(_live_children(a.pid)) == 2, 20)
        await drain(frames_queue, 2.0)
        victims = {c for c, h in (await holders()).items() if h == "replica-a"}
        children = _live_children(a.pid)
        assert children

        a.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        a.wait()
        assert await _until(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                            for p in children), 5)  # FFmpeg died with its parent

        async def taken_over() -> bool:
            return set((await holders()).values()) == {"replica-b"}

        assert await _until(taken_over, lease_ms / 1000 + 5)
        takeover_s = time.monotonic() - killed_at
        assert takeover_s < lease_ms / 1000 + 3, takeover_s
        await drain(frames_queue, 0.2)
        deadline = time.monotonic() + 30
        seen: set[uuid.UUID] = set()
        while time.monotonic() < deadline and not victims <= seen:
            seen |= {e.data.camera for e, _, _ in await drain(frames_queue, 1.0)}
        assert victims <= seen  # the killed replica's cameras publish again, from replica-b
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        logs = b""
        for proc in (a, b):
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            logs += err or b""
    assert b.returncode == 0  # SIGTERM: clean exit
    assert b"streamer stopped" in logs
    assert rtsp_password.encode() not in logs
    assert [await redis.get(lease_key(c)) for c in all_cameras] == [None] * 4  # released on SIGTERM
