"""The resources one gateway process holds, opened at start-up and closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import anyio.to_thread
from redis.asyncio import Redis
from sqlalchemy import Engine

from vigia.common.broker.management import vhost_of
from vigia.common.broker.topology import frame_shard_queues
from vigia.common.db import database_ready, make_engine
from vigia.ingest_frames.drops import FrameDropMeter
from vigia.ingest_frames.heartbeat import CameraHeartbeat
from vigia.ingest_frames.identity import CameraDirectory, DeviceAuthenticator
from vigia.ingest_frames.publishing import FramePublisher
from vigia.ingest_frames.ratelimit import CameraRateLimiter
from vigia.ingest_frames.settings import IngestFramesSettings

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 2.0


@dataclass
class Gateway:
    """Database, Redis and broker handles plus the caches built on them."""

    settings: IngestFramesSettings
    engine: Engine
    redis: Redis
    devices: DeviceAuthenticator
    cameras: CameraDirectory
    limiter: CameraRateLimiter
    publisher: FramePublisher
    drop_meter: FrameDropMeter | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def open(cls, settings: IngestFramesSettings) -> Gateway:
        """Create the handles and start connecting to the broker (in the background)."""
        engine = make_engine(settings.database_url, pool_size=4, application_name=settings.service_name)
        redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        publisher = FramePublisher(settings, CameraHeartbeat(redis))
        gateway = cls(settings=settings, engine=engine, redis=redis,
                      devices=DeviceAuthenticator(engine, settings.device_cache_s),
                      cameras=CameraDirectory(engine, settings.camera_cache_s),
                      limiter=CameraRateLimiter(redis, settings.frame_rate_limit),
                      publisher=publisher)
        publisher.start()
        if settings.frame_drop_poll_s > 0:
            gateway.drop_meter = FrameDropMeter(settings.amqp_management_url, vhost_of(settings.amqp_url),
                                                frame_shard_queues(settings))
            gateway._tasks.append(asyncio.create_task(gateway.drop_meter.run(settings.frame_drop_poll_s),
                                                      name="frame-drop-meter"))
        gateway._tasks.append(asyncio.create_task(gateway._announce_ready(), name="ready-line"))
        return gateway

    async def _announce_ready(self) -> None:
        """One line once the broker connection is up: from then on frames are accepted."""
        await self.publisher.connected.wait()
        s = self.settings
        log.info("ingest-frames ready on :%d, publishing to vigia.frames (%d shards)", s.ingest_frames_port,
                 s.frame_shards, extra={"port": s.ingest_frames_port, "frame_shards": s.frame_shards,
                                        "drop_poll_s": s.frame_drop_poll_s})

    async def readiness(self) -> dict[str, bool]:
        """Whether the broker, Redis and the database answer now."""

        async def redis_ok() -> bool:
            return bool(await self.redis.ping())

        async def database_ok() -> bool:
            return await anyio.to_thread.run_sync(database_ready, self.engine)

        async def bounded(check: asyncio.Future[bool] | asyncio.Task[bool]) -> bool:
            try:
                async with asyncio.timeout(READY_TIMEOUT_S):
                    return await check
            except Exception as exc:
                log.warning("readiness check failed", extra={"error": str(exc)})
                return False

        redis_result, db_result = await asyncio.gather(
            bounded(asyncio.ensure_future(redis_ok())), bounded(asyncio.ensure_future(database_ok())))
        return {"broker": self.publisher.ready, "redis": redis_result, "database": db_result}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.drop_meter is not None:
            self.drop_meter.close()
        await self.publisher.close()
        await self.redis.aclose()
        self.engine.dispose()
