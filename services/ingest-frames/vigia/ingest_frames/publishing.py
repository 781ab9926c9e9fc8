"""The gateway's link to the broker: connects in the background, publishes frames with confirms.

The gateway starts (and answers /healthz) even while RabbitMQ is down; until the first connection
is up, and whenever a publish is not confirmed, :meth:`FramePublisher.publish` raises
:class:`BrokerUnavailable` and the API answers 503 with Retry-After. After the first connection,
aio-pika's robust connection reconnects by itself and :class:`AsyncPublisher` waits for it (up
to ``confirm_timeout_s``) before giving up on a frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractRobustConnection

from vigia.common.broker import AsyncPublisher, PublishError, TopologyConflictError, connect
from vigia.common.messages import Envelope
from vigia.ingest_frames.settings import IngestFramesSettings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The frame was not confirmed by the broker (it is not queued, or may not be)."""


class FramePublisher:
    """Owns the broker connection of one gateway process."""

    def __init__(self, settings: IngestFramesSettings) -> None:
        self._settings = settings
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AsyncPublisher | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        """Begin connecting (retrying with back-off until the broker answers)."""
        self._task = asyncio.create_task(self._connect(), name="frame-publisher-connect")

    async def _connect(self) -> None:
        while True:
            try:
                await self._connect_once()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a channel error while declaring: start over, never give up
                log.warning("broker set-up failed, retrying", extra={"error": str(exc)})
                if self._connection is not None:
                    with contextlib.suppress(Exception):
                        await self._connection.close()
                    self._connection = None
                await asyncio.sleep(2)

    async def _connect_once(self) -> None:
        s = self._settings
        self._connection = await connect(s.amqp_url, name=f"{s.service_name}:publisher")
        publisher = AsyncPublisher(s.amqp_url, settings=s, declare=s.frames_declare_topology,
                                   connection=self._connection)
        try:
            await publisher.connect()
        except TopologyConflictError as exc:
            # Frames can still flow through what is deployed; the conflict must be fixed by an operator.
            log.error("broker topology conflicts with these settings; publishing without declaring",
                      extra={"error": str(exc)})
            publisher = AsyncPublisher(s.amqp_url, settings=s, connection=self._connection)
            await publisher.connect()
        self._publisher = publisher
        self.connected.set()
        log.info("connected to the broker")

    @property
    def ready(self) -> bool:
        """Connected now (not reconnecting)."""
        return (self._publisher is not None and self._connection is not None
                and not self._connection.is_closed and self._connection.connected.is_set())

    async def publish(self, envelope: Envelope, body: bytes) -> None:
        """Publish one frame; returns once the broker confirmed it, else :class:`BrokerUnavailable`."""
        if self._publisher is None:
            raise BrokerUnavailable("not connected to the broker yet")
        try:
            await self._publisher.publish_frame(envelope, body)
        except PublishError as exc:
            raise BrokerUnavailable(str(exc)) from exc

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._publisher is not None:
            await self._publisher.close()
        if self._connection is not None:
            await self._connection.close()
        self._publisher = None
        self._connection = None
        self.connected.clear()
