"""The correlator process: correlated events and their evidence; metrics and health on :9105.

Start-up: configure logging, read settings, connect to PostgreSQL, Redis, the object store and the
broker (declaring the topology), load the site assignments, restore open incidents from Redis,
consume ``correlator.control`` and ``correlator.in`` (a signal meeting Redis or the database down is
retried in place, not dead-lettered), then tick (close quiet incidents, build due
evidence) until SIGTERM, which stops consuming, lets in-flight messages finish and closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import InterfaceError, OperationalError

from vigia.common.broker import AsyncPublisher, Consumer, connect
from vigia.common.broker.topology import CORRELATOR_CONTROL, CORRELATOR_IN, declare_topology
from vigia.common.db import database_ready, make_engine
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.correlator.config import DEFAULT_METRICS_PORT, CorrelatorSettings
from vigia.correlator.evidence import EvidenceBuilder, run_due_jobs
from vigia.correlator.false_alarms import ActiveModels, FalseAlarmScorer
from vigia.correlator.service import Correlator, default_config
from vigia.correlator.sites import SiteDirectory
from vigia.correlator.state import StateStore

log = logging.getLogger("vigia.correlator")

# Errors meaning a store the correlator keeps its state in or reads its sites from is down.
DEPENDENCY_DOWN = (RedisConnectionError, RedisTimeoutError, OperationalError, InterfaceError)


async def run(settings: CorrelatorSettings, stopping: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until ``stopping`` is set, when given: tests run it in-process)."""
    engine = make_engine(settings.database_url, pool_size=3, application_name="vigia-correlator")
    redis = Redis.from_url(settings.redis_url)
    store = open_store(settings.object_store, settings)
    await asyncio.to_thread(ensure_default_buckets, store)
    connection = await connect(settings.amqp_url, name="correlator")
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, declare=True, connection=connection)
    await publisher.connect()

    directory = SiteDirectory(engine, default_config(settings), settings.org_config_ttl_s)
    await asyncio.to_thread(directory.load)
    state = StateStore(redis, settings.correlator_redis_prefix)
    builder = EvidenceBuilder(store, redis, engine, margin_s=settings.evidence_margin_s,
                              max_frames=settings.evidence_max_frames, ffmpeg=settings.evidence_ffmpeg_path,
                              ffmpeg_timeout_s=settings.evidence_ffmpeg_timeout_s)
    scorer = FalseAlarmScorer(ActiveModels(engine, store, settings.false_alarm_model_ttl_s), builder)
    correlator = Correlator(directory, state, publisher, settings, source=settings.service_name
                            if settings.service_name != "vigia" else "correlator", scorer=scorer)
    await correlator.restore()

    async def setup(channel: object) -> None:
        await declare_topology(channel, settings)

    # Control first: placements are current before the first signal is judged.
    # Redis or the database away (restarting) is no fault of a signal: it is held and retried, not
    # spent against the delivery limit and dead-lettered.
    consumers = [Consumer(settings.amqp_url, queue, handler, settings=settings, setup=setup,
                          connection=connection, unavailable=DEPENDENCY_DOWN)
                 for queue, handler in ((CORRELATOR_CONTROL, correlator.handle_control),
                                        (CORRELATOR_IN, correlator.handle_signal))]
    health.add("database", lambda: database_ready(engine))
    health.add("broker", lambda: not connection.is_closed)
    health.add("object_store", store.ping)
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)

    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    for consumer in consumers:
        await consumer.start()
    evidence_task = asyncio.create_task(_evidence_loop(builder, state, settings, stopping, correlator))
    devices, cameras = len(directory.devices), len(directory.cameras)
    log.info("correlator ready: %d devices and %d cameras placed, metrics on :%d", devices, cameras, metrics_port,
             extra={"devices": devices, "cameras": cameras, "metrics_port": metrics_port})
    try:
        while not stopping.is_set():
            try:
                await correlator.tick()
            except Exception:
                log.exception("closing quiet incidents failed; retrying next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), settings.correlator_tick_s)
    finally:
        for consumer in reversed(consumers):
            await consumer.shutdown()
        evidence_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await evidence_task
        server.shutdown()
        await publisher.close()
        await connection.close()
        await redis.aclose()
        engine.dispose()
        log.info("correlator stopped")


async def _evidence_loop(builder: EvidenceBuilder, state: StateStore, settings: CorrelatorSettings,
                         stopping: asyncio.Event, correlator: Correlator) -> None:
    """Build due evidence bundles, one job at a time, off the signal path; score each event again
    from its bundle."""
    while not stopping.is_set():
        try:
            await run_due_jobs(builder, state, settings.evidence_retry_s, after=correlator.score_evidence)
        except Exception:
            log.exception("evidence loop failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), max(settings.correlator_tick_s, 0.5))


def main() -> None:
    settings = CorrelatorSettings()
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run(settings))
