"""``python -m vigia.vision``: the vision worker.

Start-up, top-down: logging, settings, models (detector -- which one and why goes to the log and
/readyz --, OCR, motion gate, faces), object store, broker (topology, publisher), the cameras' zones
for motion gating (read now and every ``VIGIA_VISION_ZONES_REFRESH_S``) and their faces switches
with the enrolled faces (every ``VIGIA_VISION_FACES_REFRESH_S``), metrics, then the frame
shards: vision replicas share the vision.frames.<k> queues through Redis leases, each consuming its
fair share into the one micro-batching worker (all of a camera's frames reach one replica, which
keeps the camera's tracker and plate votes). SIGTERM: stop consuming, finish the frames in flight,
hand the shards over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

os.environ.setdefault("YOLO_OFFLINE", "1")  # before ultralytics is imported: no hub calls

from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher, Consumer, connect, declare_topology, frame_shard_queue
from vigia.common.broker.management import vhost_of
from vigia.common.messages import Envelope
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.shards import ShardedConsumers
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.vision.detectors import build_detector
from vigia.vision.faces import CameraFaces, keep_faces
from vigia.vision.motion import MotionGate, zones_of_camera
from vigia.vision.pipeline import PipelineConfig, VisionPipeline
from vigia.vision.plates.backends import build_backend
from vigia.vision.settings import METRICS_PORT, VisionSettings
from vigia.vision.tracking import TrackerConfig
from vigia.vision.worker import VisionWorker

log = logging.getLogger("vigia.vision")


def build_pipeline(settings: VisionSettings) -> VisionPipeline:
    """Detector (auto: YOLO when its weights exist, else OpenCV), OCR backend, tracker and faces
    (their model loads when a camera first needs it) from settings."""
    config = settings.detector_config()
    detector = build_detector(config)
    ocr = build_backend(settings.plate_ocr_backend, settings) if settings.vision_ocr else None
    faces = CameraFaces(threshold=settings.vision_face_match_distance) if settings.vision_faces else None
    return VisionPipeline(detector, ocr, faces=faces, config=PipelineConfig(
        max_reads=settings.vision_ocr_max_reads, agree=settings.vision_plate_agree,
        min_plate_width=settings.vision_min_plate_width, ocr=settings.vision_ocr,
        tracker=TrackerConfig(max_missed=settings.vision_track_max_missed,
                              max_gap_s=settings.vision_track_max_gap_s)), motion=settings.motion_gate())


async def keep_zones(gate: MotionGate, settings: VisionSettings) -> None:
    """Give the motion gate every camera's zones (table ``cameras``), now and every
    ``vision_zones_refresh_s``. While the table cannot be read the zones known are kept (none at
    first: motion anywhere in the frame counts, so a missing zone never costs a detection)."""
    import psycopg

    failing = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(settings.database_url, connect_timeout=5) as conn:
                rows = await (await conn.execute("SELECT id, zones FROM cameras")).fetchall()
            gate.set_zones({str(camera): zones_of_camera(zones) for camera, zones in rows})
            failing = False
        except Exception as exc:  # the database away, or not migrated: gating goes on without zones
            if not failing:
                log.warning("cannot read the cameras' zones for motion gating (retrying every %.0f s): %s",
                            settings.vision_zones_refresh_s, type(exc).__name__)
            failing = True
        await asyncio.sleep(settings.vision_zones_refresh_s)


async def main() -> None:
    settings = VisionSettings()
    configure_logging(settings.log_level, settings.log_json)
    pipeline = await asyncio.to_thread(build_pipeline, settings)
    _, detector_why = settings.detector_choice()
    health.describe("detector", {"name": pipeline.detector.name, "why": detector_why})
    health.describe("motion_gating", "on" if pipeline.motion is not None else "off (VIGIA_VISION_MOTION=false)")
    store = None
    if settings.vision_snapshots:
        store = open_store(settings.object_store, settings)
        await asyncio.to_thread(ensure_default_buckets, store)
    redis = Redis.from_url(settings.redis_url)
    instance = f"{socket.gethostname()}-{os.getpid()}"
    connection = await connect(settings.amqp_url, name=f"vision:{instance}")
    async with AsyncPublisher(settings.amqp_url, settings=settings, declare=True,
                              connection_name="vision:publisher") as publisher:

        async def publish(envelopes: list[Envelope]) -> None:
            await publisher.publish_many(envelopes)

        worker = VisionWorker(pipeline, publish, store, source=settings.service_name or "vision",
                              batch_size=settings.vision_batch_size,
                              batch_wait_ms=settings.vision_batch_wait_ms, frame_ttl_ms=settings.frame_ttl_ms,
                              redis=redis if settings.vision_recent_frames else None,
                              recent_frames=settings.vision_recent_frames)
        worker.start()
        zones = asyncio.create_task(keep_zones(pipeline.motion, settings)) if pipeline.motion is not None else None
        faces = asyncio.create_task(keep_faces(
            pipeline.faces, settings.database_url, settings.fernet_keys.get_secret_value(),
            settings.vision_faces_refresh_s)) if pipeline.faces is not None else None
        channel = await connection.channel()
        await declare_topology(channel, settings)
        await channel.close()

        def consumer_for(shard: int) -> Consumer:
            # Frames in flight: a batch being finished, one being detected, the next one decoding.
            return Consumer(settings.amqp_url, frame_shard_queue(shard), worker.handle, decode="frame",
                            prefetch=max(settings.prefetch, 3 * settings.vision_batch_size),
                            settings=settings, connection=connection)

        sharded = ShardedConsumers(redis, "vision", settings.frame_shards, instance, consumer_for,
                                   vhost=vhost_of(settings.amqp_url), lease_ms=settings.shard_lease_ms)
        health.add("broker", lambda: not connection.is_closed and connection.connected.is_set())
        metrics_port = settings.metrics_port or METRICS_PORT
        serve_metrics(metrics_port)
        detector, ocr = pipeline.detector.name, pipeline.ocr.name if pipeline.ocr is not None else "off"
        log.info("vision ready: %d frame shards, detector=%s (%s), ocr=%s, motion gating %s, metrics on :%d",
                 settings.frame_shards, detector, detector_why, ocr, "on" if pipeline.motion is not None else "off",
                 metrics_port, extra={
                     "frame_shards": settings.frame_shards, "detector": detector, "detector_why": detector_why,
                     "ocr": ocr, "motion_gating": pipeline.motion is not None,
                     "batch_size": settings.vision_batch_size, "instance": instance, "metrics_port": metrics_port})
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            # Until SIGTERM/SIGINT; each shard's in-flight frames are finished before it is handed over.
            await sharded.run(stopping)
        finally:
            for task in (zones, faces):
                if task is not None:
                    task.cancel()
            await worker.stop()
            await connection.close()
            await redis.aclose()
    log.info("vision worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
