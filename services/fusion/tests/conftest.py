"""Fixtures for fusion: a database of its own migrated by the control plane, a Redis database of
its own, a broker vhost with the topology and a tap queue on anomaly.#, and packet builders."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aio_pika
import orjson
import psycopg
import pytest
from redis.asyncio import Redis

from tests.support.databases import migrated_database
from vigia.common.broker import EVENTS, AsyncPublisher
from vigia.common.messages import Envelope, SensorBatch, SensorPacket, make
from vigia.fusion.config import FusionSettings

DB_NAME = os.environ.get("VIGIA_TEST_FUSION_DB", "vigia_fusion_test")
REDIS_URL = os.environ.get("VIGIA_TEST_FUSION_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A database migrated by the control plane's own ``migrate``, once per session. Tests use
    fresh device ids, so they never see each other's rows."""
    return migrated_database(DB_NAME)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def telemetry_count(conn: psycopg.Connection[Any], device: uuid.UUID) -> tuple[int, int]:
    """(rows, distinct seqs) stored for a device."""
    row = conn.execute("SELECT count(*), count(DISTINCT seq) FROM telemetry WHERE device_id = %s",
                       (device,)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """Redis db 11 (fusion's own under test); keys are per random device, deleted afterwards."""
    client = Redis.from_url(REDIS_URL)
    yield client
    keys = [key async for key in client.scan_iter("device:*:audio")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def settings(database_url: str, amqp_url: str) -> FusionSettings:
    return FusionSettings(database_url=database_url, amqp_url=amqp_url, redis_url=REDIS_URL,
                          sensor_shards=2, fusion_batch_linger_ms=5)


@pytest.fixture
async def publisher(amqp_url: str, settings: FusionSettings) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as pub:
        yield pub


class Tap:
    """A test queue bound to anomaly.# on vigia.events."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    async def take(self) -> list[Envelope]:
        out = []
        while (message := await self.queue.get(no_ack=True, fail=False)) is not None:
            out.append(Envelope.model_validate(orjson.loads(message.body)))
        return out


@pytest.fixture
async def anomalies(amqp_url: str, publisher: AsyncPublisher) -> AsyncIterator[Tap]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue("test.anomalies", exclusive=True)
    await queue.bind(EVENTS, "anomaly.#")
    yield Tap(queue)
    await connection.close()


def packets(count: int, *, start_seq: int = 1, t0: int | None = None, rate_hz: float = 20.0,
            spikes: dict[int, float] | None = None, humanoid_at: set[int] | None = None) -> list[SensorPacket]:
    """A phone lying still: magnetic magnitude ~45 uT with a little noise, gravity on y; ``spikes``
    maps packet index -> added uT."""
    t0 = t0 if t0 is not None else time.time_ns() - int(count / rate_hz * 1e9)
    out = []
    for i in range(count):
        mag = 45.0 + 0.3 * math.sin(i * 1.7) + (spikes or {}).get(i, 0.0)
        out.append(SensorPacket(
            timestamp=t0 + int(i / rate_hz * 1e9), seq=start_seq + i,
            magnetometer={"x": 20.0, "y": 0.0, "z": math.sqrt(max(mag * mag - 400.0, 0.0)), "magnitude": mag},
            accelerometer={"x": 0.01 * math.sin(i), "y": 9.81, "z": 0.01 * math.cos(i)},
            gyroscope={"x": 0.001, "y": -0.002, "z": 0.003 * math.sin(i)},
            orientation={"roll": 0.0, "pitch": 1.57, "yaw": 0.0}, audio_peak=0.1,
            humanoid_detected=i in (humanoid_at or set()), bluetooth_devices_count=3))
    return out


def batch_envelopes(org: uuid.UUID, device: uuid.UUID, all_packets: list[SensorPacket], size: int = 50
                    ) -> list[Envelope]:
    return [make("sensor.batch", org, "ingest-sensors",
                 SensorBatch(device=device, packets=all_packets[i:i + size]))
            for i in range(0, len(all_packets), size)]
