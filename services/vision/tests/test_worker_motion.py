"""Motion gating in the worker: frames of a still scene skip the detector and are counted, yet
they are still tracked, published and kept for evidence; a frame with motion is detected."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence

import cv2
import numpy as np
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from vigia.common.leases import camera_frames_key
from vigia.common.messages import Envelope, FrameCaptured, make
from vigia.vision.detectors import Detection, build_detector
from vigia.vision.motion import MotionConfig, MotionGate
from vigia.vision.pipeline import FrameInput, PipelineConfig, VisionPipeline
from vigia.vision.worker import VisionWorker

ORG = uuid.uuid4()
# Only this test's camera keys are written and deleted: the database is never flushed.
REDIS_URL = os.environ.get("VIGIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class CountingDetector:
    """The OpenCV detector, counting the frames it is given."""

    def __init__(self) -> None:
        self.inner = build_detector({"type": "opencv"})
        self.name, self.finds_vehicles, self.finds_plates = "counting", False, False
        self.frames = 0

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        self.frames += len(frames)
        return self.inner.detect(frames)


def skipped() -> float:
    return REGISTRY.get_sample_value("vigia_vision_frames_skipped_total", {"reason": "no_motion"}) or 0.0


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return data.tobytes()


class Meta:
    def __init__(self, body: bytes) -> None:
        self.body = body


async def run(detector: CountingDetector, frames: list[tuple[Envelope, bytes]], redis: Redis) -> list[Envelope]:
    published: list[Envelope] = []

    async def publish(envelopes: list[Envelope]) -> None:
        published.extend(envelopes)

    pipeline = VisionPipeline(detector, None, PipelineConfig(ocr=False), motion=MotionGate(MotionConfig()))
    worker = VisionWorker(pipeline, publish, None, batch_size=4, batch_wait_ms=20, frame_ttl_ms=3_600_000,
                          idle_sweep_s=3600, redis=redis, recent_frames=100)
    worker.start()
    try:
        for envelope, body in frames:  # one by one, as a camera sends them
            await worker.handle(envelope, Meta(body))  # type: ignore[arg-type]
    finally:
        await worker.stop()
    return published


def envelopes(camera: uuid.UUID, bodies: list[bytes], shape: tuple[int, ...]) -> list[tuple[Envelope, bytes]]:
    start = time.time_ns() - len(bodies) * 1_000_000_000
    return [(make("frame.captured", ORG, "test", FrameCaptured(camera=camera, width=shape[1], height=shape[0], seq=i),
                  time_ns=start + i * 1_000_000_000), body) for i, body in enumerate(bodies)]


async def test_a_still_scene_skips_the_detector_but_its_objects_stay_tracked_published_and_kept(bus_image) -> None:
    camera, detector, redis = uuid.uuid4(), CountingDetector(), Redis.from_url(REDIS_URL)
    frames = envelopes(camera, [jpeg(bus_image)] * 8, bus_image.shape)
    before = skipped()
    try:
        published = await run(detector, frames, redis)
        kept = await redis.xrange(camera_frames_key(camera))
    finally:
        await redis.delete(camera_frames_key(camera))
        await redis.aclose()
    assert detector.frames == 1  # the first frame only: nothing moved after it
    assert skipped() == before + 7
    people = [e for e in published if e.type == "detection.created" and e.data.label == "person"]
    by_frame: dict[uuid.UUID, list[Envelope]] = {}
    for e in people:
        by_frame.setdefault(e.data.frame, []).append(e)
    assert list(by_frame) == [e.id for e, _ in frames]  # every frame reports its people, in order
    first = sorted(e.data.track for e in by_frame[frames[0][0].id])
    assert len(first) >= 2
    assert all(sorted(e.data.track for e in found) == first for found in by_frame.values())  # same visits
    assert [int(f[b"t"]) for _, f in kept] == [e.time for e, _ in frames]  # all kept for evidence


async def test_a_frame_with_motion_goes_to_the_detector(bus_image) -> None:
    camera, detector, redis = uuid.uuid4(), CountingDetector(), Redis.from_url(REDIS_URL)
    moved = bus_image.copy()
    cv2.rectangle(moved, (200, 500), (420, 640), (20, 200, 30), -1)  # something arrived
    frames = envelopes(camera, [jpeg(bus_image), jpeg(bus_image), jpeg(moved)], bus_image.shape)
    before = skipped()
    try:
        published = await run(detector, frames, redis)
    finally:
        await redis.delete(camera_frames_key(camera))
        await redis.aclose()
    assert detector.frames == 2  # the first frame and the one with motion
    assert skipped() == before + 1
    assert {e.data.frame for e in published if e.type == "detection.created"} == {e.id for e, _ in frames}


def test_without_a_motion_gate_every_frame_is_detected(bus_image) -> None:
    detector = CountingDetector()
    pipeline = VisionPipeline(detector, None, PipelineConfig(ocr=False))
    assert pipeline.gate([]) == []
    frames = [FrameInput("cam", i * 1_000_000_000, bus_image) for i in range(3)]
    assert pipeline.gate(frames) == [True, True, True]
    pipeline.process(frames)
    assert detector.frames == 3
