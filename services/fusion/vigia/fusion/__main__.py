"""``python -m vigia.fusion``: run one fusion worker; metrics and health on :9104.

Start-up: logging, settings, the telemetry writer (PostgreSQL), Redis, one broker connection
(topology declared), the anomaly publisher, one consumer per shard queue fusion.sensors.<n>
(single active consumer: with several replicas each shard has one active worker, the others wait
as standbys), metrics/health, then wait for SIGTERM: stop consuming, finish and ack the messages in
flight (their rows committed), close.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher, connect, declare_topology, sensor_shard_queue
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.fusion.audio_stream import AudioStreams
from vigia.fusion.batcher import TelemetryBatcher
from vigia.fusion.config import DEFAULT_METRICS_PORT, FusionSettings
from vigia.fusion.consumer import SensorConsumer
from vigia.fusion.service import FusionService
from vigia.fusion.state import DeviceStates
from vigia.fusion.telemetry import TelemetryWriter

log = logging.getLogger("vigia.fusion")


def shards_of(settings: FusionSettings) -> list[int]:
    """The shard numbers this replica consumes (all of them unless VIGIA_FUSION_SHARDS says)."""
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
    shards = shards_of(settings)
    consumers = [
        SensorConsumer(settings.amqp_url, sensor_shard_queue(shard), service.handle,
                       prefetch=settings.fusion_prefetch, settings=settings, connection=connection,
                       setup=(lambda channel: declare_topology(channel, settings)) if i == 0 else None,
                       connection_name=f"fusion:{instance}")
        for i, shard in enumerate(shards)
    ]
    health.add("database", batcher.ping)
    health.add("broker", lambda: not connection.is_closed and connection.connected.is_set())
    server = serve_metrics(settings.metrics_port or DEFAULT_METRICS_PORT)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    batcher.start()
    for consumer in consumers:
        await consumer.start()
    log.info("fusion running", extra={"instance": instance, "shards": shards, "telemetry": storage,
                                      "prefetch": settings.fusion_prefetch})
    await stopping.wait()

    log.info("fusion stopping")
    # In-flight handlers finish (rows committed, anomalies confirmed, acked) within the grace period.
    await asyncio.gather(*(consumer.shutdown() for consumer in consumers))
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
