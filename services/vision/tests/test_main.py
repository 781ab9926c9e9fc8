"""``python -m vigia.vision`` as processes against the real broker and Redis: two workers share the
frame shards, every camera's frames are worked by one of them, and SIGTERM exits cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import cv2
import httpx
import numpy as np
import pytest

from tests.support.processes import free_port, wait_ready
from vigia.common.broker import AsyncPublisher, BrokerSettings
from vigia.common.messages import FrameCaptured, make

SHARDS = 2
# The OpenCV detector is slow on a busy test machine: frames must not go stale while they wait.
TTL_MS = 300_000
REDIS_URL = os.environ.get("VIGIA_TEST_VISION_REDIS_URL", "redis://127.0.0.1:6379/13")


async def metrics(port: int) -> str:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
        return (await http.get("/metrics")).text


def value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def cameras_detected(text: str) -> set[str]:
    return set(re.findall(r'vigia_vision_detections_total\{camera="([^"]+)"', text))


Start = Callable[[], Awaitable[tuple[asyncio.subprocess.Process, int]]]


@pytest.fixture
async def start_vision(amqp_url: str, tmp_path) -> AsyncIterator[Start]:  # type: ignore[no-untyped-def]
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    processes: list[asyncio.subprocess.Process] = []

    async def start() -> tuple[asyncio.subprocess.Process, int]:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vigia.vision", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "VIGIA_AMQP_URL": amqp_url, "VIGIA_REDIS_URL": REDIS_URL,
                 "VIGIA_METRICS_PORT": str(port), "VIGIA_FRAME_SHARDS": str(SHARDS),
                 "VIGIA_SHARD_LEASE_MS": "3000", "VIGIA_FRAME_TTL_MS": str(TTL_MS),
                 "VIGIA_VISION_DETECTOR": "opencv", "VIGIA_VISION_OCR": "false",
                 "VIGIA_VISION_RECENT_FRAMES": "0", "VIGIA_OBJECT_STORE": f"file://{tmp_path}/objects",
                 "VIGIA_LOG_LEVEL": "WARNING"})
        processes.append(process)
        await wait_ready(process, port, "vision", within_s=60)
        return process, port

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()
    redis.Redis.from_url(REDIS_URL).flushdb()


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_two_workers_split_the_frame_shards_and_each_camera_stays_with_one(
        start_vision: Start, amqp_url: str, bus_image: np.ndarray) -> None:
    first, first_port = await start_vision()
    second, second_port = await start_vision()

    async def split() -> bool:
        held = [value(await metrics(p), 'vigia_shards_held{group="vision"}') for p in (first_port, second_port)]
        return held == [1.0, 1.0]

    await until(split)
    async with httpx.AsyncClient(timeout=5) as http:
        details = (await http.get(f"http://127.0.0.1:{first_port}/readyz")).json()["details"]
    # Which detector runs and why (here: asked for by name), and that frames are motion-gated.
    assert details["detector"] == {"name": "opencv", "why": "VIGIA_VISION_DETECTOR=opencv"}
    assert details["motion_gating"] == "on"
    ok, encoded = cv2.imencode(".jpg", bus_image)
    assert ok
    body = encoded.tobytes()
    h, w = bus_image.shape[:2]
    cameras = [uuid.uuid4() for _ in range(12)]  # both shards get some (all on one: p = 5e-4)
    org = uuid.uuid4()
    async with AsyncPublisher(amqp_url, settings=BrokerSettings(frame_shards=SHARDS, frame_ttl_ms=TTL_MS),
                              declare=True) as publisher:
        for seq in range(3):
            for camera in cameras:
                envelope = make("frame.captured", org, "test", FrameCaptured(camera=camera, width=w, height=h, seq=seq))
                await publisher.publish_frame(envelope, body)

    async def all_processed() -> bool:
        pages = [await metrics(p) for p in (first_port, second_port)]
        return sum(value(t, 'vigia_vision_frames_total{outcome="processed"}') for t in pages) == 3 * len(cameras)

    await until(all_processed, seconds=180)
    first_cameras, second_cameras = cameras_detected(await metrics(first_port)), cameras_detected(
        await metrics(second_port))
    # The bus photo has people in it: every camera got detections, each from exactly one worker.
    assert first_cameras | second_cameras == {str(c) for c in cameras}
    assert not first_cameras & second_cameras
    assert first_cameras and second_cameras  # both did work

    for process in (first, second):
        process.send_signal(signal.SIGTERM)
    for process in (first, second):
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, stderr.decode()[-2000:]
