"""Fixtures for streamer tests: a real RTSP source (FFmpeg + :mod:`vigia.streamer.testsource`), a
broker vhost with the topology and a bound test queue, Redis, and camera rows in the test database.

Timings are shortened through :class:`StreamerSettings` (``fast_settings``) so breaker, hang and
lease behaviour show within seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, insert

from vigia.common.broker import AsyncPublisher, declare_topology
from vigia.common.broker.topology import FRAMES
from vigia.common.db import cameras, make_engine, organizations
from vigia.common.messages import Envelope, envelope_from_headers
from vigia.common.secrets_at_rest import encrypt
from vigia.streamer.settings import DEV_FERNET_KEY, StreamerSettings
from vigia.streamer.testsource import FeedSpec, RtspTestSource

RTSP_USER, RTSP_PASSWORD = "admin", "Sup3r-Secret-pw"
_names = itertools.count(1)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of the streamer tests' own (db 11, flushed around each test).

    Overrides the root fixture: leases and heartbeats live for seconds, and the shared db 15 is
    flushed by other services' tests running in parallel, which would steal leases mid-test."""
    import redis as sync_redis

    url = os.environ.get("VIGIA_TEST_STREAMER_REDIS_URL", "redis://127.0.0.1:6379/11")
    client = sync_redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def fast_settings(amqp_url: str, redis_url: str) -> Callable[..., StreamerSettings]:
    """StreamerSettings with test timings; keyword arguments override."""

    def make(**overrides: Any) -> StreamerSettings:
        values: dict[str, Any] = {
            "amqp_url": amqp_url, "redis_url": redis_url, "rtsp_timeout_s": 3.0, "hang_timeout_s": 4.0,
            "first_frame_timeout_s": 8.0, "breaker_recovery_s": 3.0, "backoff_initial_s": 0.1,
            "backoff_max_s": 0.3, "lease_ms": 2000, "reconcile_interval_s": 0.5, "log_json": True,
            "replica_id": f"test-{uuid.uuid4().hex[:6]}",
        }
        values.update(overrides)
        return StreamerSettings(**values)

    return make


@pytest.fixture
async def rtsp_source() -> AsyncIterator[RtspTestSource]:
    """cam0..cam3 sharing one 640x360 25 fps GOP 25 feed, Basic auth with a password."""
    paths = {f"cam{i}": "gop25" for i in range(4)}
    async with RtspTestSource({"gop25": FeedSpec(size="640x360", rate=25, gop=25)}, paths,
                              credentials=(RTSP_USER, RTSP_PASSWORD)) as source:
        yield source


@pytest.fixture
async def frames_queue(amqp_url: str) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """The topology declared, plus a private queue bound to every frame on vigia.frames."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    await declare_topology(channel, StreamerSettings(amqp_url=amqp_url))
    queue = await channel.declare_queue(f"test.frames.{uuid.uuid4().hex[:6]}", exclusive=True)
    await queue.bind(FRAMES, "frame.#")
    yield queue
    await connection.close()


@pytest.fixture
def rtsp_password() -> str:
    return RTSP_PASSWORD


@pytest.fixture
def drain() -> Callable[..., Any]:
    """``await drain(queue, seconds)``: the frames (envelope, body, message) arriving meanwhile."""
    return drain_frames


async def drain_frames(queue: aio_pika.abc.AbstractQueue, seconds: float
                       ) -> list[tuple[Envelope, bytes, aio_pika.abc.AbstractIncomingMessage]]:
    """Every frame that arrives on ``queue`` during ``seconds``."""
    got: list[tuple[Envelope, bytes, aio_pika.abc.AbstractIncomingMessage]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            await asyncio.sleep(0.05)
            continue
        got.append((envelope_from_headers(dict(message.headers)), message.body, message))
    return got


@pytest.fixture
async def publisher(amqp_url: str, frames_queue: Any) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(amqp_url) as pub:
        yield pub


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def database_url(transactional_db: Any) -> str:
    """URL of pytest-django's migrated test database (rows committed: visible to subprocesses)."""
    from django.db import connection

    cfg = connection.settings_dict
    return f"postgresql://{cfg['USER']}@{cfg['HOST']}:{cfg['PORT']}/{cfg['NAME']}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url, pool_size=2)
    yield eng
    eng.dispose()


@pytest.fixture
def org(engine: Engine) -> uuid.UUID:
    org_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org_id, name="Streamer Org", slug=f"s-{org_id.hex[:8]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    return org_id


@pytest.fixture
def make_camera(engine: Engine, org: uuid.UUID) -> Callable[..., uuid.UUID]:
    """Insert a camera row (URL encrypted with the development key); returns its id."""

    def make(url: str, *, fps: float = 1.0, enabled: bool = True, version: int = 1) -> uuid.UUID:
        camera = uuid.uuid4()
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(insert(cameras).values(
                id=camera, org_id=org, name=f"cam-{next(_names)}", rtsp_url_encrypted=encrypt(url, DEV_FERNET_KEY),
                fps=fps, zones=[], location="", site="", enabled=enabled, status="provisioning",
                version=version, created_at=now, updated_at=now))
        return camera

    return make
