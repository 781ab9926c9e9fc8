"""``python -m vigia.watchdog``: restarts frozen cameras, flags silent devices, runs the janitor jobs
(retention, each organization's retention of passages, snapshots, evidence bundles and notification
deliveries, object lifecycle, DLQ depth, stale leases); metrics and health on :9103.

Start-up: configure logging, read settings, connect to PostgreSQL, Redis and the broker (declaring
the topology), serve metrics/health, then tick the periodic checks under the leader lease until
SIGTERM, which finishes the current tick, releases the lease and closes the connections.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from redis.asyncio import Redis

from vigia.common.broker import AsyncPublisher
from vigia.common.broker.management import management_client, vhost_of
from vigia.common.db import database_ready, make_engine
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.storage import FileStore, open_store
from vigia.watchdog.cameras import CameraFreshness
from vigia.watchdog.checks import PeriodicCheck, Watchdog
from vigia.watchdog.config import DEFAULT_METRICS_PORT, WatchdogSettings
from vigia.watchdog.devices import DeviceHealth
from vigia.watchdog.janitor import (
    DeadLetterDepth,
    ObjectLifecycle,
    OrganizationRetention,
    RetainedTable,
    Retention,
    StaleLeases,
)
from vigia.watchdog.lease import LeaderLease, default_holder

log = logging.getLogger("vigia.watchdog")


def retained_tables(settings: WatchdogSettings) -> list[RetainedTable]:
    return [RetainedTable("detections", timedelta(days=settings.retention_detections_days)),
            RetainedTable("events", timedelta(days=settings.retention_events_days)),
            RetainedTable("anomalies", timedelta(days=settings.retention_anomalies_days)),
            RetainedTable("telemetry", timedelta(days=settings.retention_telemetry_days)),
            RetainedTable("device_status_changes", timedelta(days=settings.retention_device_status_days)),
            RetainedTable("forecasts", timedelta(days=settings.retention_forecasts_days), time_column="made_at"),
            RetainedTable("outbox", settings.outbox_retention, time_column="published_at")]


async def run(settings: WatchdogSettings) -> None:
    engine = make_engine(settings.database_url, pool_size=2, application_name="vigia-watchdog")
    redis = Redis.from_url(settings.redis_url)
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, declare=True,
                               connection_name="watchdog")
    await publisher.connect()
    health.add("database", lambda: database_ready(engine))
    health.add("broker", lambda: publisher._connection is not None and not publisher._connection.is_closed)
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)
    management = management_client(settings.amqp_management_url)

    checks: list[PeriodicCheck] = [
        CameraFreshness(engine, redis, publisher, interval=settings.camera_check_s,
                        stale_seconds=settings.camera_stale_seconds,
                        cooldown_seconds=settings.camera_restart_cooldown_s,
                        cooldown_max_seconds=settings.camera_restart_cooldown_max_s),
        DeviceHealth(engine, redis, publisher, interval=settings.device_check_s,
                     refresh_seconds=settings.device_refresh_s, flush_seconds=settings.device_flush_s,
                     min_interval_s=settings.device_min_interval_s),
        Retention(engine, retained_tables(settings), interval=settings.janitor_retention_s,
                  batch_size=settings.janitor_batch_size),
        DeadLetterDepth(management, vhost_of(settings.amqp_url), interval=settings.janitor_dlq_s),
        StaleLeases(redis, interval=settings.janitor_leases_s, grace_seconds=settings.janitor_lease_grace_s),
    ]
    store = open_store(settings.object_store, settings)
    checks.append(OrganizationRetention(engine, store, default_passages_days=settings.retention_passages_days,
                                        default_notifications_days=settings.retention_notifications_days,
                                        default_evidence_days=settings.retention_evidence_days,
                                        interval=settings.janitor_retention_s, batch_size=settings.janitor_batch_size))
    if isinstance(store, FileStore):  # S3 buckets carry their own lifecycle rule: the server expires them
        checks.append(ObjectLifecycle(store, interval=settings.janitor_objects_s))
    lease = LeaderLease(redis, settings.watchdog_instance or default_holder(), settings.watchdog_lease_s)
    watchdog = Watchdog(checks, lease, settings.watchdog_tick_s)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, watchdog.stop)
    log.info("watchdog ready: %d checks, metrics on :%d", len(checks), metrics_port,
             extra={"holder": lease.holder, "checks": [c.name for c in checks], "metrics_port": metrics_port})
    try:
        await watchdog.run()
    finally:
        server.shutdown()
        await publisher.close()
        await management.aclose()
        await redis.aclose()
        engine.dispose()
        log.info("watchdog stopped")


def main() -> None:
    settings = WatchdogSettings()
    configure_logging(settings.log_level, settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
