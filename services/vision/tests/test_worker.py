"""The worker end to end on a real RabbitMQ vhost and a file object store."""

from __future__ import annotations

import asyncio
import time
import uuid

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY

from vigia.common.broker import EVENTS, AsyncPublisher, BrokerSettings, Consumer
from vigia.common.broker.topology import frame_shard_queue
from vigia.common.ids import uuid7_time_ms
from vigia.common.messages import Envelope, FrameCaptured, make
from vigia.common.settings import CommonSettings
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.vision.detectors import build_detector
from vigia.vision.pipeline import FrameInput, PipelineConfig, VisionPipeline
from vigia.vision.worker import VisionWorker

ORG = uuid.uuid4()


def frames_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("vigia_vision_frames_total", {"outcome": outcome}) or 0.0


def jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


def frame_envelope(camera: uuid.UUID, image_shape: tuple[int, ...], seq: int, age_s: float = 0.0) -> Envelope:
    h, w = image_shape[:2]
    return make("frame.captured", ORG, "test", FrameCaptured(camera=camera, width=w, height=h, seq=seq),
                time_ns=time.time_ns() - int(age_s * 1e9))


@pytest.fixture
def store(tmp_path):
    s = open_store(f"file://{tmp_path}/objects", CommonSettings())
    ensure_default_buckets(s)
    return s


async def run_worker(amqp_url: str, store, ocr, frames: list[tuple[Envelope, bytes]], expect: int,
                     wait_s: float = 60.0, redis=None) -> list[Envelope]:
    """Publish ``frames`` to vigia.frames, run the worker until ``expect`` events arrived on a test
    queue bound to vigia.events (or ``wait_s``), and return those events."""
    # One frame shard: every frame in vision.frames.0, which this worker consumes.
    async with AsyncPublisher(amqp_url, settings=BrokerSettings(frame_shards=1), declare=True) as publisher:
        channel = publisher.channel
        events = await channel.declare_queue("", exclusive=True)
        for key in ("detection.#", "plate.read.#"):
            await events.bind(await channel.get_exchange(EVENTS), key)

        async def publish(envelopes: list[Envelope]) -> None:
            await publisher.publish_many(envelopes)

        pipeline = VisionPipeline(build_detector({"type": "opencv"}), ocr, PipelineConfig(min_plate_width=60))
        worker = VisionWorker(pipeline, publish, store, batch_size=4, batch_wait_ms=100,
                              redis=redis, recent_frames=50 if redis is not None else 0)
        worker.start()
        consumer = Consumer(amqp_url, frame_shard_queue(0), worker.handle, decode="frame", prefetch=8)
        await consumer.start()
        try:
            for envelope, body in frames:
                await publisher.publish_frame(envelope, body)
            received: list[Envelope] = []
            deadline = time.monotonic() + wait_s
            while len(received) < expect and time.monotonic() < deadline:
                message = await events.get(no_ack=True, fail=False)
                if message is None:
                    await asyncio.sleep(0.1)
                    continue
                received.append(Envelope.from_json(message.body))
            # Let the queue drain: every frame settled.
            while time.monotonic() < deadline:
                queue = await channel.declare_queue(frame_shard_queue(0), passive=True)
                if queue.declaration_result.message_count == 0:
                    break
                await asyncio.sleep(0.1)
            return received
        finally:
            await consumer.shutdown()
            await worker.stop()


async def test_people_in_a_frame_become_detections_with_stored_snapshots(amqp_url, store, bus_image) -> None:
    camera = uuid.uuid4()
    envelope = frame_envelope(camera, bus_image.shape, 1)
    events = await run_worker(amqp_url, store, None, [(envelope, jpeg(bus_image))], expect=2)
    people = [e for e in events if e.type == "detection.created" and e.data.label == "person"]
    assert len(people) >= 2
    for event in people:
        assert event.org == ORG and event.data.camera == camera and event.data.frame == envelope.id
        assert event.trace == envelope.trace  # the frame's trace continues
        assert event.data.snapshot_key.startswith(f"{ORG}/{camera}/")
        assert event.data.snapshot_key.endswith(f"/{envelope.id}.jpg")
        assert store.get("snapshots", event.data.snapshot_key)[:2] == b"\xff\xd8"
        assert store.get("snapshots", event.data.crop_key)[:2] == b"\xff\xd8"


async def test_stale_and_undecodable_frames_are_dropped_and_counted_and_the_worker_goes_on(
        amqp_url, store, bus_image) -> None:
    camera = uuid.uuid4()
    stale_before, bad_before = frames_counted("stale"), frames_counted("undecodable")
    good = frame_envelope(camera, bus_image.shape, 3)
    frames = [
        (frame_envelope(camera, bus_image.shape, 1, age_s=60), jpeg(bus_image)),  # older than the TTL
        (frame_envelope(camera, bus_image.shape, 2), b"this is not a jpeg"),       # poison
        (good, jpeg(bus_image)),
    ]
    events = await run_worker(amqp_url, store, None, frames, expect=2)
    assert events and {e.data.frame for e in events} == {good.id}
    assert frames_counted("stale") == stale_before + 1
    assert frames_counted("undecodable") == bad_before + 1


async def test_a_plate_seen_in_consecutive_frames_is_read_and_decided_once(
        amqp_url, store, plate_ocr, render_plate) -> None:
    camera = uuid.uuid4()
    plate = render_plate("BRA2E19", 220)
    frames = []
    base = time.time_ns()
    for i in range(3):  # the plate moves right 150 px a second
        image = np.full((720, 1280, 3), 80, np.uint8)
        x = 200 + 150 * i
        image[400:400 + plate.shape[0], x:x + plate.shape[1]] = plate
        env = make("frame.captured", ORG, "test", FrameCaptured(camera=camera, width=1280, height=720, seq=i),
                   time_ns=base - (3 - i) * 1_000_000_000)
        frames.append((env, jpeg(image)))
    events = await run_worker(amqp_url, store, plate_ocr, frames, expect=4)
    plates = [e for e in events if e.type == "plate.read"]
    detections = [e for e in events if e.type == "detection.created"]
    assert [p.data.plate_text for p in plates] == ["BRA2E19"]
    assert plates[0].data.votes >= 2 and plates[0].data.camera == camera
    assert len({d.data.track for d in detections}) == 1  # one visit
    assert detections[-1].data.plate_text == "BRA2E19" and detections[-1].data.label == "plate"
    assert store.get("snapshots", plates[0].data.snapshot_key)[:2] == b"\xff\xd8"
    # what a passage needs: what carried the plate, the vote and the plate's own crop
    assert plates[0].data.label == "plate" and plates[0].data.agreeing >= 2
    assert plates[0].data.crop_key not in (None, plates[0].data.snapshot_key)
    assert store.get("snapshots", plates[0].data.crop_key)[:2] == b"\xff\xd8"


def test_a_frame_the_pipeline_cannot_process_fails_alone(store, bus_image) -> None:
    """A batch that raises is retried frame by frame; only the bad frame's handler fails."""

    class Picky:
        name, finds_vehicles, finds_plates = "picky", False, False

        def detect(self, frames):
            if any(f.shape[0] == 1 for f in frames):
                raise ValueError("cannot handle a one-row frame")
            return [[] for _ in frames]

    async def scenario() -> list[BaseException | None]:
        async def publish(envelopes: list[Envelope]) -> None:
            return None

        worker = VisionWorker(VisionPipeline(Picky(), None), publish, store, batch_size=4, batch_wait_ms=200)
        worker.start()
        camera = uuid.uuid4()
        thin = np.full((1, 64, 3), 128, np.uint8)

        class Meta:
            def __init__(self, body: bytes) -> None:
                self.body = body

        try:
            results = await asyncio.gather(
                worker.handle(frame_envelope(camera, bus_image.shape, 1), Meta(jpeg(bus_image))),
                worker.handle(frame_envelope(camera, thin.shape, 2), Meta(jpeg(thin))),
                worker.handle(frame_envelope(camera, bus_image.shape, 3), Meta(jpeg(bus_image))),
                return_exceptions=True)
        finally:
            await worker.stop()
        return list(results)

    failed_before = frames_counted("failed")
    results = asyncio.run(scenario())
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ValueError)
    assert frames_counted("failed") == failed_before + 1


async def test_processed_frames_are_kept_in_the_cameras_redis_stream_for_evidence(
        amqp_url, store, bus_image, redis_url) -> None:
    from redis.asyncio import Redis

    from vigia.common.leases import camera_frames_key

    camera = uuid.uuid4()
    redis = Redis.from_url(redis_url)
    try:
        frames = [(frame_envelope(camera, bus_image.shape, i), jpeg(bus_image)) for i in range(3)]
        await run_worker(amqp_url, store, None, frames, expect=6, redis=redis)
        entries = await redis.xrange(camera_frames_key(camera))
        assert [int(fields[b"t"]) for _, fields in entries] == [e.time for e, _ in frames]
        assert all(fields[b"jpeg"] == body for (_, fields), (_, body) in zip(entries, frames, strict=True))
    finally:
        await redis.delete(camera_frames_key(camera))
        await redis.aclose()


def test_the_overlapping_stages_give_the_results_of_the_pipeline_run_frame_by_frame(store) -> None:
    """Decoding, detection and finishing overlap across batches (and cameras share batches): each
    camera's frames must still be tracked in order, with the same detections, plates and visits
    as the pipeline called on one frame at a time, and be published in order."""
    from vigia.simulators.camsim.scene import Scene, SceneConfig

    cameras = {uuid.uuid4(): Scene(SceneConfig(fps=1.0, seed=seed)) for seed in (1, 2)}
    start = time.time_ns() - 10 * 1_000_000_000  # 1 fps up to now (the TTL is off: none goes stale)
    frames: list[tuple[Envelope, bytes]] = []
    for i in range(3, 11):  # vehicles with plates cross both scenes in these seconds
        for camera, scene in cameras.items():
            envelope = make("frame.captured", ORG, "test", FrameCaptured(camera=camera, width=1280, height=720, seq=i),
                            time_ns=start + i * 1_000_000_000)
            frames.append((envelope, jpeg(scene.render(i))))
    detector = build_detector({"type": "opencv"})

    def summary(objects: list[tuple[uuid.UUID, uuid.UUID, str, tuple[float, ...], str]]) -> list[tuple]:
        """(frame, label, box, visit number in its camera's order of first sight)."""
        visits: dict[tuple[uuid.UUID, str], int] = {}
        out = []
        for camera, frame, label, box, track in objects:
            number = visits.setdefault((camera, track), sum(1 for c, _ in visits if c == camera))
            out.append((frame, label, tuple(round(v, 3) for v in box), number))
        return out

    serial = VisionPipeline(detector, None, PipelineConfig(ocr=False))
    expected = []
    for envelope, body in frames:
        image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        (result,) = serial.process([FrameInput(str(envelope.data.camera), envelope.time, image)])
        expected += [(envelope.data.camera, envelope.id, o.detection.label, o.detection.box, o.track)
                     for o in result.objects]
    assert any(label == "plate" for _, _, label, _, _ in expected)
    assert len({track for *_, track in expected}) < len(expected)  # some objects are followed across frames

    published: list[Envelope] = []

    async def scenario() -> None:
        async def publish(envelopes: list[Envelope]) -> None:
            published.extend(envelopes)

        worker = VisionWorker(VisionPipeline(detector, None, PipelineConfig(ocr=False)), publish, store,
                              batch_size=3, batch_wait_ms=50, idle_sweep_s=3600, frame_ttl_ms=3_600_000)
        worker.start()

        class Meta:
            def __init__(self, body: bytes) -> None:
                self.body = body

        try:
            await asyncio.gather(*(worker.handle(envelope, Meta(body)) for envelope, body in frames))
        finally:
            await worker.stop()

    asyncio.run(scenario())
    detections = [e for e in published if e.type == "detection.created"]
    got = [(e.data.camera, e.data.frame, e.data.label, (e.data.box.x1, e.data.box.y1, e.data.box.x2, e.data.box.y2),
            e.data.track) for e in detections]
    assert summary(got) == summary(expected)  # same objects and visits, published in frame order
    plates = [e for e in detections if e.data.label == "plate"]
    assert all(store.get("snapshots", e.data.crop_key)[:2] == b"\xff\xd8" for e in plates)
    bodies = {envelope.id: body for envelope, body in frames}
    assert store.get("snapshots", plates[0].data.snapshot_key) == bodies[plates[0].data.frame]  # as received


async def test_a_redelivered_frame_publishes_its_detections_under_the_same_ids(amqp_url, store, bus_image) -> None:
    """vision killed after publishing a frame's detections but before its ack: the broker delivers
    the frame again, and the detections published the second time are the same messages (same
    ids), which the recorder stores once."""
    envelope = frame_envelope(uuid.uuid4(), bus_image.shape, 1)
    body = jpeg(bus_image)
    first = await run_worker(amqp_url, store, None, [(envelope, body)], expect=2)
    again = await run_worker(amqp_url, store, None, [(envelope, body)], expect=2)
    people = [e for e in first if e.type == "detection.created"]
    assert len(people) >= 2
    assert [e.id for e in again if e.type == "detection.created"] == [e.id for e in people]
    assert len({e.id for e in people}) == len(people)
    assert all(e.id.version == 7 and uuid7_time_ms(e.id) == envelope.time // 1_000_000 for e in people)


@pytest.mark.parametrize("ended_by", ["later frames", "the idle sweep"])
async def test_a_visit_decided_only_at_its_end_is_published_with_its_latest_plate_crop(
        amqp_url, store, plate_ocr, render_plate, ended_by) -> None:
    """One read of the plate (two must agree to decide): the visit's plate is published only when
    the visit ends, from a frame that no longer shows it, and still carries the crop and snapshot
    of the last frame that did (the console's passage shows that crop)."""
    camera = uuid.uuid4()
    plate = render_plate("BRA2E19", 220)
    image = np.full((720, 1280, 3), 80, np.uint8)
    image[400:400 + plate.shape[0], 300:300 + plate.shape[1]] = plate
    empty = np.full((720, 1280, 3), 80, np.uint8)
    base = time.time_ns() - 4_000_000_000
    shown = [image] + ([empty] * 3 if ended_by == "later frames" else [])
    frames = [(make("frame.captured", ORG, "test", FrameCaptured(camera=camera, width=1280, height=720, seq=i),
                    time_ns=base + i * 500_000_000), jpeg(frame)) for i, frame in enumerate(shown)]
    events = await run_worker(amqp_url, store, plate_ocr, frames, expect=2)
    [detection] = [e for e in events if e.type == "detection.created"]
    [read] = [e for e in events if e.type == "plate.read"]
    assert read.data.final and read.data.votes == 1 and read.data.plate_text == "BRA2E19"
    assert read.data.visit == detection.data.track
    assert read.data.crop_key == detection.data.crop_key is not None
    assert read.data.snapshot_key == detection.data.snapshot_key
    assert store.get("snapshots", read.data.crop_key)[:2] == b"\xff\xd8"
