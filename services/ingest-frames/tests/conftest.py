"""Fixtures of the ingest-frames tests: a migrated database of their own, organizations with a
device token and cameras, the gateway app on a fresh broker vhost, and real images.

The database is created for the session (``vigia_ingest_frames_<random>``), migrated by the control
plane's own ``migrate`` in a subprocess, and dropped at the end; rows are written with SQLAlchemy
Core the way the control plane would have written them.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from PIL import Image
from sqlalchemy import Engine, insert, update

from tests.support.databases import throwaway_database
from vigia.common.auth import new_device_token
from vigia.common.broker import FRAMES
from vigia.common.db import cameras, device_credentials, devices, make_engine, organizations
from vigia.ingest_frames.app import create_app
from vigia.ingest_frames.gateway import Gateway
from vigia.ingest_frames.settings import IngestFramesSettings


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with throwaway_database("vigia_ingest_frames") as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Tenant:
    """One organization with a device (and its token) and a camera."""

    org: uuid.UUID
    device: uuid.UUID
    credential: uuid.UUID
    token: str
    camera: uuid.UUID

    def revoke(self, engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(update(device_credentials).where(device_credentials.c.id == self.credential)
                         .values(revoked_at=datetime.now(UTC)))

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_tenant(engine: Engine) -> Tenant:
    now = datetime.now(UTC)
    org, device, credential, camera = (uuid.uuid4() for _ in range(4))
    token = new_device_token()
    common: dict[str, Any] = {"location": "", "site": "", "version": 1, "created_at": now, "updated_at": now}
    with engine.begin() as conn:
        conn.execute(insert(organizations).values(id=org, name=f"org {org}", slug=f"org-{org.hex[:12]}",
                                                  settings={}, created_at=now))
        conn.execute(insert(devices).values(id=device, org_id=org, name="pusher", kind="camera",
                                            status="ON", reporting_interval=1.0, config={}, **common))
        conn.execute(insert(device_credentials).values(id=credential, org_id=org, device_id=device,
                                                       prefix=token.prefix, token_hash=token.token_hash,
                                                       created_at=now))
        conn.execute(insert(cameras).values(id=camera, org_id=org, name="gate", rtsp_url_encrypted="x",
                                            fps=1.0, zones=[], enabled=True, status="online", **common))
    return Tenant(org, device, credential, token.token, camera)


@pytest.fixture
def tenant(engine: Engine) -> Tenant:
    return make_tenant(engine)


@pytest.fixture
def other_tenant(engine: Engine) -> Tenant:
    return make_tenant(engine)


def jpeg(width: int = 64, height: int = 48, quality: int = 85, **save: Any) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 64).convert("RGB").save(out, "JPEG", quality=quality, **save)
    return out.getvalue()


def png(width: int = 32, height: int = 24) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def settings_for(database_url: str, amqp_url: str, redis_url: str) -> Any:
    """Builds gateway settings on this test's vhost, Redis db and database; overrides by keyword."""

    def build(**overrides: Any) -> IngestFramesSettings:
        values: dict[str, Any] = {"database_url": database_url, "amqp_url": amqp_url,
                                  "redis_url": redis_url, "frame_drop_poll_s": 0, "confirm_timeout_s": 3,
                                  "service_name": "ingest-frames-test", **overrides}
        return IngestFramesSettings(**values)

    return build


class RunningGateway:
    """The app with its lifespan entered, and an httpx client talking to it in-process."""

    def __init__(self, settings: IngestFramesSettings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                        base_url="http://ingest.test")

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.app.state.gateway
        return gateway

    async def post_frame(self, tenant: Tenant, body: bytes, *, camera: uuid.UUID | None = None,
                         content_type: str = "image/jpeg", headers: dict[str, str] | None = None,
                         **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("params", {"camera": str(camera or tenant.camera)})
        return await self.client.post("/api/v1/frames", content=body,
                                      headers={**tenant.auth, "Content-Type": content_type, **(headers or {})},
                                      **kwargs)


@pytest.fixture
async def running(amqp_url: str, redis_url: str) -> AsyncIterator[Any]:
    """Starts gateways for given settings; waits for the broker unless told not to. (Depends on
    the vhost and Redis fixtures so that the gateways stop before those are torn down.)"""
    stack: list[tuple[RunningGateway, Any]] = []

    async def start(settings: IngestFramesSettings, *, wait_for_broker: bool = True) -> RunningGateway:
        gateway = RunningGateway(settings)
        lifespan = gateway.app.router.lifespan_context(gateway.app)
        await lifespan.__aenter__()
        stack.append((gateway, lifespan))
        if wait_for_broker:
            await asyncio.wait_for(gateway.gateway.publisher.connected.wait(), 20)
        return gateway

    yield start
    for gateway, lifespan in reversed(stack):
        await gateway.client.aclose()
        await lifespan.__aexit__(None, None, None)


class FramesTap:
    """A private queue receiving every frame published to vigia.frames."""

    def __init__(self, queue: AbstractQueue) -> None:
        self.queue = queue

    async def drain(self) -> list[AbstractIncomingMessage]:
        """Every message in the queue now (the gateway answers only after the broker confirmed)."""
        messages = []
        while (message := await self.queue.get(no_ack=True, fail=False, timeout=5)) is not None:
            messages.append(message)
        return messages


@pytest.fixture
async def amqp(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(amqp_url)
    yield connection
    await connection.close()


@pytest.fixture
def tap(amqp: AbstractRobustConnection) -> Any:
    """``await tap()`` binds a FramesTap (call it once the gateway has declared the topology)."""

    async def bind() -> FramesTap:
        channel = await amqp.channel()
        queue = await channel.declare_queue("", exclusive=True)
        await queue.bind(FRAMES, "frame.#")
        return FramesTap(queue)

    return bind


@pytest.fixture
def make_jpeg() -> Any:
    return jpeg


@pytest.fixture
def make_png() -> Any:
    return png
