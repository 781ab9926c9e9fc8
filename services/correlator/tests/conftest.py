"""Fixtures for the correlator: a database migrated by the control plane, a Redis database with a
key prefix of each test's own, a broker vhost with a tap where live listens (``event.#``), and
helpers that place devices and cameras on sites and publish the signals fusion and vision would."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson
import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, insert

from tests.support.databases import migrated_database
from vigia.common.broker import EVENTS, AsyncPublisher
from vigia.common.db import cameras, devices, make_engine, organizations
from vigia.common.messages import Envelope, make

DB_NAME = os.environ.get("VIGIA_TEST_CORRELATOR_DB", "vigia_correlator_svc")
REDIS_URL = os.environ.get("VIGIA_TEST_CORRELATOR_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A database migrated by the control plane's own ``migrate``, once per session."""
    return migrated_database(DB_NAME)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def org(engine: Engine) -> uuid.UUID:
    """A fresh organization (tests never share rows: every id is new)."""
    org_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org_id, name="Correlator test", slug=f"co-{org_id.hex[:12]}",
                                                  settings={}, created_at=datetime.now(UTC)))
    return org_id


@dataclass
class Site:
    """A site with one phone and one camera of ``org``."""

    org: uuid.UUID
    name: str
    phone: uuid.UUID
    camera: uuid.UUID


@pytest.fixture
def make_site(engine: Engine, org: uuid.UUID) -> Callable[..., Site]:
    def make(name: str | None = None, org_id: uuid.UUID = org) -> Site:
        name = name or f"site-{uuid.uuid4().hex[:8]}"
        phone, camera, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(insert(devices).values(
                id=phone, org_id=org_id, name=f"phone {phone.hex[:6]}", kind="phone", status="ON",
                reporting_interval=1.0, location="", site=name, config={}, version=1, created_at=now,
                updated_at=now))
            conn.execute(insert(cameras).values(
                id=camera, org_id=org_id, name=f"cam {camera.hex[:6]}", rtsp_url_encrypted="x", fps=1.0,
                zones=[], location="", site=name, enabled=True, status="active", version=1, created_at=now,
                updated_at=now))
        return Site(org_id, name, phone, camera)

    return make


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own in the correlator tests' Redis db (deleted afterwards)."""
    prefix = f"test-correlator-{uuid.uuid4().hex[:10]}:"
    yield prefix
    async for key in redis.scan_iter(match=f"{prefix}*"):
        await redis.delete(key)


@pytest.fixture
async def publisher(amqp_url: str) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(amqp_url, declare=True) as pub:
        yield pub


class Tap:
    """A queue bound to vigia.events like live's (``event.#``); :meth:`events` waits for messages."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.seen: list[Envelope] = []

    def drain(self) -> list[Envelope]:
        return self.seen

    async def collect(self, until: Callable[[list[Envelope]], bool], within: float = 20.0) -> list[Envelope]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not until(self.seen):
            if loop.time() > deadline:
                raise AssertionError(f"timed out; saw {[(e.type, e.data) for e in self.seen]}")
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            self.seen.append(Envelope.from_json(message.body))
        return self.seen

    async def settle(self, seconds: float) -> list[Envelope]:
        """Everything that arrives within ``seconds`` more (for "nothing else came" checks)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            message = await self.queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
            else:
                self.seen.append(Envelope.from_json(message.body))
        return self.seen


@pytest.fixture
async def tap(amqp_url: str, publisher: AsyncPublisher) -> AsyncIterator[Tap]:
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue("test.events", exclusive=True)
    await queue.bind(EVENTS, "event.#")
    yield Tap(queue)
    await connection.close()


def anomaly(site: Site, kind: str, at_ns: int, severity: str = "high", score: float = 4.5,
            value: float | None = None) -> Envelope:
    return make("anomaly.detected", site.org, "fusion-test", {
        "device": site.phone, "kind": kind, "severity": severity, "score": score, "observed_at": at_ns,
        "value": value if value is not None else score})


def person(site: Site, at_ns: int, confidence: float = 0.9, label: str = "person") -> Envelope:
    return make("detection.created", site.org, "vision-test", {
        "camera": site.camera, "frame": uuid.uuid4(), "captured_at": at_ns, "label": label,
        "confidence": confidence, "box": {"x1": 1, "y1": 2, "x2": 30, "y2": 80}})


def events_of(envelopes: list[Envelope], kind: str) -> list[Envelope]:
    return [e for e in envelopes if e.type == kind]


def dump(envelope: Envelope) -> dict[str, Any]:
    return orjson.loads(envelope.to_json())
