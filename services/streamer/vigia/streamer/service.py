"""The streamer replica: which cameras it runs, and how it follows camera changes.

Design (several replicas, no coordinator):

* **Desired state is the database.** Every replica loads all enabled cameras (URL decrypted) at
  start, again whenever the Redis counter ``cameras:version`` moves, and every
  ``refresh_interval_s`` as a safety net.
* **Change notifications.** ``streamer.control`` is one queue, so each camera.* message reaches
  *one* replica. That replica does not act on the message body; it checks the row's version in
  the database (a message newer than the row is re-delivered until the row catches up; an older
  one is stale and changes nothing), then bumps ``cameras:version``, so every replica — including
  the one whose worker must change — reloads from the database within one tick.
  ``camera.restart.<camera>`` increments ``camera:{id}:restart``; the lease holder sees the new
  count and restarts that camera's FFmpeg.
* **Leases** (:mod:`.leases`) decide who runs a camera: a replica only runs cameras whose lease
  it holds. Each tick (``min(reconcile_interval_s, lease/3)``) it heartbeats in
  ``streamer:replicas``, renews its leases (a lease it lost stops its worker at once), stops
  cameras no longer desired (releasing their lease), restarts workers whose camera changed
  (higher version and different URL or fps), then applies the fair-share cap
  ``min(max_cameras, ceil(cameras / live replicas))``: above it, it releases the excess so a
  newcomer can take them; below it, it tries ``SET NX`` on unleased cameras in random order.
  When a replica dies (kill -9), its leases expire after at most ``lease_ms`` and the survivors
  take them on their next tick; its FFmpeg children die with it (PDEATHSIG).
* If Redis cannot be reached for a whole lease period, the replica stops all its workers: someone
  else may legitimately hold those cameras by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine

from vigia.common.broker import AsyncPublisher, MessageMeta, PublishError
from vigia.common.messages import CameraChanged, CameraDeleted, CameraRestart, Envelope, FrameCaptured, make
from vigia.streamer import metrics
from vigia.streamer.cameras import CameraConfig, camera_version, load_cameras
from vigia.streamer.capture import CaptureWorker, FrameSink
from vigia.streamer.jpeg import JpegImage
from vigia.streamer.leases import VERSION_KEY, CameraLeases, circuit_key, heartbeat_key, lease_key, restart_key
from vigia.streamer.settings import StreamerSettings

log = logging.getLogger(__name__)


class StaleDatabaseRow(Exception):
    """The message announces a newer camera version than the database holds yet: retry later."""


class _Throttle:
    """At most one log line per key per ``period`` seconds."""

    def __init__(self, period: float = 30.0) -> None:
        self.period = period
        self._last: dict[str, float] = {}

    def __call__(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -math.inf) < self.period:
            return False
        self._last[key] = now
        return True


class FramePublisher:
    """The capture workers' sink: publishes frame.captured with confirms, then heartbeats in Redis."""

    def __init__(self, publisher: AsyncPublisher, redis: Redis, source: str, heartbeat_ttl_s: int) -> None:
        self.publisher = publisher
        self.redis = redis
        self.source = source
        self.heartbeat_ttl_s = heartbeat_ttl_s
        self._throttle = _Throttle()

    async def __call__(self, config: CameraConfig, image: JpegImage, seq: int, captured_ns: int) -> None:
        camera = str(config.camera)
        envelope = make("frame.captured", config.org, self.source,
                        FrameCaptured(camera=config.camera, width=image.width, height=image.height, seq=seq),
                        time_ns=captured_ns)
        try:
            await self.publisher.publish_frame(envelope, image.data)
        except PublishError as exc:
            metrics.FRAMES_DROPPED.labels(camera, "publish_error").inc()
            if self._throttle(f"publish:{camera}"):
                log.warning("frame not published", extra={"camera": camera, "error": str(exc)})
            return
        metrics.FRAMES_PUBLISHED.labels(camera).inc()
        try:
            await self.redis.set(heartbeat_key(camera), str(time.time_ns()), ex=self.heartbeat_ttl_s)
        except RedisError as exc:
            if self._throttle(f"heartbeat:{camera}"):
                log.warning("heartbeat not written", extra={"camera": camera, "error": str(exc)})


def circuit_ttl_s(settings: StreamerSettings) -> int:
    """Expiry of ``camera:{id}:circuit_open``: longer than one open wait, trial start and back-off
    (the worker refreshes it before every wait), so it lapses only when no worker runs the camera."""
    return math.ceil(settings.breaker_recovery_s + settings.first_frame_timeout_s + settings.backoff_max_s) + 30


class CameraCircuits:
    """The workers' :class:`~vigia.streamer.capture.CircuitReport`: ``camera:{id}:circuit_open`` in
    Redis holds when the camera's breaker opened (the first time in a row of failures: ``SET NX``,
    then only its expiry is refreshed) and is deleted once a start delivers a frame. The watchdog
    reads it to show the camera as ``error``."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._throttle = _Throttle()

    async def opened(self, config: CameraConfig) -> None:
        key = circuit_key(config.camera)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(key, str(time.time_ns()), nx=True, ex=self.ttl_s)
                pipe.expire(key, self.ttl_s)
                await pipe.execute()
        except RedisError as exc:
            if self._throttle(f"circuit:{config.camera}"):
                log.warning("open circuit not reported", extra={"camera": str(config.camera), "error": str(exc)})

    async def closed(self, config: CameraConfig) -> None:
        try:
            await self.redis.delete(circuit_key(config.camera))
        except RedisError as exc:
            if self._throttle(f"circuit:{config.camera}"):
                log.warning("closed circuit not reported", extra={"camera": str(config.camera), "error": str(exc)})


class Streamer:
    """One replica: reconciles leases and workers every tick; handles control messages."""

    def __init__(self, settings: StreamerSettings, engine: Engine, redis: Redis, sink: FrameSink) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis
        self.sink = sink
        self.circuits = CameraCircuits(redis, circuit_ttl_s(settings))
        self.leases = CameraLeases(redis, settings.replica_id, settings.lease_ms)
        self.desired: dict[uuid.UUID, CameraConfig] = {}
        self.workers: dict[uuid.UUID, CaptureWorker] = {}
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._seen_version: object = object()  # matches no stored value: the first tick loads
        self._next_refresh = 0.0
        self._last_renew_ok = time.monotonic()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._throttle = _Throttle()
        self.live_replicas = 1

    # --- control messages ---

    async def handle_control(self, envelope: Envelope, meta: MessageMeta) -> None:
        """Consumer handler for streamer.control (see the module docstring)."""
        data = envelope.data
        if isinstance(data, CameraRestart):
            await self.redis.incr(restart_key(data.camera))
        elif isinstance(data, CameraChanged):
            stored = await asyncio.to_thread(camera_version, self.engine, data.camera)
            if stored is not None and stored < data.version:
                raise StaleDatabaseRow(f"camera {data.camera}: message v{data.version}, database v{stored}")
            if stored is not None and stored > data.version:
                log.info("stale camera change ignored", extra={
                    "camera": str(data.camera), "message_version": data.version, "stored_version": stored})
                return
            await self.redis.incr(VERSION_KEY)
        elif isinstance(data, CameraDeleted):
            await self.redis.incr(VERSION_KEY)
        else:
            return
        self._wake.set()

    # --- the reconcile loop ---

    async def run(self) -> None:
        """Tick until :meth:`stop`; then stop every worker and release every lease."""
        try:
            while not self._stopping.is_set():
                try:
                    await self.tick()
                except RedisError as exc:
                    if self._throttle("redis"):
                        log.warning("redis unavailable during reconcile", extra={"error": str(exc)})
                    if time.monotonic() - self._last_renew_ok > self.settings.lease_ms / 1000:
                        await self._stop_all(release=False, reason="leases unverifiable")
                except Exception:
                    log.exception("reconcile failed")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.tick_s):
                        await self._wake.wait()
        finally:
            await self._stop_all(release=True, reason="shutdown")
            with contextlib.suppress(RedisError):
                await self.leases.leave()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def tick(self) -> None:
        s = self.settings
        self.live_replicas = await self.leases.heartbeat()
        metrics.REPLICAS_LIVE.set(self.live_replicas)
        version = await self.redis.get(VERSION_KEY)
        if version != self._seen_version or time.monotonic() >= self._next_refresh:
            keys = s.fernet_keys.get_secret_value()
            self.desired = await asyncio.to_thread(load_cameras, self.engine, keys, default_fps=s.default_fps)
            self._seen_version = version
            self._next_refresh = time.monotonic() + s.refresh_interval_s

        held = await self.leases.renew(self.workers)
        self._last_renew_ok = time.monotonic()
        for camera in set(self.workers) - held:
            holder = await self.redis.get(lease_key(camera))
            log.warning("camera lease lost: stopping its worker", extra={
                "camera": str(camera), "holder": holder.decode() if isinstance(holder, bytes) else holder})
            await self._stop_worker(camera, release=False)

        for camera, task in list(self._tasks.items()):
            if task.done() and camera in self.desired:  # a worker must never end on its own
                log.error("camera worker ended unexpectedly: starting a new one", extra={
                    "camera": str(camera), "error": repr(task.exception()) if not task.cancelled() else None})
                self.workers.pop(camera, None)
                self._tasks.pop(camera, None)
                self._start_worker(self.desired[camera])

        for camera in [c for c in self.workers if c not in self.desired]:
            log.info("camera removed or disabled: stopping", extra={"camera": str(camera)})
            await self._stop_worker(camera, release=True)

        for camera, worker in list(self.workers.items()):
            wanted = self.desired[camera]
            if wanted.version > worker.config.version:
                if wanted.same_stream(worker.config):
                    worker.config = wanted  # name or other fields only: keep streaming
                else:
                    log.info("camera changed: restarting its worker", extra={
                        "camera": str(camera), "version": wanted.version})
                    await self._stop_worker(camera, release=False)
                    self._start_worker(wanted)

        generations = await self.leases.restart_generations(self.workers)
        for camera, generation in generations.items():
            worker = self.workers[camera]
            if worker.restart_generation is None:
                worker.restart_generation = generation
            elif generation != worker.restart_generation:
                worker.restart_generation = generation
                worker.restart("command")

        cap = min(s.max_cameras, math.ceil(len(self.desired) / self.live_replicas))
        excess = len(self.workers) - cap
        if excess > 0:
            for camera in random.sample(list(self.workers), excess):
                log.info("over fair share: releasing camera", extra={"camera": str(camera), "cap": cap})
                await self._stop_worker(camera, release=True)
        elif excess < 0:
            candidates = [c for c in self.desired if c not in self.workers]
            random.shuffle(candidates)
            free = [c for c, holder in (await self.leases.holders(candidates)).items() if holder is None]
            for camera in free[:-excess]:
                if await self.leases.acquire(camera):
                    self._start_worker(self.desired[camera])
        metrics.CAMERAS_HELD.set(len(self.workers))

    # --- workers ---

    def _start_worker(self, config: CameraConfig) -> None:
        worker = CaptureWorker(config, self.settings, self.sink, self.circuits)
        self.workers[config.camera] = worker
        self._tasks[config.camera] = asyncio.create_task(worker.run(), name=f"camera-{config.camera}")
        log.info("camera acquired", extra={"camera": str(config.camera), "replica": self.settings.replica_id})

    async def _stop_worker(self, camera: uuid.UUID, *, release: bool) -> None:
        worker = self.workers.pop(camera, None)
        task = self._tasks.pop(camera, None)
        if worker is not None:
            worker.stop()
        if task is not None:
            try:
                async with asyncio.timeout(15):
                    await task
            except TimeoutError:
                task.cancel()
            except Exception:
                log.exception("camera worker failed", extra={"camera": str(camera)})
        if release:
            with contextlib.suppress(RedisError):
                await self.leases.release(camera)
        metrics.CAMERAS_HELD.set(len(self.workers))

    async def _stop_all(self, *, release: bool, reason: str) -> None:
        if self.workers:
            log.info("stopping all cameras", extra={"reason": reason, "cameras": len(self.workers)})
        for worker in self.workers.values():
            worker.stop()  # kill every FFmpeg first, then wait for them
        await asyncio.gather(*(self._stop_worker(c, release=release) for c in list(self.workers)))
