"""``python -m vigia.fusion``: run one fusion worker; metrics and health on :9104.

Start-up: logging, settings, the telemetry writer (PostgreSQL), Redis, one broker connection
(topology declared), the anomaly publisher, metrics/health, then the shard queues
fusion.sensors.<n>: replicas share them through Redis leases, each consuming its fair share
(:mod:`vigia.common.shards`; single active consumer on the queues keeps a shard to one worker even
while Redis is away). On SIGTERM: stop consuming, finish and ack the messages in flight (their rows
committed), hand the shards over, close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher, connect, declare_topology, sensor_shard_queue
from vigia.common.broker.management import vhost_of
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.shards import ShardedConsumers
from vigia.fusion.audio_stream import AudioStreams
from vigia.fusion.batcher import TelemetryBatcher
from vigia.fusion.config import DEFAULT_METRICS_PORT, FusionSettings
from vigia.fusion.consumer import SensorConsumer
from vigia.fusion.service import FusionService
from vigia.fusion.state import DeviceStates
from vigia.fusion.telemetry import TelemetryWriter

log = logging.getLogger("vigia.fusion")


def shards_of(settings: FusionSettings) -> list[int]:
    """The shard numbers this replica may take (all of them unless VIGIA_FUSION_SHARDS says)."""
    if not settings.fusion_shards.strip():
        return list(range(settings.sensor_shards))
    shards = sorted({int(part) for part in settings.fusion_shards.split(",") if part.strip()})
    bad = [s for s in shards if not 0 <= s < settings.sensor_shards]
    if bad:
        raise ValueError(f"VIGIA_FUSION_SHARDS names shards {bad} outside 0..{settings.sensor_shards - 1}")
    return shards


async def run(settings: FusionSettings) -> None:
    instance = settings.fusion_instance or f"{socket.gethostname()}-{os.getpid()}"
    writer = TelemetryWriter(settings.database_url, application_name="vigia-fusion")
    batcher = TelemetryBatcher(writer, batch_rows=settings.fusion_batch_rows,
                               linger_s=settings.fusion_batch_linger_ms / 1000,
                               retry_max_s=settings.fusion_db_retry_max_s)
    try:
        storage = await asyncio.to_thread(writer.storage)
        batcher.database_up = True
    except Exception as exc:  # the batcher retries until PostgreSQL answers
        storage = "unknown"
        log.warning("PostgreSQL not reachable at start-up", extra={"error": str(exc)[:300]})
    redis = Redis.from_url(settings.redis_url)
    connection = await connect(settings.amqp_url, name=f"fusion:{instance}")
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, declare=True, connection=connection)
    await publisher.connect()

    service = FusionService(DeviceStates(settings), batcher,
                            AudioStreams(redis, settings.fusion_audio_stream_maxlen), publisher.publish,
                            source=settings.service_name if settings.service_name != "vigia" else "fusion")
    channel = await connection.channel()
    await declare_topology(channel, settings)
    await channel.close()

    def consumer_for(shard: int) -> SensorConsumer:
        return SensorConsumer(settings.amqp_url, sensor_shard_queue(shard), service.handle,
                              prefetch=settings.fusion_prefetch, settings=settings, connection=connection,
                              connection_name=f"fusion:{instance}")

    sharded = ShardedConsumers(redis, "fusion", settings.sensor_shards, instance, consumer_for,
                               vhost=vhost_of(settings.amqp_url), lease_ms=settings.shard_lease_ms,
                               candidates=shards_of(settings))
    health.add("database", batcher.ping)
    health.add("broker", lambda: not connection.is_closed and connection.connected.is_set())
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    batcher.start()
    log.info("fusion ready: %d sensor shards, telemetry=%s, metrics on :%d", settings.sensor_shards, storage,
             metrics_port, extra={"instance": instance, "candidates": sharded.candidates, "telemetry": storage,
                                  "prefetch": settings.fusion_prefetch, "metrics_port": metrics_port})
    # Until SIGTERM; then in-flight handlers finish (rows committed, anomalies confirmed, acked)
    # within the grace period and the shards are handed over.
    await sharded.run(stopping)
    log.info("fusion stopped consuming")
    await batcher.close()
    await publisher.close()
    await connection.close()
    await redis.aclose()
    server.shutdown()
    log.info("fusion stopped")


def main() -> None:
    settings = FusionSettings()
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
