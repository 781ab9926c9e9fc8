"""Fixtures of the ingest-sensors tests: a migrated database of their own, organizations with a phone
and its device token, the gateway served for real (uvicorn on a free port, in this event loop) on a
fresh broker vhost and Redis database, a tap queue on vigia.sensors, and a phone client.

The database (``vigia_sensors_<random>``) is created for the session, migrated by the control
plane's own ``migrate`` in a subprocess, and dropped at the end; rows are written with SQLAlchemy
Core the way the control plane would have written them.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import orjson
import pytest
import websockets
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from sqlalchemy import Engine, insert, update

from tests.support.databases import throwaway_database
from vigia.common.auth import new_device_token
from vigia.common.broker import SENSORS, BrokerSettings, declare_topology
from vigia.common.db import device_credentials, devices, make_engine, organizations
from vigia.ingest_sensors.app import create_app
from vigia.ingest_sensors.gateway import Gateway
from vigia.ingest_sensors.server import DrainingServer, uvicorn_config
from vigia.ingest_sensors.settings import IngestSensorsSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with throwaway_database("vigia_sensors") as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Phone:
    """One organization with a phone (device) and its token."""

    org: uuid.UUID
    device: uuid.UUID
    credential: uuid.UUID
    token: str

    def revoke(self, engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(update(device_credentials).where(device_credentials.c.id == self.credential)
                         .values(revoked_at=datetime.now(UTC)))

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_phone(engine: Engine) -> Phone:
    now = datetime.now(UTC)
    org, device, credential = (uuid.uuid4() for _ in range(3))
    token = new_device_token()
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name=f"org {org}", slug=f"org-{org.hex[:12]}",
                                                  settings={}, created_at=now))
        conn.execute(insert(devices).values(id=device, org_id=org, name="phone", kind="phone", status="ON",
                                            reporting_interval=1.0, config={}, location="", site="hq",
                                            version=1, created_at=now, updated_at=now))
        conn.execute(insert(device_credentials).values(id=credential, org_id=org, device_id=device,
                                                       prefix=token.prefix, token_hash=token.token_hash,
                                                       created_at=now))
    return Phone(org, device, credential, token.token)


@pytest.fixture
def phone(engine: Engine) -> Phone:
    return make_phone(engine)


@pytest.fixture
def other_phone(engine: Engine) -> Phone:
    return make_phone(engine)


def packet(seq: int, **overrides: Any) -> dict[str, Any]:
    """A plausible packet stamped now."""
    return {"timestamp": time.time_ns(), "seq": seq,
            "magnetometer": {"x": 21.5, "y": -4.25, "z": 40.0, "magnitude": 45.6},
            "accelerometer": {"x": 0.01, "y": 0.02, "z": 9.81}, "gyroscope": {"x": 0.0, "y": 0.1, "z": 0.0},
            "orientation": {"roll": 0.1, "pitch": 0.2, "yaw": 1.5}, "audio_peak": 0.3,
            "humanoid_detected": False, "bluetooth_devices_count": 2, **overrides}


@pytest.fixture
def settings_for(database_url: str, amqp_url: str, redis_url: str) -> Any:
    """Gateway settings on this test's vhost, Redis db and database; overrides by keyword."""

    def build(**overrides: Any) -> IngestSensorsSettings:
        values: dict[str, Any] = {"database_url": database_url, "amqp_url": amqp_url, "redis_url": redis_url,
                                  "confirm_timeout_s": 3, "sensor_shards": 1, "shutdown_grace_s": 5,
                                  "sensors_last_seen_flush_s": 0.1, "service_name": "ingest-sensors-test",
                                  **overrides}
        return IngestSensorsSettings(**values)

    return build


class ServedGateway:
    """The app served by uvicorn on a free port in this event loop."""

    def __init__(self, settings: IngestSensorsSettings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.port = free_port()
        self.server = DrainingServer(uvicorn_config(self.app, settings, host="127.0.0.1", port=self.port))
        self.task: asyncio.Task[None] | None = None

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, token: str | None = None) -> str:
        url = f"ws://127.0.0.1:{self.port}/api/v1/sensors/ws"
        return f"{url}?token={token}" if token else url

    async def start(self, wait_for_broker: bool = True) -> ServedGateway:
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            assert not self.task.done(), "the gateway did not start"
            await asyncio.sleep(0.02)
        if wait_for_broker:
            await asyncio.wait_for(self.gateway.publisher.connected.wait(), 20)
        return self

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.server.should_exit = True
            await asyncio.wait_for(self.task, 30)


@pytest.fixture
async def serve(amqp_url: str, redis_url: str) -> AsyncIterator[Any]:
    """``await serve(settings)`` starts a gateway; all are stopped at the end of the test (before
    the vhost and Redis fixtures are torn down)."""
    started: list[ServedGateway] = []

    async def start(settings: IngestSensorsSettings, *, wait_for_broker: bool = True) -> ServedGateway:
        served = ServedGateway(settings)
        started.append(served)
        return await served.start(wait_for_broker)

    yield start
    for served in reversed(started):
        await served.stop()


@pytest.fixture
async def gw(serve: Any, settings_for: Any) -> ServedGateway:
    served: ServedGateway = await serve(settings_for())
    return served


class SensorsTap:
    """A private queue receiving every message published to vigia.sensors."""

    def __init__(self, queue: AbstractQueue) -> None:
        self.queue = queue

    async def drain(self, wait_s: float = 1.0) -> list[AbstractIncomingMessage]:
        """Every message in the queue now (acks come only after the broker confirmed)."""
        messages = []
        while (message := await self.queue.get(no_ack=True, fail=False, timeout=wait_s)) is not None:
            messages.append(message)
        return messages

    async def batches(self) -> list[dict[str, Any]]:
        return [orjson.loads(m.body) for m in await self.drain() if m.type == "sensor.batch"]


@pytest.fixture
async def amqp(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(amqp_url)
    yield connection
    await connection.close()


@pytest.fixture
def tap(amqp: AbstractRobustConnection) -> Any:
    """``await tap()`` declares the topology (as the gateways do) and binds a SensorsTap."""

    async def bind() -> SensorsTap:
        channel = await amqp.channel()
        await declare_topology(channel, BrokerSettings(sensor_shards=1))
        queue = await channel.declare_queue("", exclusive=True)
        await queue.bind(SENSORS, "sensor.#")
        return SensorsTap(queue)

    return bind


class PhoneClient:
    """A phone's socket: sends frames, collects acks, error frames and the close code."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.hello: dict[str, Any] = {}
        self.acks: list[int] = []
        self.errors: list[dict[str, Any]] = []

    async def send(self, payload: Any) -> None:
        await self.ws.send(payload if isinstance(payload, str | bytes) else orjson.dumps(payload).decode())

    async def next_frame(self, wait_s: float = 5.0) -> dict[str, Any]:
        frame: dict[str, Any] = orjson.loads(await asyncio.wait_for(self.ws.recv(), wait_s))
        if frame["type"] == "ack":
            self.acks.append(frame["seq"])
        elif frame["type"] == "error":
            self.errors.append(frame)
        return frame

    async def until_ack(self, seq: int, wait_s: float = 10.0) -> None:
        """Read frames until an ack covers ``seq``."""
        async with asyncio.timeout(wait_s):
            while not self.acks or self.acks[-1] < seq:
                await self.next_frame(wait_s)

    async def until_closed(self, wait_s: float = 10.0) -> int | None:
        """Read frames until the server closes; the close code."""
        async with asyncio.timeout(wait_s):
            try:
                while True:
                    await self.next_frame(wait_s)
            except websockets.ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd is not None else None


@pytest.fixture
async def connect(serve: Any, settings_for: Any) -> AsyncIterator[Any]:
    """``await connect(phone, served=...)``: an authenticated PhoneClient (hello read) on the given
    gateway, else on a default one started on first use."""
    opened: list[Any] = []
    default: list[ServedGateway] = []

    async def open_(phone: Phone, *, served: ServedGateway | None = None, **kwargs: Any) -> PhoneClient:
        if served is None:
            if not default:
                default.append(await serve(settings_for()))
            served = default[0]
        ws = await websockets.connect(served.ws_url(phone.token), **kwargs)
        opened.append(ws)
        client = PhoneClient(ws)
        client.hello = await client.next_frame()
        return client

    yield open_
    for ws in opened:
        await ws.close()


@pytest.fixture
def make_packet() -> Any:
    return packet


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client
