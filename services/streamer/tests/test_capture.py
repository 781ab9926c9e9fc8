"""Capture workers against a real RTSP source, broker and Redis: sampling, publishing, heartbeat,
circuit breaker, hang watchdog, decode-mode switch and credential hygiene."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import psutil
import pytest
from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher
from vigia.common.observability import JsonFormatter
from vigia.streamer.cameras import CameraConfig
from vigia.streamer.capture import CaptureWorker
from vigia.streamer.ffmpeg import DecodeMode
from vigia.streamer.leases import circuit_key, heartbeat_key
from vigia.streamer.service import CameraCircuits, FramePublisher, circuit_ttl_s
from vigia.streamer.settings import StreamerSettings
from vigia.streamer.testsource import FeedSpec, RtspTestSource, free_port

pytestmark = pytest.mark.slow


def _config(url: str, fps: float = 1.0) -> CameraConfig:
    return CameraConfig(uuid.uuid4(), uuid.uuid4(), "test camera", url, fps, 1)


async def _until(predicate: Callable[[], bool], seconds: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


class _Running:
    """A worker running in a task, stopped on exit."""

    def __init__(self, worker: CaptureWorker) -> None:
        self.worker = worker
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CaptureWorker:
        self.task = asyncio.create_task(self.worker.run())
        return self.worker

    async def __aexit__(self, *exc: object) -> None:
        self.worker.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, 20)


async def test_frames_are_sampled_at_the_camera_fps_and_published_with_envelope_headers(
        rtsp_source: RtspTestSource, frames_queue: Any, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings], drain: Any) -> None:
    settings = fast_settings()
    config = _config(rtsp_source.url("cam0"), fps=2.0)
    sink = FramePublisher(publisher, redis, "streamer:test", settings.heartbeat_ttl_s)
    async with _Running(CaptureWorker(config, settings, sink)) as worker:
        # GOP 25 at 25 fps is one key frame per second: 2 fps needs full decoding.
        assert await _until(lambda: worker.mode is DecodeMode.full and worker.streaming, 20)
        await drain(frames_queue, 1.0)  # discard the start-up frames
        frames = await drain(frames_queue, 6.0)

    assert 10 <= len(frames) <= 14, len(frames)
    envelope, body, message = frames[-1]
    assert envelope.type == "frame.captured"
    assert envelope.org == config.org
    assert envelope.data.camera == config.camera
    assert (envelope.data.width, envelope.data.height) == (640, 360)
    assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
    assert message.routing_key == f"frame.{config.org}.{config.camera}"
    seqs = [e.data.seq for e, _, _ in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    beat = await redis.get(heartbeat_key(config.camera))
    assert beat is not None and abs(int(beat) - time.time_ns()) < 30 * 10**9
    assert 0 < await redis.ttl(heartbeat_key(config.camera)) <= settings.heartbeat_ttl_s


async def test_one_fps_on_gop_25_decodes_key_frames_only(
        rtsp_source: RtspTestSource, frames_queue: Any, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings], drain: Any) -> None:
    settings = fast_settings()
    sink = FramePublisher(publisher, redis, "streamer:test", 60)
    async with _Running(CaptureWorker(_config(rtsp_source.url("cam1"), fps=1.0), settings, sink)) as worker:
        assert await _until(lambda: worker.seq >= 1, 15)
        await drain(frames_queue, 0.3)
        frames = await drain(frames_queue, 6.0)
        assert worker.mode is DecodeMode.keyframes
        assert "-skip_frame" in psutil.Process(worker.pid).cmdline()
    assert 4 <= len(frames) <= 8, len(frames)


async def test_a_gop_longer_than_the_sampling_period_falls_back_to_full_decoding(
        frames_queue: Any, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings], drain: Any) -> None:
    settings = fast_settings()
    sink = FramePublisher(publisher, redis, "streamer:test", 60)
    # GOP 75 at 25 fps: one key frame every 3 s, sampled at 1 fps.
    async with RtspTestSource({"long": FeedSpec(size="320x240", rate=25, gop=75)}, {"cam": "long"}) as source, \
            _Running(CaptureWorker(_config(source.url("cam"), fps=1.0), settings, sink)) as worker:
        assert await _until(lambda: worker.mode is DecodeMode.full and worker.streaming, 30)
        assert "-skip_frame" not in psutil.Process(worker.pid).cmdline()
        await drain(frames_queue, 1.0)
        frames = await drain(frames_queue, 5.0)
    assert 4 <= len(frames) <= 7, len(frames)


async def test_a_dead_source_opens_the_breaker_after_five_failures_and_recovers(
        frames_queue: Any, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings], drain: Any) -> None:
    settings = fast_settings(breaker_recovery_s=4.0)
    port = free_port()
    config = _config(f"rtsp://127.0.0.1:{port}/cam")
    sink = FramePublisher(publisher, redis, "streamer:test", 60)
    ttl = circuit_ttl_s(settings)
    started = time.time_ns()
    async with _Running(CaptureWorker(config, settings, sink, CameraCircuits(redis, ttl))) as worker:
        assert await _until(lambda: worker.breaker.opened, 20)
        assert worker.starts == 5 and worker.breaker.failure_count == 5
        await asyncio.sleep(2.0)
        assert worker.starts == 5  # open: no attempt at all
        # The watchdog's view: when the breaker opened, for as long as it stays open.
        opened = await redis.get(circuit_key(config.camera))
        assert opened is not None and started < int(opened) <= time.time_ns()
        assert 0 < await redis.ttl(circuit_key(config.camera)) <= ttl
        async with RtspTestSource({"f": FeedSpec(size="320x240")}, {"cam": "f"}, port=port):
            # After the recovery timeout: one trial, which now succeeds and closes the breaker.
            assert await _until(lambda: worker.seq >= 2, 25)
            assert worker.breaker.closed and worker.breaker.failure_count == 0
            assert worker.starts == 6
            assert await redis.get(circuit_key(config.camera)) is None
            assert await redis.get(heartbeat_key(config.camera)) is not None
    assert len(await drain(frames_queue, 0.5)) >= 2


async def test_a_hung_ffmpeg_is_killed_and_restarted(
        rtsp_source: RtspTestSource, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings]) -> None:
    settings = fast_settings(hang_timeout_s=3.0)
    sink = FramePublisher(publisher, redis, "streamer:test", 60)
    async with _Running(CaptureWorker(_config(rtsp_source.url("cam2")), settings, sink)) as worker:
        assert await _until(lambda: worker.streaming and worker.seq >= 1, 15)
        hung = worker.pid
        assert hung is not None
        os.kill(hung, signal.SIGSTOP)
        assert await _until(lambda: worker.pid not in (None, hung), 15)
        assert not psutil.pid_exists(hung) or psutil.Process(hung).status() == psutil.STATUS_ZOMBIE
        seq = worker.seq
        assert await _until(lambda: worker.seq > seq, 15)  # frames flow again


async def test_a_stalled_camera_ends_ffmpeg_and_is_reconnected(
        rtsp_source: RtspTestSource, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings]) -> None:
    sink = FramePublisher(publisher, redis, "streamer:test", 60)
    async with _Running(CaptureWorker(_config(rtsp_source.url("cam3")), fast_settings(), sink)) as worker:
        assert await _until(lambda: worker.streaming and worker.seq >= 1, 15)
        first = worker.pid
        rtsp_source.freeze("cam3")
        assert await _until(lambda: worker.pid != first, 15)  # -timeout ended it
        rtsp_source.thaw("cam3")
        seq = worker.seq
        assert await _until(lambda: worker.seq > seq, 20)


async def test_rtsp_credentials_never_reach_the_logs(
        rtsp_source: RtspTestSource, publisher: AsyncPublisher, redis: Redis,
        fast_settings: Callable[..., StreamerSettings], rtsp_password: str) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    sink = FramePublisher(publisher, redis, "streamer:test", 60)
    wrong = rtsp_source.url("cam0").replace(rtsp_password, rtsp_password + "x")
    try:
        good = CaptureWorker(_config(rtsp_source.url("cam0")), fast_settings(), sink)
        bad = CaptureWorker(_config(wrong), fast_settings(), sink)   # 401: FFmpeg prints the URL
        async with _Running(good), _Running(bad):
            assert await _until(lambda: good.seq >= 1 and bad.failures >= 2, 20)
            logging.getLogger("test").info("config", extra={"config": repr(good.config)})
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    output = stream.getvalue()
    assert "camera start failed" in output and "camera streaming" in output
    assert rtsp_password not in output
