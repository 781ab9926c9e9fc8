"""The snapshot key layout is one contract between vision, which writes snapshots, and the
watchdog's per-organization retention janitor, which deletes them by listing day prefixes
(vigia.common.privacy): a frame vision stores is deleted by the janitor once past the
organization's retention, also from a camera whose clock runs ahead, and kept before. Real vision
worker (OpenCV detector, no broker: its handler is called directly), real janitor job, one file
object store."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import pytest

from vigia.common.broker import MessageMeta
from vigia.common.messages import Envelope, FrameCaptured, make
from vigia.common.privacy import SNAPSHOTS
from vigia.common.settings import CommonSettings
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.vision.detectors import build_detector
from vigia.vision.pipeline import PipelineConfig, VisionPipeline
from vigia.vision.worker import VisionWorker
from vigia.watchdog.janitor import OrganizationRetention

DAY = 86_400 * 1_000_000_000


def bus_jpeg() -> tuple[bytes, tuple[int, int]]:
    import ultralytics

    image = cv2.imread(os.path.join(os.path.dirname(ultralytics.__file__), "assets", "bus.jpg"))
    assert image is not None
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes(), (image.shape[1], image.shape[0])


async def store_frames(store: Any, org: uuid.UUID, camera: uuid.UUID, captured_ns: list[int]) -> list[str]:
    """Frames through the vision worker; the keys of the snapshots and crops it stored."""
    body, (width, height) = bus_jpeg()
    published: list[Envelope] = []

    async def publish(envelopes: list[Envelope]) -> None:
        published.extend(envelopes)

    pipeline = VisionPipeline(build_detector({"type": "opencv"}), None, PipelineConfig())
    worker = VisionWorker(pipeline, publish, store, batch_size=1, batch_wait_ms=1)
    worker.start()
    try:
        for seq, at in enumerate(captured_ns):
            envelope = make("frame.captured", org, "test", FrameCaptured(camera=camera, width=width, height=height,
                                                                         seq=seq), time_ns=at)
            meta = MessageMeta(queue="vision.frames.0", exchange="vigia.frames", routing_key="", redelivered=False,
                               delivery_count=0, headers={}, body=body, message=None)  # type: ignore[arg-type]
            await asyncio.wait_for(worker.handle(envelope, meta), 60)
    finally:
        await worker.stop()
    keys = {key for e in published if e.type == "detection.created"
            for key in (e.data.snapshot_key, e.data.crop_key) if key}
    assert keys, "vision stored no snapshot (the detector found nothing in bus.jpg?)"
    return sorted(keys)


@pytest.mark.timeout(120)
async def test_snapshots_vision_stores_are_the_ones_the_retention_janitor_deletes(tmp_path) -> None:
    store = open_store(f"file://{tmp_path}/objects", CommonSettings())
    ensure_default_buckets(store)
    org, camera = uuid.uuid4(), uuid.uuid4()
    # A frame of now, and one from a camera whose clock runs two days ahead (not stale: not old).
    keys = await store_frames(store, org, camera, [time.time_ns(), time.time_ns() + 2 * DAY])
    assert all(key in {info.key for info in store.list(SNAPSHOTS, f"{org}/{camera}/")} for key in keys)

    janitor = OrganizationRetention(None, store, default_passages_days=90, interval=3600,  # type: ignore[arg-type]
                                    batch_size=100)
    now = datetime.now(UTC)
    # Within the retention: kept.
    assert janitor.prune_snapshots(org, [camera], now - timedelta(days=1)) == 0
    assert len(list(store.list(SNAPSHOTS, f"{org}/"))) == len(keys)
    # Past it (stored before the cutoff): every one deleted, the clock-ahead camera's too.
    assert janitor.prune_snapshots(org, [camera], now + timedelta(seconds=5)) == len(keys)
    assert list(store.list(SNAPSHOTS, f"{org}/")) == []
