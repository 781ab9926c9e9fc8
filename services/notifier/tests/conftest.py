"""Fixtures for the notifier: a database migrated by the control plane, organizations and channels
written the way control writes them (config encrypted with the Fernet keys), a Redis key prefix of
each test's own, the loopback stand-ins, and the notifier itself running in-process against the
test's broker vhost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest
from redis.asyncio import Redis

from services.notifier.tests.standins import HttpStandIn, http_standin
from tests.support.databases import migrated_database
from tests.support.processes import free_port
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import ActionRequested, Envelope, make
from vigia.common.secrets_at_rest import DEV_FERNET_KEY, encrypt
from vigia.notifier.settings import NotifierSettings

DB_NAME = os.environ.get("VIGIA_TEST_NOTIFIER_DB", "vigia_notifier_test")
REDIS_URL = os.environ.get("VIGIA_TEST_NOTIFIER_REDIS_URL", "redis://127.0.0.1:6379/8")


@pytest.fixture(scope="session")
def database_url() -> str:
    """A database migrated by the control plane's own ``migrate``, once per session."""
    return migrated_database(DB_NAME)


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def org(db: psycopg.Connection[Any]) -> uuid.UUID:
    """A fresh organization (tests never share rows: every id is new)."""
    org_id = uuid.uuid4()
    db.execute("INSERT INTO organizations (id, name, slug, settings, created_at) VALUES (%s, %s, %s, '{}', now())",
               (org_id, "Notifier test", f"nt-{org_id.hex[:12]}"))
    return org_id


MakeChannel = Callable[..., uuid.UUID]


@pytest.fixture
def make_channel(db: psycopg.Connection[Any], org: uuid.UUID) -> MakeChannel:
    """``make_channel(kind, config, enabled=True, org=...)``: a channel row as control stores it."""

    def make(kind: str, config: dict[str, Any], *, enabled: bool = True, org_id: uuid.UUID = org) -> uuid.UUID:
        channel = uuid.uuid4()
        db.execute("INSERT INTO notification_channels (id, org_id, kind, name, config_encrypted, enabled, "
                   "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, now(), now())",
                   (channel, org_id, kind, f"{kind}-{channel.hex[:8]}",
                    encrypt(orjson.dumps(config).decode(), DEV_FERNET_KEY), enabled))
        return channel

    return make


@dataclass
class DeliveryRow:
    recipient: str
    status: str
    attempts: int
    last_error: str
    event: uuid.UUID | None
    tries: list[tuple[int, str]]  # (attempt, status) oldest first


def deliveries(db: psycopg.Connection[Any], action: uuid.UUID) -> list[DeliveryRow]:
    rows = db.execute("SELECT id, recipient, status, attempts, last_error, event_id FROM notification_deliveries "
                      "WHERE action_id = %s ORDER BY recipient", (action,)).fetchall()
    out = []
    for delivery, recipient, status, attempts, error, event in rows:
        tries = db.execute("SELECT attempt, status FROM notification_attempts WHERE delivery_id = %s "
                           "ORDER BY attempt", (delivery,)).fetchall()
        out.append(DeliveryRow(recipient, status, attempts, error, event, [(a, s) for a, s in tries]))
    return out


async def wait_for(check: Callable[[], Any], within: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy (returned), failing after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own in the notifier tests' Redis db (deleted afterwards)."""
    prefix = f"test-notifier-{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    async for key in client.scan_iter(match=f"{prefix}*"):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
async def standin() -> AsyncIterator[HttpStandIn]:
    async with http_standin() as server:
        yield server


def notifier_env(database_url: str, amqp_url: str, redis_prefix: str, standin: HttpStandIn,
                 **extra: str) -> dict[str, str]:
    """The environment of a notifier pointed at the test's database, vhost, Redis and stand-ins."""
    return {
        "VIGIA_ENV": "test", "VIGIA_DATABASE_URL": database_url, "VIGIA_AMQP_URL": amqp_url,
        "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_NOTIFIER_REDIS_PREFIX": redis_prefix,
        "VIGIA_FERNET_KEYS": DEV_FERNET_KEY, "VIGIA_NOTIFIER_ALLOWED_NETWORKS": "127.0.0.1/32",
        "VIGIA_NOTIFIER_TELEGRAM_API_URL": standin.url, "VIGIA_NOTIFIER_WHATSAPP_API_URL": standin.url,
        "VIGIA_NOTIFIER_RETRY_DELAYS_MS": "100,200,400", "VIGIA_NOTIFIER_TIMEOUT_S": "5",
        "VIGIA_NOTIFIER_LEASE_S": "10", "VIGIA_METRICS_PORT": str(free_port()),
        "VIGIA_OBJECT_STORE": "file://var/test-objects", "VIGIA_LOG_JSON": "true",
        **extra,
    }


@pytest.fixture
def notifier_settings(database_url: str, amqp_url: str, redis_prefix: str, standin: HttpStandIn,
                      monkeypatch: pytest.MonkeyPatch) -> Callable[..., NotifierSettings]:
    def settings(**extra: str) -> NotifierSettings:
        for key, value in notifier_env(database_url, amqp_url, redis_prefix, standin, **extra).items():
            monkeypatch.setenv(key, value)
        return NotifierSettings()

    return settings


@pytest.fixture
async def run_notifier(notifier_settings: Callable[..., NotifierSettings]) -> AsyncIterator[Callable[..., Any]]:
    """``await run_notifier(**env)``: the notifier running in this event loop until the test ends."""
    from vigia.notifier.app import run

    stoppers: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(**extra: str) -> None:
        stopping = asyncio.Event()
        task = asyncio.create_task(run(notifier_settings(**extra), stopping))
        stoppers.append((stopping, task))
        await asyncio.sleep(0)

    yield start
    for stopping, task in stoppers:
        stopping.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)


@pytest.fixture
async def publisher(amqp_url: str) -> AsyncIterator[AsyncPublisher]:
    async with AsyncPublisher(amqp_url, declare=True,
                              settings=NotifierSettings(notifier_retry_delays_ms="100,200,400")) as pub:
        yield pub


def action(kind: str, org: uuid.UUID, channel: uuid.UUID, **data: Any) -> Envelope:
    """An ``action.<kind>`` envelope as the automation runtime publishes it."""
    return make(f"action.{kind}", org, "automation", ActionRequested(channel=channel, **data))


def now() -> datetime:
    return datetime.now(UTC)
