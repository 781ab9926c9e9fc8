"""Start-up of the automation runtime, as a short sequence: settings, broker connection (topology
declared), publisher, shard workers under Redis leases, metrics and readiness, then run until
SIGTERM, which stops taking messages, finishes each shard's batch in flight (published,
committed, acknowledged), hands the shards over and closes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Iterable

from redis.asyncio import Redis

from vigia.automation.repository import Repository
from vigia.automation.settings import DEFAULT_METRICS_PORT, AutomationSettings
from vigia.automation.shard import ShardWorker
from vigia.common.broker import AsyncPublisher, BatchPublishError, UnroutableError, connect, declare_topology
from vigia.common.broker.management import vhost_of
from vigia.common.broker.topology import FEED_ONLY_TYPES, automation_shard_queue
from vigia.common.messages import Envelope, make
from vigia.common.observability import health, serve_metrics
from vigia.common.shards import ShardedConsumers

log = logging.getLogger("vigia.automation")


def candidate_shards(settings: AutomationSettings) -> list[int]:
    """The shards this replica may take (all unless VIGIA_AUTOMATION_CANDIDATE_SHARDS says)."""
    text = settings.automation_candidate_shards.strip()
    if not text:
        return list(range(settings.automation_shards))
    shards = sorted({int(part) for part in text.split(",") if part.strip()})
    bad = [s for s in shards if not 0 <= s < settings.automation_shards]
    if bad:
        raise ValueError(f"VIGIA_AUTOMATION_CANDIDATE_SHARDS names shards {bad} outside "
                         f"0..{settings.automation_shards - 1}")
    return shards


async def run(settings: AutomationSettings, stopping: asyncio.Event | None = None) -> None:
    instance = settings.automation_instance or f"{socket.gethostname()}-{os.getpid()}"
    stopping = stopping or asyncio.Event()
    redis = Redis.from_url(settings.redis_url)
    connection = await connect(settings.amqp_url, name=f"automation:{instance}")
    channel = await connection.channel()
    await declare_topology(channel, settings)
    await channel.close()
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, connection=connection)
    await publisher.connect()
    probe_repository = Repository(settings.database_url, runs_kept=settings.automation_runs_kept)
    # One connection the probes of shards taken together and the database watch share: the
    # repository makes them take turns on it.

    async def publish(envelopes: Iterable[Envelope]) -> None:
        """Emissions must be routed and confirmed; a ``pipeline.status`` nobody listens to (no live
        instance bound: FEED_ONLY_TYPES) is dropped rather than failing the batch."""
        statuses: list[Envelope] = []
        others: list[Envelope] = []
        for envelope in envelopes:
            (statuses if envelope.type in FEED_ONLY_TYPES else others).append(envelope)
        await asyncio.gather(publisher.publish_many(others), _statuses(statuses))

    async def _statuses(envelopes: list[Envelope]) -> None:
        try:
            await publisher.publish_many(envelopes)
        except BatchPublishError as exc:
            if not all(isinstance(error, UnroutableError) for _, error in exc.failures):
                raise

    async def probe() -> None:
        """Ask, for every organization with running pipelines, whoever holds its shard to load it."""
        try:
            orgs = await probe_repository.organizations_running()
            await publisher.publish_many(make("automation.probe", org, "automation", {"reason": "shard_taken"})
                                         for org in orgs)
        except Exception as exc:  # the next message of each organization loads it anyway
            log.warning("could not probe the organizations", extra={"error": str(exc)[:300]})

    def worker(shard: int) -> ShardWorker:
        return ShardWorker(
            shard, automation_shard_queue(shard), connection,
            Repository(settings.database_url, runs_kept=settings.automation_runs_kept), publish,
            prefetch=settings.automation_prefetch, batch=settings.automation_batch, tick_s=settings.automation_tick_s,
            quiet_runs=settings.automation_quiet_runs_per_batch,
            fired_runs=settings.automation_fired_runs_per_batch, runs_kept=settings.automation_runs_kept,
            org_refresh_s=settings.automation_org_refresh_s, db_retry_max_s=settings.automation_db_retry_max_s,
            grace_s=settings.shutdown_grace_s, linger_s=settings.automation_linger_ms / 1000, probe=probe)

    sharded = ShardedConsumers(redis, "automation", settings.automation_shards, instance, worker,
                               vhost=vhost_of(settings.amqp_url), lease_ms=settings.shard_lease_ms,
                               candidates=candidate_shards(settings))
    database_up = {"ok": False}

    async def watch_database() -> None:
        while not stopping.is_set():
            try:
                database_up["ok"] = await probe_repository.ping()
            except Exception:
                database_up["ok"] = False
            await asyncio.sleep(5)

    health.add("database", lambda: database_up["ok"])
    health.add("broker", lambda: not connection.is_closed and connection.connected.is_set())
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    watcher = asyncio.create_task(watch_database(), name="automation-database-ping")
    log.info("automation ready: %d shards, metrics on :%d", settings.automation_shards, metrics_port,
             extra={"instance": instance, "candidates": sharded.candidates, "metrics_port": metrics_port})
    try:
        await sharded.run(stopping)  # until SIGTERM; then each shard's batch in flight finishes
    finally:
        watcher.cancel()
        await publisher.close()
        await connection.close()
        await probe_repository.close()
        await redis.aclose()
        server.shutdown()
        log.info("automation stopped")
