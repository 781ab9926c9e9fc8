"""Fixtures for the watchdog: a migrated database of its own, a Redis db of its own, a broker vhost
with test queues bound where camera.restart, camera.health and device.status go."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, delete, insert

from tests.support.databases import migrated_database
from vigia.common.broker import CONTROL, EVENTS, AsyncPublisher
from vigia.common.db import cameras, device_credentials, device_status_changes, devices, make_engine, organizations
from vigia.watchdog.cameras import CameraFreshness
from vigia.watchdog.devices import DeviceHealth

DB_NAME = os.environ.get("VIGIA_TEST_WATCHDOG_DB", "vigia_watchdog_test")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A database migrated by the control plane's own ``migrate``, once per session."""
    return migrated_database(DB_NAME)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    with engine.begin() as conn:  # this database is the watchdog tests' own: start empty
        conn.execute(delete(cameras))
        conn.execute(delete(device_status_changes))
        conn.execute(delete(device_credentials))
        conn.execute(delete(devices))
        conn.execute(delete(organizations))
    yield engine
    engine.dispose()


@pytest.fixture
def org(engine: Engine) -> uuid.UUID:
    org_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org_id, name="Watchdog test",
                                                  slug=f"wd-{org_id.hex[:8]}", settings={},
                                                  created_at=datetime.now(UTC)))
    return org_id


AddCamera = Callable[..., uuid.UUID]


@pytest.fixture
def add_camera(engine: Engine, org: uuid.UUID) -> AddCamera:
    def add(*, enabled: bool = True, changed_ago_s: float = 3600, status: str = "provisioning",
            last_frame_at: datetime | None = None) -> uuid.UUID:
        camera = uuid.uuid4()
        changed = datetime.now(UTC) - timedelta(seconds=changed_ago_s)
        with engine.begin() as conn:
            conn.execute(insert(cameras).values(
                id=camera, org_id=org, name=f"cam {camera.hex[:6]}", rtsp_url_encrypted="x", fps=1.0,
                zones=[], location="", site="", enabled=enabled, status=status, version=1,
                created_at=changed, updated_at=changed, last_frame_at=last_frame_at))
        return camera

    return add


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A Redis database of the watchdog tests' own (db 12 unless VIGIA_TEST_WATCHDOG_REDIS_URL):
    the shared test db 15 is flushed by other suites' tests at any moment, leases and all."""
    client = Redis.from_url(os.environ.get("VIGIA_TEST_WATCHDOG_REDIS_URL", "redis://127.0.0.1:6379/12"))
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


class Taps:
    """Test queues bound to where the watchdog publishes; :meth:`take` drains one of them."""

    def __init__(self, channel: Any, queues: dict[str, Any]) -> None:
        self.channel, self.queues = channel, queues

    async def take(self, name: str) -> list[dict[str, Any]]:
        out = []
        while (message := await self.queues[name].get(no_ack=True, fail=False)) is not None:
            out.append({"routing_key": message.routing_key, **orjson.loads(message.body)})
        return out


@pytest.fixture
async def publisher(amqp_url: str) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(amqp_url, declare=True) as pub:
        yield pub


@pytest.fixture
async def taps(amqp_url: str, publisher: AsyncPublisher) -> AsyncIterator[Taps]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    restarts = await channel.declare_queue("test.restarts", exclusive=True)
    await restarts.bind(CONTROL, "camera.restart.#")
    health = await channel.declare_queue("test.health", exclusive=True)
    await health.bind(EVENTS, "camera.health.#")
    status = await channel.declare_queue("test.device_status", exclusive=True)
    await status.bind(EVENTS, "device.status.#")
    yield Taps(channel, {"restarts": restarts, "health": health, "device_status": status})
    await connection.close()


MakeFreshness = Callable[..., CameraFreshness]


@pytest.fixture
def freshness(engine: Engine, redis: Redis, publisher: AsyncPublisher) -> MakeFreshness:
    def make(**overrides: Any) -> CameraFreshness:
        values: dict[str, Any] = {"interval": 0.0, "stale_seconds": 15, "cooldown_seconds": 30,
                                  "cooldown_max_seconds": 600, **overrides}
        return CameraFreshness(engine, redis, publisher, **values)

    return make


AddDevice = Callable[..., uuid.UUID]


@pytest.fixture
def add_device(engine: Engine, org: uuid.UUID) -> AddDevice:
    def add(*, status: str = "OFF", interval: float = 1.0, last_seen: datetime | None = None,
            changed_ago_s: float = 3600) -> uuid.UUID:
        device = uuid.uuid4()
        changed = datetime.now(UTC) - timedelta(seconds=changed_ago_s)
        with engine.begin() as conn:
            conn.execute(insert(devices).values(
                id=device, org_id=org, name=f"phone {device.hex[:6]}", kind="phone", status=status,
                last_seen=last_seen, reporting_interval=interval, location="", site="demo-site", config={},
                version=1, created_at=changed, updated_at=changed))
        return device

    return add


MakeHealth = Callable[..., DeviceHealth]


@pytest.fixture
def device_health(engine: Engine, redis: Redis, publisher: AsyncPublisher) -> MakeHealth:
    def make(**overrides: Any) -> DeviceHealth:
        values: dict[str, Any] = {"interval": 0.0, "refresh_seconds": 0.0, "flush_seconds": 0.0,
                                  "min_interval_s": 0.0, **overrides}
        return DeviceHealth(engine, redis, publisher, **values)

    return make
