"""Fixtures for the automation runtime: a database migrated by the control plane, a broker vhost
of each test's own (declared with the whole topology), a Redis database for the shard leases (keys
carry the vhost, so tests never share them), and the runtime itself as a subprocess
(``python -m vigia.automation``) that a test can start, stop and kill -9."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aio_pika
import psycopg
import pytest
import redis

from services.automation.tests.support import REDIS_URL, SHARDS, Runtime, Tap
from tests.support.databases import migrated_database
from vigia.common.broker import AsyncPublisher, BrokerSettings, declare_topology
from vigia.common.messages import Envelope

DB_NAME = os.environ.get("VIGIA_TEST_AUTOMATION_DB", "vigia_automation_svc")


@pytest.fixture(scope="session")
def database_url() -> str:
    return migrated_database(DB_NAME)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
async def broker(amqp_url: str) -> AsyncIterator[AsyncPublisher]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await declare_topology(await connection.channel(), BrokerSettings(automation_shards=SHARDS))
    async with AsyncPublisher(amqp_url) as publisher:
        yield publisher


@pytest.fixture
async def tap(amqp_url: str, broker: AsyncPublisher) -> AsyncIterator[Tap]:
    """Actions (vigia.actions) and pipeline events and statuses (vigia.events) the runtime publishes."""
    found = Tap()
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    queue = await channel.declare_queue("test.automation.out", exclusive=True)
    await queue.bind("vigia.actions", "action.whatsapp")
    await queue.bind("vigia.actions", "action.telegram")
    await queue.bind("vigia.actions", "action.webhook")
    await queue.bind("vigia.events", "pipeline.status.#")
    await queue.bind("vigia.events", "event.#")

    async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        envelope = Envelope.from_json(message.body)
        if envelope.source == "automation":
            found.seen.append(envelope)
        await message.ack()

    await queue.consume(take)
    yield found
    await connection.close()


@pytest.fixture
def runtimes(amqp_url: str, amqp_vhost: str, database_url: str, broker: AsyncPublisher
             ) -> Iterator[Callable[[str], Runtime]]:
    started: list[Runtime] = []

    def make_runtime(name: str = "a") -> Runtime:
        runtime = Runtime(amqp_url, database_url, amqp_vhost, f"{name}-{amqp_vhost}")
        started.append(runtime)
        return runtime

    yield make_runtime
    for runtime in started:
        runtime.kill()
    leases = redis.Redis.from_url(REDIS_URL)  # the shard leases and replica set of this test's vhost
    for key in leases.scan_iter(match=f"shards:{amqp_vhost}:automation*"):
        leases.delete(key)
    leases.close()


