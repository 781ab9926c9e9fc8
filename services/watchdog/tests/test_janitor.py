"""Janitor jobs against the real stores: retention on PostgreSQL (time series and the published
outbox), the filesystem object store's lifecycle on real files, DLQ depth from RabbitMQ's
management API, stale camera leases in Redis, and the janitor jobs run by the watchdog process."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import aio_pika
import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import Engine, delete, func, insert, select

from tests.support.processes import free_port
from vigia.common.broker.management import management_client, vhost_of
from vigia.common.db import detections, events, forecasts, outbox, telemetry
from vigia.common.storage import FileStore
from vigia.watchdog.janitor import (
    REPLICAS_KEY,
    DeadLetterDepth,
    ObjectLifecycle,
    RetainedTable,
    Retention,
    StaleLeases,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _sample(name: str, labels: dict[str, str]) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
def timeseries(engine: Engine, org: uuid.UUID) -> Engine:
    with engine.begin() as conn:
        for table in (detections, events, telemetry):
            conn.execute(delete(table))
    return engine


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_retention_deletes_only_rows_older_than_each_tables_retention_in_batches(
        timeseries: Engine, org: uuid.UUID) -> None:
    camera, device = uuid.uuid4(), uuid.uuid4()
    with timeseries.begin() as conn:
        conn.execute(insert(detections), [
            {"id": uuid.uuid4(), "org_id": org, "camera_id": camera, "time": NOW - timedelta(days=age, hours=1),
             "label": "car", "confidence": 0.9, "box": {}, "received_at": NOW}
            for age in [1] * 3 + [31] * 7])  # 7 older than 30 days
        conn.execute(insert(telemetry), [
            {"org_id": org, "device_id": device, "time": NOW - timedelta(days=age, seconds=i), "seq": i,
             "humanoid": False}
            for i, age in enumerate([0] * 4 + [10] * 5)])  # 5 older than 7 days
        conn.execute(insert(events), [
            {"id": uuid.uuid4(), "org_id": org, "time": NOW - timedelta(days=age), "event_type": "x",
             "severity": "low", "score": 0.1, "sources": [], "description": "", "status": "open",
             "classification": "unknown", "notes": "", "updated_at": NOW}
            for age in (1, 200, 400)])  # 1 older than 365 days
    before = _sample("watchdog_retention_deleted_rows_total", {"table": "detections"}) or 0.0
    janitor = Retention(timeseries, [RetainedTable("detections", timedelta(days=30)),
                                     RetainedTable("telemetry", timedelta(days=7)),
                                     RetainedTable("events", timedelta(days=365))],
                        interval=60, batch_size=2, clock=lambda: NOW)

    report = janitor.run_sync()

    assert report == {"detections": 7, "telemetry": 5, "events": 1}
    assert (_count(timeseries, detections), _count(timeseries, telemetry), _count(timeseries, events)) == (3, 4, 2)
    assert _sample("watchdog_retention_deleted_rows_total", {"table": "detections"}) == before + 7
    assert janitor.run_sync() == {"detections": 0, "telemetry": 0, "events": 0}


def test_retention_stops_after_max_batches_and_finishes_on_the_next_run(timeseries: Engine, org: uuid.UUID) -> None:
    with timeseries.begin() as conn:
        conn.execute(insert(detections), [
            {"id": uuid.uuid4(), "org_id": org, "camera_id": uuid.uuid4(), "time": NOW - timedelta(days=40),
             "label": "car", "confidence": 0.5, "box": {}, "received_at": NOW} for _ in range(5)])
    janitor = Retention(timeseries, [RetainedTable("detections", timedelta(days=30))], interval=60, batch_size=2,
                        max_batches=2, clock=lambda: NOW)
    assert janitor.run_sync() == {"detections": 4}
    assert janitor.run_sync() == {"detections": 1}


# --- the published outbox ---------------------------------------------------------------------------


def _outbox_row(org: uuid.UUID, created: datetime, published: datetime | None) -> dict[str, object]:
    return {"id": uuid.uuid4(), "org_id": org, "type": "camera.updated", "exchange": "vigia.control",
            "routing_key": "camera.updated", "body": b"{}", "created_at": created, "published_at": published,
            "attempts": 0 if published is None else 1, "last_error": ""}


@pytest.fixture
def outbox_rows(engine: Engine, org: uuid.UUID) -> dict[str, uuid.UUID]:
    """Published 8 days ago (expired), published 1 day ago (young), created 30 days ago and still
    unpublished (the relay has not got it out yet: never deleted)."""
    now = datetime.now(UTC)
    rows = {"old": _outbox_row(org, now - timedelta(days=8, hours=1), now - timedelta(days=8)),
            "young": _outbox_row(org, now - timedelta(days=1, hours=1), now - timedelta(days=1)),
            "pending": _outbox_row(org, now - timedelta(days=30), None)}
    with engine.begin() as conn:
        conn.execute(delete(outbox))
        conn.execute(insert(outbox), list(rows.values()))
    return {name: row["id"] for name, row in rows.items()}  # type: ignore[misc]


def _outbox_ids(engine: Engine) -> set[uuid.UUID]:
    with engine.connect() as conn:
        return set(conn.execute(select(outbox.c.id)).scalars())


def test_retention_prunes_published_outbox_rows_and_keeps_young_and_unpublished_ones(
        engine: Engine, outbox_rows: dict[str, uuid.UUID]) -> None:
    more = [_outbox_row(uuid.uuid4(), NOW, datetime.now(UTC) - timedelta(days=9)) for _ in range(3)]
    with engine.begin() as conn:
        conn.execute(insert(outbox), more)
    before = _sample("watchdog_retention_deleted_rows_total", {"table": "outbox"}) or 0.0
    janitor = Retention(engine, [RetainedTable("outbox", timedelta(days=7), time_column="published_at")],
                        interval=60, batch_size=2)

    assert janitor.run_sync() == {"outbox": 4}  # in batches of 2: 2 + 2 + 0

    assert _outbox_ids(engine) == {outbox_rows["young"], outbox_rows["pending"]}
    assert _sample("watchdog_retention_deleted_rows_total", {"table": "outbox"}) == before + 4
    assert janitor.run_sync() == {"outbox": 0}


def test_retention_prunes_forecasts_made_before_their_retention(engine: Engine, org: uuid.UUID) -> None:
    from vigia.watchdog.__main__ import retained_tables
    from vigia.watchdog.config import WatchdogSettings

    [table] = [t for t in retained_tables(WatchdogSettings(retention_forecasts_days=7)) if t.name == "forecasts"]
    assert (table.time_column, table.keep) == ("made_at", timedelta(days=7))
    device, now = uuid.uuid4(), datetime.now(UTC)
    rows = [{"id": uuid.uuid4(), "org_id": org, "device_id": device, "metric": "mag_magnitude",
             "model": "auto_ets", "fallback": None, "made_at": made, "step_s": 60, "history_steps": 512,
             "start": made, "level": 95, "mean": [1.0], "lower": [0.0], "upper": [2.0]}
            for made in (now - timedelta(days=8), now - timedelta(days=1))]
    with engine.begin() as conn:
        conn.execute(insert(forecasts), rows)

    Retention(engine, [table], interval=60, batch_size=100).run_sync()

    with engine.connect() as conn:
        kept = set(conn.execute(select(forecasts.c.id).where(forecasts.c.device_id == device)).scalars())
    assert kept == {rows[1]["id"]}


# --- the object store lifecycle ------------------------------------------------------------------------


def _age(store: FileStore, bucket: str, key: str, days: float) -> None:
    moment = (datetime.now(UTC) - timedelta(days=days)).timestamp()
    os.utime(store.root / bucket / "objects" / key, (moment, moment))


def _snapshots(tmp_path: Path) -> FileStore:
    """A file store as vision leaves it: a 31-day-old snapshot, a 1-day-old one, an old evidence bundle."""
    store = FileStore(f"{tmp_path}/objects", "a-url-secret-of-the-tests-0123456789")
    store.put("snapshots", "org/cam/2026-01-01/old.jpg", b"\xff\xd8 old", content_type="image/jpeg")
    store.put("snapshots", "org/cam/2026-02-01/young.jpg", b"\xff\xd8 young", content_type="image/jpeg")
    store.put("evidence", "org/event/bundle.zip", b"kept until deleted", content_type="application/zip")
    _age(store, "snapshots", "org/cam/2026-01-01/old.jpg", 31)
    _age(store, "snapshots", "org/cam/2026-02-01/young.jpg", 1)
    _age(store, "evidence", "org/event/bundle.zip", 400)
    return store


def _keys(store: FileStore, bucket: str) -> list[str]:
    return [info.key for info in store.list(bucket)]


async def test_object_lifecycle_deletes_snapshots_older_than_30_days_and_keeps_the_rest(tmp_path: Path) -> None:
    store = _snapshots(tmp_path)
    before = _sample("watchdog_expired_objects_total", {}) or 0.0

    await ObjectLifecycle(store, interval=3600).run()

    assert _keys(store, "snapshots") == ["org/cam/2026-02-01/young.jpg"]
    assert _keys(store, "evidence") == ["org/event/bundle.zip"]
    assert store.lifecycle_days("snapshots") == 30  # the rule compose gives MinIO's snapshots bucket
    assert _sample("watchdog_expired_objects_total", {}) == before + 1
    await ObjectLifecycle(store, interval=3600).run()
    assert _sample("watchdog_expired_objects_total", {}) == before + 1


async def test_the_watchdog_process_prunes_the_outbox_and_expires_old_snapshots(
        database_url: str, amqp_url: str, redis: Redis, engine: Engine, outbox_rows: dict[str, uuid.UUID],
        tmp_path: Path) -> None:
    store = _snapshots(tmp_path)
    port = free_port()
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_REDIS_URL": f"redis://127.0.0.1:6379/{redis.connection_pool.connection_kwargs['db']}",
           "VIGIA_METRICS_PORT": str(port), "VIGIA_WATCHDOG_TICK_S": "0.2",
           "VIGIA_OBJECT_STORE": f"file://{store.root}", "VIGIA_OUTBOX_RETENTION": "7d"}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "vigia.watchdog", env=env,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = {name: re.compile(rf"^{name} [1-9]", re.M) for name in (
        "watchdog_retention_last_run_timestamp_seconds", "watchdog_object_lifecycle_last_run_timestamp_seconds")}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(300):
                try:
                    metrics = (await http.get("/metrics")).text
                except httpx.TransportError:
                    metrics = ""
                if all(p.search(metrics) for p in done.values()) or process.returncode is not None:
                    break
                await asyncio.sleep(0.1)
        assert all(p.search(metrics) for p in done.values()), metrics[-2000:]
        assert 'watchdog_retention_deleted_rows_total{table="outbox"} 1.0' in metrics
        assert "watchdog_expired_objects_total 1.0" in metrics
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert _outbox_ids(engine) == {outbox_rows["young"], outbox_rows["pending"]}
    assert _keys(store, "snapshots") == ["org/cam/2026-02-01/young.jpg"]
    assert _keys(store, "evidence") == ["org/event/bundle.zip"]


# --- the broker management API --------------------------------------------------------------------------


def test_vhost_and_management_url_parsing() -> None:
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/%2F") == "/"
    assert vhost_of("amqp://guest:guest@127.0.0.1:5672/") == "/"
    assert vhost_of("amqp://u:p@rabbit:5672/vigia%2Fprod") == "vigia/prod"
    client = management_client("http://ops:s%40cret@rabbit:15672/")
    assert str(client.base_url) == "http://rabbit:15672"
    assert client.auth is not None


async def test_dlq_depth_gauge_follows_every_dlq_of_the_vhost(amqp_url: str, amqp_vhost: str) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in ("orders.dlq", "fusion.sensors.0.dlq", "vision.frames.0"):
            await channel.declare_queue(name, durable=True)
        for name, count in (("orders.dlq", 3), ("vision.frames.0", 5)):
            for i in range(count):
                await channel.default_exchange.publish(aio_pika.Message(b"%d" % i), routing_key=name)
    async with management_client("http://guest:guest@127.0.0.1:15672") as client:
        check = DeadLetterDepth(client, vhost_of(amqp_url), interval=30)
        for _ in range(200):  # the management API refreshes queue statistics every few seconds
            await check.run()
            if _sample("vigia_dlq_messages", {"queue": "orders.dlq"}) == 3:
                break
            await asyncio.sleep(0.1)
        assert _sample("vigia_dlq_messages", {"queue": "orders.dlq"}) == 3
        assert _sample("vigia_dlq_messages", {"queue": "fusion.sensors.0.dlq"}) == 0
        assert _sample("vigia_dlq_messages", {"queue": "vision.frames.0"}) is None  # not a DLQ

        (await client.delete(f"/api/queues/{quote(amqp_vhost, safe='')}/orders.dlq")).raise_for_status()
        await check.run()
        assert _sample("vigia_dlq_messages", {"queue": "orders.dlq"}) is None
        assert _sample("vigia_dlq_messages", {"queue": "fusion.sensors.0.dlq"}) == 0


async def test_dlq_depth_of_an_unreachable_broker_raises_and_keeps_the_last_values() -> None:
    async with management_client("http://guest:guest@127.0.0.1:1", timeout=2) as client:
        check = DeadLetterDepth(client, "/", interval=30)
        with pytest.raises(httpx.TransportError):
            await check.run()


async def test_stale_leases_of_gone_replicas_are_deleted_and_live_ones_kept(redis: Redis) -> None:
    now = time.time()
    live, gone, unknown = "streamer-live", "streamer-gone", "streamer-never-seen"
    await redis.zadd(REPLICAS_KEY, {live: int(now * 1000) - 1000, gone: int(now * 1000) - 120_000})
    cams = [uuid.uuid4() for _ in range(4)]
    await redis.set(f"camera:{cams[0]}:lease", live, px=30_000)
    await redis.set(f"camera:{cams[1]}:lease", gone, px=30_000)
    await redis.set(f"camera:{cams[2]}:lease", unknown)  # no TTL: would never expire on its own
    await redis.set(f"camera:{cams[3]}:last_frame", "123")  # not a lease
    before = _sample("watchdog_stale_leases_removed_total", {}) or 0.0

    removed = await StaleLeases(redis, interval=30, grace_seconds=60, clock=lambda: now).run()

    assert removed == 2
    assert await redis.get(f"camera:{cams[0]}:lease") == live.encode()
    assert await redis.exists(f"camera:{cams[1]}:lease", f"camera:{cams[2]}:lease") == 0
    assert await redis.get(f"camera:{cams[3]}:last_frame") == b"123"
    assert _sample("watchdog_stale_leases_removed_total", {}) == before + 2
    assert [m.decode() for m in await redis.zrange(REPLICAS_KEY, 0, -1)] == [live]


async def test_a_lease_taken_over_by_a_live_replica_is_never_deleted(redis: Redis) -> None:
    now = time.time()
    await redis.zadd(REPLICAS_KEY, {"new": int(now * 1000)})
    camera = uuid.uuid4()
    janitor = StaleLeases(redis, interval=30, grace_seconds=60, clock=lambda: now)
    await redis.set(f"camera:{camera}:lease", "new", px=30_000)
    # compare-and-delete: asking to drop the old holder's lease leaves the new holder's in place
    assert await janitor._delete(keys=[f"camera:{camera}:lease"], args=["old"]) == 0
    assert await janitor.run() == 0
    assert await redis.get(f"camera:{camera}:lease") == b"new"
