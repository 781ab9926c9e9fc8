"""``python -m vigia.vision``: the vision worker.

Start-up, top-down: logging, settings, models (detector, OCR), object store, broker (topology,
publisher), metrics, consumer on vision.frames with the micro-batching worker, SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os

os.environ.setdefault("YOLO_OFFLINE", "1")  # before ultralytics is imported: no hub calls

from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher, Consumer, declare_topology
from vigia.common.broker.topology import VISION_FRAMES
from vigia.common.messages import Envelope
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.vision.detectors import build_detector
from vigia.vision.pipeline import PipelineConfig, VisionPipeline
from vigia.vision.plates.ocr import PlateOCR
from vigia.vision.settings import METRICS_PORT, VisionSettings
from vigia.vision.tracking import TrackerConfig
from vigia.vision.worker import VisionWorker

log = logging.getLogger("vigia.vision")


def build_pipeline(settings: VisionSettings) -> VisionPipeline:
    """Detector (auto: YOLO when its weights exist, else OpenCV), OCR and tracker from settings."""
    config = settings.detector_config()
    detector = build_detector(config)
    ocr = PlateOCR(settings.easyocr_dir) if settings.vision_ocr else None
    log.info("models loaded", extra={"detector": config["type"], "ocr": ocr is not None})
    return VisionPipeline(detector, ocr, PipelineConfig(
        max_reads=settings.vision_ocr_max_reads, agree=settings.vision_plate_agree,
        min_plate_width=settings.vision_min_plate_width, ocr=settings.vision_ocr,
        tracker=TrackerConfig(max_missed=settings.vision_track_max_missed,
                              max_gap_s=settings.vision_track_max_gap_s)))


async def main() -> None:
    settings = VisionSettings()
    configure_logging(settings.log_level, settings.log_json)
    pipeline = await asyncio.to_thread(build_pipeline, settings)
    store = None
    if settings.vision_snapshots:
        store = open_store(settings.object_store, settings)
        await asyncio.to_thread(ensure_default_buckets, store)
    redis = Redis.from_url(settings.redis_url) if settings.vision_recent_frames else None
    async with AsyncPublisher(settings.amqp_url, settings=settings, declare=True,
                              connection_name="vision:publisher") as publisher:

        async def publish(envelopes: list[Envelope]) -> None:
            await publisher.publish_many(envelopes)

        worker = VisionWorker(pipeline, publish, store, source=settings.service_name or "vision",
                              batch_size=settings.vision_batch_size,
                              batch_wait_ms=settings.vision_batch_wait_ms, frame_ttl_ms=settings.frame_ttl_ms,
                              redis=redis, recent_frames=settings.vision_recent_frames)
        worker.start()
        # Frames in flight: a batch being finished, one being detected, the next one decoding.
        consumer = Consumer(settings.amqp_url, VISION_FRAMES, worker.handle, decode="frame",
                            prefetch=max(settings.prefetch, 3 * settings.vision_batch_size),
                            settings=settings, connection_name="vision:frames",
                            setup=lambda channel: declare_topology(channel, settings))
        health.add("consuming", consumer.started.is_set)
        serve_metrics(settings.metrics_port or METRICS_PORT)
        try:
            await consumer.run()  # until SIGTERM/SIGINT; drains in-flight frames, then returns
        finally:
            await worker.stop()
            if redis is not None:
                await redis.aclose()
    log.info("vision worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
