"""A camera's latest frames for the console's tiles, from the Redis stream vision keeps.

``WS /api/v1/cameras/{camera}/frames?token=<JWT>[&fps=<n>]`` sends one binary message per frame:
8 bytes of capture time (ns since the epoch, unsigned big-endian), then the JPEG as vision wrote
it to ``camera:<id>:frames`` (:func:`vigia.common.leases.camera_frames_key`). A WebSocket rather
than an MJPEG ``<img>``: the console's Content-Security-Policy lets it connect to the live origin
(``connect-src``) but load images only from its own, the token travels the way the feed's does
(``?token=``, masked in the logs), and a browser opens at most six HTTP/1.1 connections per host,
which 50 multipart tiles would exhaust.

Per camera, one :class:`CameraFeed` polls the newest entry (``XREVRANGE … COUNT 1``) at the rate
the watchers need and keeps only that frame; every watcher has its own sender that waits for a
newer frame than the one it sent, so a slow client skips frames instead of queueing them and never
holds another back. The feed stops polling Redis when its last watcher leaves. A camera is looked
up in PostgreSQL (its organization and fps, remembered ``live_camera_cache_s``): another
organization's camera closes the socket exactly like an unknown one.

Close codes beyond the feed's (:mod:`vigia.live.app`): 4404 no such camera in the token's
organization; 4400 a bad ``fps``; 1013 the camera could not be looked up (database down), or too
many clients; 4008 a frame could not be sent within ``live_frames_send_timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

from vigia.common.leases import camera_frames_key

log = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404

FRAMES_SENT = Counter("live_camera_frames_sent", "Latest-frame messages sent to console tiles")
FRAMES_SKIPPED = Counter("live_camera_frames_skipped", "Frames a tile never got because a newer one "
                         "replaced it before it could be sent (slow client or rate limit)")
WATCHERS = Gauge("live_camera_frame_watchers", "Open latest-frame sockets")
FEEDS = Gauge("live_camera_frame_feeds", "Cameras whose recent-frame stream is being polled")

HEADER = struct.Struct("!Q")
#: How often a camera that sends nothing is polled, at most (s): new frames are picked up this late.
IDLE_POLL_S = 1.0


def frame_message(captured_ns: int, jpeg: bytes) -> bytes:
    """The binary message for one frame: capture time, then the JPEG."""
    return HEADER.pack(captured_ns) + jpeg


@dataclass(frozen=True)
class Frame:
    entry: bytes  # the Redis stream entry id, increasing
    seq: int  # frames this feed has published before this one
    captured_ns: int
    jpeg: bytes


@dataclass(frozen=True)
class CameraInfo:
    org: uuid.UUID
    fps: float


class CameraFeed:
    """The newest frame of one camera, polled from Redis while someone watches it."""

    def __init__(self, redis: Redis, camera: uuid.UUID, fps: float) -> None:
        self.redis = redis
        self.camera = camera
        self.key = camera_frames_key(camera)
        self.interval = 1.0 / fps
        self.frame: Frame | None = None
        self.published = 0
        self.watchers = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll(), name=f"frames-{self.camera}")
        FEEDS.inc()

    async def stop(self) -> None:
        if self._task is None:
            return
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        FEEDS.dec()

    async def newer_than(self, entry: bytes | None) -> Frame:
        """The newest frame once it is newer than ``entry`` (the last one a watcher sent)."""
        while True:
            frame = self.frame
            if frame is not None and (entry is None or frame.entry != entry):
                return frame
            changed = self._changed
            await changed.wait()

    def _publish(self, frame: Frame) -> None:
        self.frame = frame
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _poll(self) -> None:
        idle = self.interval
        while True:
            try:
                found = await self.redis.xrevrange(self.key, count=1)
            except RedisError:
                log.warning("could not read the camera's recent frames", exc_info=True,
                            extra={"camera": str(self.camera)})
                found = []
                idle = IDLE_POLL_S
            if found:
                entry, fields = found[0]
                if self.frame is None or entry != self.frame.entry:
                    frame = _frame(entry, self.published, fields) \
                        if isinstance(entry, bytes) and isinstance(fields, dict) else None
                    if frame is not None:
                        self.published += 1
                        self._publish(frame)
                    idle = self.interval
                else:  # nothing new: poll less often while the camera is quiet
                    idle = min(IDLE_POLL_S, idle * 1.5)
            else:
                idle = min(IDLE_POLL_S, idle * 1.5)
            await asyncio.sleep(idle)


def _frame(entry: bytes, seq: int, fields: dict[Any, Any]) -> Frame | None:
    jpeg = fields.get(b"jpeg")
    try:
        captured = int(fields.get(b"t", b""))
    except ValueError:
        captured = int(entry.split(b"-", 1)[0]) * 1_000_000  # the entry's own time, in ms
    return Frame(entry, seq, captured, jpeg) if isinstance(jpeg, bytes) and jpeg else None


@dataclass
class FrameFeeds:
    """The feeds being watched, the camera look-up and the Redis client they share."""

    redis: Redis
    pool: AsyncConnectionPool
    max_fps: float
    cache_s: float
    feeds: dict[uuid.UUID, CameraFeed] = field(default_factory=dict)
    watching: int = 0
    _cameras: dict[uuid.UUID, tuple[float, CameraInfo | None]] = field(default_factory=dict)

    async def camera(self, camera: uuid.UUID) -> CameraInfo | None:
        """Its organization and fps, or None when it does not exist (psycopg errors propagate)."""
        now = time.monotonic()
        cached = self._cameras.get(camera)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        async with self.pool.connection() as conn:
            cursor = await conn.execute("SELECT org_id, fps FROM cameras WHERE id = %s", (camera,))
            row = await cursor.fetchone()
        info = CameraInfo(row[0], float(row[1])) if row else None
        if len(self._cameras) > 10_000:
            self._cameras.clear()
        self._cameras[camera] = (now, info)
        return info

    def rate(self, info: CameraInfo, requested: float | None) -> float:
        """Frames per second a watcher gets: the camera's fps, capped by the setting and its own ask."""
        rate = min(info.fps, self.max_fps)
        return min(rate, requested) if requested else rate

    def watch(self, camera: uuid.UUID, info: CameraInfo) -> CameraFeed:
        feed = self.feeds.get(camera)
        if feed is None:
            feed = self.feeds[camera] = CameraFeed(self.redis, camera, min(info.fps, self.max_fps))
            feed.start()
        feed.watchers += 1
        self.watching += 1
        WATCHERS.inc()
        return feed

    async def leave(self, feed: CameraFeed) -> None:
        feed.watchers -= 1
        self.watching -= 1
        WATCHERS.dec()
        if feed.watchers == 0 and self.feeds.get(feed.camera) is feed:
            del self.feeds[feed.camera]
            await feed.stop()

    async def close(self) -> None:
        for feed in list(self.feeds.values()):
            await feed.stop()
        self.feeds.clear()


def parse_fps(value: str | None) -> float | None:
    """The ``fps`` query parameter: a positive number, or None when absent."""
    if value is None or value == "":
        return None
    try:
        fps = float(value)
    except ValueError:
        raise ValueError("fps: expected a number") from None
    if not 0 < fps <= 1000:
        raise ValueError("fps: expected a number above 0")
    return fps
