"""The resources one gateway process holds, opened at start-up and drained and closed at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Protocol

import anyio.to_thread
from redis.asyncio import Redis
from sqlalchemy import Engine

from vigia.common.db import database_ready, make_engine
from vigia.ingest_sensors.identity import DeviceAuthenticator
from vigia.ingest_sensors.intake import SensorIntake
from vigia.ingest_sensors.lastseen import LastSeenRecorder
from vigia.ingest_sensors.publishing import SensorPublisher
from vigia.ingest_sensors.ratelimit import DeviceRateLimiter
from vigia.ingest_sensors.session import SessionLimits
from vigia.ingest_sensors.settings import IngestSensorsSettings
from vigia.ingest_sensors.wire import TimeWindow

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 2.0
SERVICE_RESTART = 1012
CLOSE_TIMEOUT_S = 10.0


class Interruptible(Protocol):
    """An open socket the gateway can ask to settle and close (see ``api.ws.SensorSocket``)."""

    def interrupt(self, code: int) -> None: ...


@dataclass
class Gateway:
    """Database, Redis and broker handles, the caches built on them, and the open sockets."""

    settings: IngestSensorsSettings
    engine: Engine
    redis: Redis
    devices: DeviceAuthenticator
    limiter: DeviceRateLimiter
    publisher: SensorPublisher
    last_seen: LastSeenRecorder
    intake: SensorIntake
    window: TimeWindow
    limits: SessionLimits
    sockets: set[Interruptible] = field(default_factory=set)
    draining: bool = False
    _drain_deadline: float | None = None  # loop time by which the drain gives up, set by the first call
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _sockets_gone: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def open(cls, settings: IngestSensorsSettings) -> Gateway:
        """Create the handles and start connecting to the broker (in the background)."""
        engine = make_engine(settings.database_url, pool_size=4, application_name=settings.service_name)
        redis = Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        publisher = SensorPublisher(settings)
        last_seen = LastSeenRecorder(redis, settings.sensors_last_seen_flush_s)
        gateway = cls(
            settings=settings, engine=engine, redis=redis,
            devices=DeviceAuthenticator(engine, settings.sensors_device_cache_s),
            limiter=DeviceRateLimiter(settings.sensors_rate_limit, settings.sensors_rate_burst_s),
            publisher=publisher, last_seen=last_seen,
            intake=SensorIntake(publisher, last_seen, settings.sensors_batch_max_packets),
            window=TimeWindow.of_seconds(settings.sensors_max_past_s, settings.sensors_max_future_s),
            limits=SessionLimits(max_frame_bytes=settings.sensors_max_frame_bytes,
                                 max_batch=settings.sensors_batch_max_packets,
                                 linger_s=settings.sensors_batch_linger_ms / 1000,
                                 inflight=settings.sensors_inflight_batches))
        publisher.start()
        gateway._tasks.append(asyncio.create_task(gateway._housekeeping(), name="sensor-housekeeping"))
        gateway._tasks.append(asyncio.create_task(gateway._announce_ready(), name="ready-line"))
        return gateway

    async def _announce_ready(self) -> None:
        """One line once the broker connection is up: from then on packets are accepted."""
        await self.publisher.connected.wait()
        s = self.settings
        log.info("ingest-sensors ready on :%d, publishing to vigia.sensors (%d shards)", s.ingest_sensors_port,
                 s.sensor_shards, extra={"port": s.ingest_sensors_port, "sensor_shards": s.sensor_shards})

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sensors_last_seen_flush_s)
            await self.last_seen.flush()
            self.limiter.prune()

    def opened(self, socket: Interruptible) -> None:
        self.sockets.add(socket)
        self._sockets_gone.clear()

    def closed(self, socket: Interruptible) -> None:
        self.sockets.discard(socket)
        if not self.sockets:
            self._sockets_gone.set()

    async def drain(self, grace_s: float) -> None:
        """SIGTERM: every socket publishes what it holds, waits for the confirms, sends its last ack
        and closes with 1012 (service restart); returns when all are closed or ``grace_s`` passed.

        The grace is one budget for the whole shutdown: a second call (the lifespan's, after the
        server's) waits only for what is left of the first call's, so a socket stuck in a send
        cannot make the process outlive its orchestrator's stop timeout."""
        self.draining = True
        loop = asyncio.get_running_loop()
        if self._drain_deadline is None:
            self._drain_deadline = loop.time() + grace_s
            for socket in list(self.sockets):
                socket.interrupt(SERVICE_RESTART)
            if self.sockets:
                log.info("draining sensor sockets", extra={"sockets": len(self.sockets)})
        if not self.sockets:
            return
        try:
            async with asyncio.timeout_at(self._drain_deadline):
                await self._sockets_gone.wait()
        except TimeoutError:
            log.warning("sockets still open after the drain timeout", extra={"sockets": len(self.sockets)})

    def drain_left(self) -> float:
        """Seconds left of the drain's budget (the whole budget before a drain started)."""
        if self._drain_deadline is None:
            return self.settings.shutdown_grace_s
        return max(0.0, self._drain_deadline - asyncio.get_running_loop().time())

    async def readiness(self) -> dict[str, bool]:
        """Whether the broker, Redis and the database answer now."""

        async def redis_ok() -> bool:
            return bool(await self.redis.ping())

        async def database_ok() -> bool:
            return await anyio.to_thread.run_sync(database_ready, self.engine)

        async def bounded(check: asyncio.Task[bool]) -> bool:
            try:
                async with asyncio.timeout(READY_TIMEOUT_S):
                    return await check
            except Exception as exc:
                log.warning("readiness check failed", extra={"error": str(exc)})
                return False

        redis_result, db_result = await asyncio.gather(
            bounded(asyncio.ensure_future(redis_ok())), bounded(asyncio.ensure_future(database_ok())))
        return {"broker": self.publisher.ready and not self.draining, "redis": redis_result,
                "database": db_result}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.last_seen.flush()
                await self.publisher.close()
        except TimeoutError:  # a broker or Redis that stopped answering must not hold the exit
            log.warning("closing the broker connection timed out", extra={"seconds": CLOSE_TIMEOUT_S})
        await self.redis.aclose()
        self.engine.dispose()
