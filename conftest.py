"""Fixtures shared by every test in the monorepo: isolated slices of the machine's real services.

* ``amqp_url``: a fresh RabbitMQ vhost per test (deleted afterwards), so topologies never collide.
* ``redis_url``: a Redis database of its own per test session worker, flushed per test.
* ``object_prefix``: a unique prefix for object-store tests.
PostgreSQL isolation comes from pytest-django's test database (``test_vigia``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

# Tests never share Redis data with a running `make run` (db 0): the control plane's cache and
# anything else reading VIGIA_REDIS_URL use db 14 under test.
os.environ.setdefault("VIGIA_ENV", "test")
os.environ.setdefault("VIGIA_REDIS_URL", "redis://127.0.0.1:6379/14")

AMQP_HOST = os.environ.get("VIGIA_TEST_AMQP_HOST", "127.0.0.1")
AMQP_MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
AMQP_AUTH = ("guest", "guest")


def _management() -> httpx.Client:
    return httpx.Client(base_url=AMQP_MANAGEMENT, auth=AMQP_AUTH, timeout=30)


@pytest.fixture
def amqp_vhost() -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:12]}"
    with _management() as client:
        client.put(f"/api/vhosts/{quote(name, safe='')}").raise_for_status()
        client.put(
            f"/api/permissions/{quote(name, safe='')}/guest",
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()
        yield name
        client.delete(f"/api/vhosts/{quote(name, safe='')}")


@pytest.fixture
def amqp_url(amqp_vhost: str) -> str:
    return f"amqp://guest:guest@{AMQP_HOST}:5672/{quote(amqp_vhost, safe='')}"


@pytest.fixture
def amqp_management() -> Iterator[httpx.Client]:
    with _management() as client:
        yield client


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    url = os.environ.get("VIGIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def object_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}/"
