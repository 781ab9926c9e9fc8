"""Fixtures shared by every test in the monorepo: isolated slices of the machine's real services.

* ``amqp_url``: a fresh RabbitMQ vhost per test (deleted afterwards), so topologies never collide.
* ``redis_url``: a Redis database of its own per test session worker, flushed per test.
* ``object_prefix``: a unique prefix for object-store tests.
PostgreSQL isolation comes from pytest-django's test database (``test_vigia``).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
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


async def _close_amqp_connections(vhost: str, name: str) -> None:
    """Force-close (as an operator or a broker restart would) the named connections of a vhost."""
    async with httpx.AsyncClient(base_url=AMQP_MANAGEMENT, auth=AMQP_AUTH, timeout=30) as client:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            listed = (await client.get(f"/api/vhosts/{quote(vhost, safe='')}/connections")).json()
            found = [c for c in listed if c.get("client_properties", {}).get("connection_name") == name]
            for conn in found:
                (await client.delete(f"/api/connections/{quote(conn['name'], safe='')}")).raise_for_status()
            if found:
                return
            await asyncio.sleep(0.2)
    raise AssertionError(f"connection {name!r} never showed up")


@pytest.fixture
def close_amqp_connections() -> Callable[[str, str], Awaitable[None]]:
    """``await close_amqp_connections(vhost, connection_name)``: drop a client's connections."""
    return _close_amqp_connections


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
