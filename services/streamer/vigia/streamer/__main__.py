"""``python -m vigia.streamer``: run one streamer replica.

Start-up: logging, settings, kill orphaned FFmpeg, connect (database, Redis, broker with the
topology declared), serve metrics on :9101, consume ``streamer.control``, run the reconcile loop
until SIGTERM/SIGINT; then stop consuming, stop every FFmpeg, release the leases and exit.

Frames go straight to ``vigia.frames`` with publisher confirms: the streamer is a trusted
internal service on the broker network. Going through ingest-frames (HTTP, device token) is meant
for push cameras and remote streamers outside that network; it would add an HTTP hop per frame.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher, Consumer, declare_topology
from vigia.common.broker.topology import STREAMER_CONTROL
from vigia.common.db import database_ready, make_engine
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.streamer.ffmpeg import kill_orphans
from vigia.streamer.service import FramePublisher, Streamer
from vigia.streamer.settings import StreamerSettings

log = logging.getLogger("vigia.streamer")
DEFAULT_METRICS_PORT = 9101


async def main() -> None:
    settings = StreamerSettings()
    configure_logging(settings.log_level, settings.log_json)
    kill_orphans()

    engine = make_engine(settings.database_url, pool_size=2, application_name="vigia-streamer")
    redis = Redis.from_url(settings.redis_url)
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, declare=True,
                               connection_name=f"streamer:{settings.replica_id}")
    await publisher.connect()
    health.add("database", lambda: database_ready(engine))

    sink = FramePublisher(publisher, redis, f"{settings.service_name}:{settings.replica_id}",
                          settings.heartbeat_ttl_s)
    streamer = Streamer(settings, engine, redis, sink)
    consumer = Consumer(settings.amqp_url, STREAMER_CONTROL, streamer.handle_control, settings=settings,
                        setup=lambda channel: declare_topology(channel, settings),
                        connection_name=f"streamer-control:{settings.replica_id}")
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    serve_metrics(metrics_port)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    await consumer.start()
    reconcile = asyncio.create_task(streamer.run(), name="reconcile")
    log.info("streamer ready: replica %s, metrics on :%d", settings.replica_id, metrics_port,
             extra={"replica": settings.replica_id, "lease_ms": settings.lease_ms, "metrics_port": metrics_port})
    await asyncio.wait([reconcile, asyncio.create_task(stopping.wait())], return_when=asyncio.FIRST_COMPLETED)

    log.info("streamer stopping")
    await consumer.shutdown()
    streamer.stop()
    await reconcile
    await publisher.close()
    await redis.aclose()
    engine.dispose()
    log.info("streamer stopped")


if __name__ == "__main__":
    asyncio.run(main())
