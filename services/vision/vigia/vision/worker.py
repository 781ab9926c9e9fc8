"""The vision worker: frames (``vision.frames.<k>``) in micro-batches -> snapshots, detection.created
(faces too, on cameras whose faces switch is on), plate.read.

The broker :class:`~vigia.common.broker.Consumer` calls :meth:`VisionWorker.handle` once per frame
(prefetch >= batch size, so several are in flight); ``handle`` starts decoding the JPEG on an I/O
thread, queues the frame and awaits its batch. The work is a pipeline of stages that overlap, so
the detector (the costly part) is never kept waiting by the rest:

* batcher: gathers up to ``batch_size`` frames or waits ``batch_wait_ms`` after the first, takes
  their decoded images (decoded meanwhile, in parallel), lets the motion gate pick the frames with
  motion and runs one batched detector call on those, on the inference thread (a frame without
  motion is held: tracked, published and kept for evidence like the others, see
  :mod:`vigia.vision.pipeline`);
* finisher: while the next batch is detected, finds plates, tracks, reads and votes on the
  finishing thread (the tracker's one user, frames in order), stores the batch's snapshots in
  parallel on I/O threads, and publishes frame by frame in order.

Per frame: skipped if stale (older than the frame TTL) or not a decodable image -- both counted and
acked, since retrying cannot help; else detections, snapshot (the JPEG as received, not re-encoded)
and crops stored, detection.created published (with the frame's trace; ids derived from the frame
id and the detection's index, so a frame redelivered after a crash is stored once), plate.read
published for visits decided, then ``handle`` returns and the consumer acks. A plate.read carries
the snapshot and plate crop of its visit's latest stored frame that showed the plate, also when the
visit is decided only at its end (by a later frame, or by the idle sweep once the camera went quiet).

Failures: frames are perishable and their queues have no DLQ. A frame whose processing raises fails
alone (a failing detector batch is retried frame by frame; finishing runs frame by frame); its
``handle`` raises, and the consumer -- with ``requeue_failures=False`` for frames -- logs it,
counts it and drops it. It is never requeued, so a frame that keeps failing cannot loop forever
(seed 003's bug).

Ordering: tracking needs each camera's frames in order. Frames are sharded by camera
(``vision.frames.<k>``, one consumer per shard across replicas, see ``__main__``), so every frame of
a camera reaches this worker, in queue order, and its batches keep that order. When a shard moves to
another replica (scaling, a crash) the camera's tracks start afresh there: a visit in progress at
that moment may be voted on twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from redis.exceptions import RedisError

from vigia.common.broker import MessageMeta
from vigia.common.ids import uuid7_of
from vigia.common.leases import camera_frames_key
from vigia.common.messages import (
    FACE_LABEL,
    Box,
    DetectionCreated,
    Envelope,
    FrameCaptured,
    PlateRead,
    PlateRunnerUp,
    make,
    time_ns_to_datetime,
)
from vigia.common.privacy import SNAPSHOTS, snapshot_day, snapshot_day_prefix
from vigia.common.storage import ObjectStore
from vigia.vision.detectors.base import Detection
from vigia.vision.pipeline import FrameInput, FrameResult, VisionPipeline, VisitPlate
from vigia.vision.plates.finder import crop_plate

log = logging.getLogger(__name__)

FRAMES = Counter("vigia_vision_frames_total", "Frames taken from the vision.frames.<k> queues, by outcome "
                 "(processed; stale: older than the frame TTL; undecodable: not an image; failed: processing raised)",
                 ["outcome"])
BATCH_SIZE = Histogram("vigia_vision_batch_size", "Frames per inference batch",
                       buckets=(1, 2, 3, 4, 6, 8, 12, 16, 32, 64))
DETECTIONS = Counter("vigia_vision_detections_total", "detection.created published, by camera and label",
                     ["camera", "label"])
FRAME_AGE = Histogram("vigia_vision_frame_age_seconds", "Age of a frame (since capture) when vision starts "
                      "inference on it: the streaming leg camera -> streamer/ingest -> broker -> vision",
                      buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30))
DETECTION_LATENCY = Histogram("vigia_vision_detection_latency_seconds", "From a frame's capture to its results "
                              "published (processed frames): end-to-end detection latency",
                              buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30))
VISIT_IMAGES = 10_000  # visits whose latest stored frame and plate crop are remembered

PLATES = Counter("vigia_vision_plate_reads_published_total", "plate.read published (one or more per visit)")

Publish = Callable[[list[Envelope]], Awaitable[None]]


@dataclass
class _Pending:
    envelope: Envelope
    body: bytes
    future: asyncio.Future[None]
    image: asyncio.Future[np.ndarray | None] | None = None  # decoding, started on arrival


@dataclass
class _Ready:
    item: _Pending
    frame: FrameInput
    detections: list[Detection] | BaseException | None = None  # None: held (no motion)


class VisionWorker:
    """Turns frames into detections (see the module docstring for the contract)."""

    def __init__(self, pipeline: VisionPipeline, publish: Publish, store: ObjectStore | None, *,
                 source: str = "vision", batch_size: int = 4, batch_wait_ms: int = 50,
                 frame_ttl_ms: int = 10_000, idle_sweep_s: float = 1.0,
                 redis: Redis | None = None, recent_frames: int = 0) -> None:
        self.pipeline = pipeline
        self.publish = publish
        self.store = store
        self.source = source
        self.batch_size = batch_size
        self.batch_wait = batch_wait_ms / 1000
        self.frame_ttl_ns = frame_ttl_ms * 1_000_000
        self.idle_sweep_s = idle_sweep_s
        self.redis = redis if recent_frames > 0 else None
        self.recent_frames = recent_frames
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        # Detected batches waiting for the finishing stage: one, so detection runs at most one
        # batch ahead of finishing (backpressure; frames are not detected long before use).
        self._detected: asyncio.Queue[list[_Ready]] = asyncio.Queue(maxsize=1)
        # One inference thread (the detector, torch) and one finishing thread (plate finding,
        # tracking, OCR, voting: the tracker state has one user); each used by one caller at a time.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-infer")
        self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vision-finish")
        # Decoding and storing (OpenCV and file/S3 I/O release the GIL).
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vision-io")
        self._tasks: list[asyncio.Task[None]] = []
        self._orgs: dict[str, uuid.UUID] = {}
        # Each open visit's latest stored frame and plate crop, for its plate published later: a
        # visit decided only when it ends (by a later frame or the idle sweep) is no longer in the
        # frame that publishes it. Visits ended without a plate leave by age (least recent first).
        self._visit_images: OrderedDict[str, tuple[str, str]] = OrderedDict()

    # --- lifecycle ---

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._batches(), name="vision-batcher"),
                       asyncio.create_task(self._finishing(), name="vision-finisher"),
                       asyncio.create_task(self._sweep(), name="vision-idle-sweep")]

    async def stop(self) -> None:
        """Stop batching (call after the consumer drained its in-flight frames)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._executor.shutdown(wait=True)
        self._finisher.shutdown(wait=True)
        self._io.shutdown(wait=True)

    # --- per message (the consumer's handler) ---

    async def handle(self, envelope: Envelope, meta: MessageMeta) -> None:
        """Queue the frame for the next batch and return once it is fully handled."""
        if not isinstance(envelope.data, FrameCaptured):
            FRAMES.labels("undecodable").inc()
            log.warning("not a frame, dropped", extra={"type": envelope.type, "message_id": str(envelope.id)})
            return
        loop = asyncio.get_running_loop()
        item = _Pending(envelope, meta.body, loop.create_future())
        if not self._stale(item):  # decode now, in parallel with the batches ahead of this frame
            item.image = loop.run_in_executor(self._io, _decode, item.body)
        self._queue.put_nowait(item)
        await item.future

    # --- stages: batch + decode + detect (batcher), then finish + emit (finisher) ---

    async def _batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.batch_wait
            while len(batch) < self.batch_size:
                remaining = deadline - loop.time()
                try:
                    batch.append(self._queue.get_nowait() if remaining <= 0 else
                                 await asyncio.wait_for(self._queue.get(), remaining))
                except (asyncio.QueueEmpty, TimeoutError):
                    break
            try:
                ready = await self._detect(await self._prepare(batch))
                if ready:
                    await self._detected.put(ready)
            except Exception as exc:  # never let the batcher die: fail what is left of the batch
                log.exception("batch failed")
                _fail(batch, exc)

    async def _finishing(self) -> None:
        while True:
            ready = await self._detected.get()
            try:
                await self._finish(ready)
            except Exception as exc:  # never let the finisher die: fail what is left of the batch
                log.exception("batch failed")
                _fail([r.item for r in ready], exc)

    def _stale(self, item: _Pending) -> bool:
        return time.time_ns() - item.envelope.time > self.frame_ttl_ns

    async def _prepare(self, batch: list[_Pending]) -> list[_Ready]:
        """The batch's fresh, decodable frames (the others are counted and acked)."""
        ready: list[_Ready] = []
        for item in batch:
            if item.image is None or self._stale(item):
                if item.image is not None:
                    item.image.cancel()  # not needed any more (and not run, if still waiting)
                FRAMES.labels("stale").inc()
                log.info("stale frame skipped", extra={
                    "message_id": str(item.envelope.id),
                    "age_s": round((time.time_ns() - item.envelope.time) / 1e9, 3)})
                item.future.set_result(None)
                continue
            try:
                image = await item.image
            except Exception as exc:
                FRAMES.labels("failed").inc()
                item.future.set_exception(exc)
                continue
            if image is None:
                FRAMES.labels("undecodable").inc()
                log.warning("undecodable frame dropped", extra={"message_id": str(item.envelope.id),
                                                                "bytes": len(item.body)})
                item.future.set_result(None)
                continue
            data = item.envelope.data
            assert isinstance(data, FrameCaptured)
            self._orgs[str(data.camera)] = item.envelope.org
            FRAME_AGE.observe(max(0.0, (time.time_ns() - item.envelope.time) / 1e9))
            ready.append(_Ready(item, FrameInput(str(data.camera), item.envelope.time, image, item.envelope)))
        return ready

    async def _detect(self, ready: list[_Ready]) -> list[_Ready]:
        """One batched detector call on the inference thread; a failing batch is retried frame by
        frame so that only the bad frame fails."""
        if not ready:
            return ready
        loop = asyncio.get_running_loop()
        moving = await loop.run_in_executor(self._executor, self.pipeline.gate, [r.frame for r in ready])
        batch = [r for r, m in zip(ready, moving, strict=True) if m]  # the others stay None: held
        if not batch:
            return ready
        BATCH_SIZE.observe(len(batch))
        try:
            found = await loop.run_in_executor(self._executor, self.pipeline.detect, [r.frame for r in batch])
            for r, detections in zip(batch, found, strict=True):
                r.detections = detections
        except Exception:
            log.warning("batch failed, retrying its frames one by one", exc_info=True)
            for r in batch:
                try:
                    r.detections = (await loop.run_in_executor(self._executor, self.pipeline.detect, [r.frame]))[0]
                except Exception as exc:
                    r.detections = exc
        return ready

    async def _finish(self, ready: list[_Ready]) -> None:
        """Plate finding, tracking and OCR on the finishing thread, then per frame in order: the
        frame kept for evidence, snapshot and crops stored (all frames' stores run at once), events
        published, the frame's handler released."""
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self._finisher, self._finish_frames, ready)
        stores: list[asyncio.Future[tuple[str, list[str | None]]] | None] = [
            loop.run_in_executor(self._io, self._store, r.item.envelope, r.item.body, result)
            if self.store is not None and isinstance(result, FrameResult) and result.objects else None
            for r, result in zip(ready, results, strict=True)]
        for r, result, stored in zip(ready, results, stores, strict=True):
            item = r.item
            try:
                if isinstance(result, BaseException):
                    raise result
                await self._emit(item.envelope, item.body, result, stored)
            except Exception as exc:
                FRAMES.labels("failed").inc()
                item.future.set_exception(exc)
                continue
            FRAMES.labels("processed").inc()
            DETECTION_LATENCY.observe(max(0.0, (time.time_ns() - item.envelope.time) / 1e9))
            item.future.set_result(None)

    def _finish_frames(self, ready: list[_Ready]) -> list[FrameResult | BaseException]:
        """(On the finishing thread.) Each frame's result, or what it raised: frames fail alone."""
        out: list[FrameResult | BaseException] = []
        for r in ready:
            if isinstance(r.detections, BaseException):
                out.append(r.detections)
                continue
            try:
                out.append(self.pipeline.finish([r.frame], [r.detections])[0])
            except Exception as exc:
                out.append(exc)
        return out

    async def _sweep(self) -> None:
        """End the visits of cameras that stopped sending frames, publishing their final plates."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.idle_sweep_s)
            try:
                plates = await loop.run_in_executor(self._finisher, self.pipeline.end_idle)
                if plates:
                    await self.publish([self._plate_envelope(p, *self._images_of(p)) for p in plates])
            except Exception:
                log.warning("idle sweep failed", exc_info=True)

    # --- output ---

    async def _emit(self, envelope: Envelope, body: bytes, result: FrameResult,
                    stored: Awaitable[tuple[str, list[str | None]]] | None) -> None:
        data = envelope.data
        assert isinstance(data, FrameCaptured)
        if self.redis is not None:
            await self._keep_recent(data.camera, envelope.time, body)
        snapshot_key: str | None = None
        crop_keys: list[str | None] = [None] * (len(result.objects) + len(result.faces))
        if stored is not None:
            snapshot_key, crop_keys = await stored
        object_crops, face_crops = crop_keys[:len(result.objects)], crop_keys[len(result.objects):]
        out: list[Envelope] = []
        for index, (obj, crop_key) in enumerate(zip(result.objects, object_crops, strict=True)):
            x1, y1, x2, y2 = obj.detection.box
            plate = obj.plate
            detection = make("detection.created", envelope.org, self.source, DetectionCreated(
                camera=data.camera, frame=envelope.id, captured_at=envelope.time,
                label=obj.detection.label, confidence=round(obj.detection.confidence, 4),
                box=Box(x1=x1, y1=y1, x2=x2, y2=y2), frame_width=data.width, frame_height=data.height,
                plate_text=plate.text if plate else None,
                plate_confidence=plate.confidence if plate else None,
                track=obj.track, snapshot_key=snapshot_key, crop_key=crop_key), trace=envelope.trace)
            out.append(detection.model_copy(update={"id": detection_id(envelope, index)}))
            DETECTIONS.labels(str(data.camera), obj.detection.label).inc()
        for index, (face, crop_key) in enumerate(zip(result.faces, face_crops, strict=True), len(result.objects)):
            x1, y1, x2, y2 = face.box
            person = result.objects[face.person]
            detection = make("detection.created", envelope.org, self.source, DetectionCreated(
                camera=data.camera, frame=envelope.id, captured_at=envelope.time, label=FACE_LABEL,
                confidence=face_confidence(face.score), box=Box(x1=x1, y1=y1, x2=x2, y2=y2),
                frame_width=data.width, frame_height=data.height, track=f"{person.track}:face"[:64],
                snapshot_key=snapshot_key, crop_key=crop_key, identity=face.identity,
                identity_distance=face.distance), trace=envelope.trace)
            out.append(detection.model_copy(update={"id": detection_id(envelope, index)}))
            DETECTIONS.labels(str(data.camera), FACE_LABEL).inc()
        if snapshot_key is not None:
            for obj, crop_key in zip(result.objects, object_crops, strict=True):
                if obj.plate_box is not None and crop_key is not None:
                    self._visit_images[obj.track] = (snapshot_key, crop_key)
                    self._visit_images.move_to_end(obj.track)
            while len(self._visit_images) > VISIT_IMAGES:
                self._visit_images.popitem(last=False)
        out += [self._plate_envelope(p, *self._images_of(p)) for p in result.plates]
        if out:
            await self.publish(out)

    def _images_of(self, plate: VisitPlate) -> tuple[str | None, str | None]:
        """The snapshot and plate crop a visit's plate is published with: those of the visit's latest
        stored frame that showed its plate (a final plate's visit is forgotten)."""
        images = self._visit_images.pop(plate.visit, None) if plate.final else self._visit_images.get(plate.visit)
        return images if images is not None else (None, None)

    async def _keep_recent(self, camera: uuid.UUID, time_ns: int, body: bytes) -> None:
        """Append the frame to the camera's short Redis stream for evidence videos; a Redis outage
        costs evidence, never the frame's detections."""
        assert self.redis is not None
        try:
            await self.redis.xadd(camera_frames_key(camera), {"t": time_ns, "jpeg": body},
                                  maxlen=self.recent_frames, approximate=True)
        except RedisError:
            log.warning("could not keep the frame for evidence", exc_info=True, extra={"camera": str(camera)})

    def _plate_envelope(self, plate: VisitPlate, snapshot_key: str | None, crop_key: str | None) -> Envelope:
        context = plate.context if isinstance(plate.context, Envelope) else None
        org = context.org if context else self._orgs[plate.camera]
        PLATES.inc()
        return make("plate.read", org, self.source, PlateRead(
            camera=uuid.UUID(plate.camera), visit=plate.visit, plate_text=plate.decision.text,
            confidence=plate.decision.confidence, votes=plate.decision.votes,
            first_seen=plate.first_seen, last_seen=plate.last_seen, snapshot_key=snapshot_key,
            label=plate.label, agreeing=plate.decision.agreeing, final=plate.final, crop_key=crop_key,
            runner_ups=[PlateRunnerUp(plate_text=text, readings=n, confidence=c) for text, n, c in plate.runner_ups]),
            trace=context.trace if context else None)

    def _store(self, envelope: Envelope, body: bytes, result: FrameResult) -> tuple[str, list[str | None]]:
        """Store the frame (its JPEG as received) and one crop per object (the plate for vehicles
        that have one); returns their keys."""
        assert self.store is not None
        data = envelope.data
        assert isinstance(data, FrameCaptured)
        # The layout the retention janitor lists (vigia.common.privacy), so it never misses one.
        day = snapshot_day(time_ns_to_datetime(envelope.time))
        base = f"{snapshot_day_prefix(envelope.org, data.camera, day)}{envelope.id}"
        snapshot_key = f"{base}.jpg"
        content_type = data.content_type if body else "image/jpeg"
        self.store.put(SNAPSHOTS, snapshot_key, body, content_type=content_type)
        keys: list[str | None] = []
        image = result.frame.image
        for i, obj in enumerate(result.objects):
            ok, jpeg = cv2.imencode(".jpg", crop_plate(image, obj.plate_box or obj.detection.box, 0.02, 0.02),
                                    [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                keys.append(None)
                continue
            key = f"{base}-{i}.jpg"
            self.store.put(SNAPSHOTS, key, jpeg.tobytes(), content_type="image/jpeg")
            keys.append(key)
        for i, face in enumerate(result.faces, len(result.objects)):
            ok, jpeg = cv2.imencode(".jpg", crop_plate(image, face.box, 0.2, 0.2), [cv2.IMWRITE_JPEG_QUALITY, 90])
            key = f"{base}-{i}.jpg"
            if ok:
                self.store.put(SNAPSHOTS, key, jpeg.tobytes(), content_type="image/jpeg")
            keys.append(key if ok else None)
        return snapshot_key, keys


def face_confidence(score: float) -> float:
    """A face's confidence from the HOG detector's score (0 at its threshold, ~1-3 for clear faces):
    0.5 at the threshold, 1 from a score of 2."""
    return round(min(1.0, max(0.0, 0.5 + score / 4)), 4)


def detection_id(frame: Envelope, index: int) -> uuid.UUID:
    """The id of the frame's ``index``-th detection: a UUIDv7 of the capture time hashing (frame id,
    index). A frame redelivered after its results were published (vision killed before the ack, the
    broker gone before it) is detected again, identically: the same ids, stored once."""
    return uuid7_of(frame.time, f"{frame.id}:{index}")


def _fail(items: list[_Pending], exc: BaseException) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(exc)


def _decode(body: bytes) -> np.ndarray | None:
    """A BGR image from JPEG/PNG bytes, or None when the bytes are not a decodable image."""
    if len(body) < 4:
        return None
    try:
        image: Any = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    if image is None or image.size == 0:
        return None
    return image
