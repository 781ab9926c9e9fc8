"""A gateway process's publishing link to the broker: connects in the background and never gives up.

The HTTP/WebSocket gateways start (and answer /healthz) while RabbitMQ is still down. Until the
first connection is up, and whenever a publish is not confirmed, publishing raises
:class:`BrokerUnavailable`, which the gateways answer with 503 / close 1013. After the first
connection aio-pika's robust connection reconnects by itself and :class:`AsyncPublisher` waits for
it (up to ``confirm_timeout_s``). A topology that conflicts with the settings is logged and the
gateway publishes without declaring: messages still flow through what is deployed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aio_pika.abc import AbstractRobustConnection

from vigia.common.broker.connection import connect
from vigia.common.broker.errors import TopologyConflictError
from vigia.common.broker.publisher import AsyncPublisher
from vigia.common.broker.settings import BrokerSettings

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The message was not confirmed by the broker (it is not queued, or may not be)."""


class GatewayPublisher:
    """Owns the broker connection of one gateway process; subclasses add their ``publish``."""

    def __init__(self, settings: BrokerSettings, *, declare: bool, retry_first_s: float = 0.5,
                 retry_max_s: float = 5.0) -> None:
        self._settings = settings
        self._declare = declare
        self._retry_first_s = retry_first_s
        self._retry_max_s = retry_max_s
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AsyncPublisher | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def start(self) -> None:
        """Begin connecting (retrying with back-off until the broker answers)."""
        self._task = asyncio.create_task(self._connect(), name=f"{type(self).__name__}-connect")

    async def _connect(self) -> None:
        delay = self._retry_first_s
        while True:
            try:
                await self._connect_once()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down or a channel error while declaring: never give up
                log.warning("broker set-up failed, retrying", extra={"error": str(exc)})
                if self._connection is not None:
                    with contextlib.suppress(Exception):
                        await self._connection.close()
                    self._connection = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)

    async def _connect_once(self) -> None:
        s = self._settings
        self._connection = await connect(s.amqp_url, name=f"{s.service_name}:publisher")
        publisher = AsyncPublisher(s.amqp_url, settings=s, declare=self._declare, connection=self._connection)
        try:
            await publisher.connect()
        except TopologyConflictError as exc:
            # Messages can still flow through what is deployed; the conflict must be fixed by an operator.
            log.error("broker topology conflicts with these settings; publishing without declaring",
                      extra={"error": str(exc)})
            publisher = AsyncPublisher(s.amqp_url, settings=s, connection=self._connection)
            await publisher.connect()
        await self._warm_up(publisher)
        self._publisher = publisher
        self.connected.set()
        log.debug("connected to the broker")  # the gateway's own ready line says so (it waits on connected)

    async def _warm_up(self, publisher: AsyncPublisher) -> None:
        """Hook: prepare the new publisher before it is used (nothing by default)."""

    @property
    def ready(self) -> bool:
        """Connected now (not reconnecting)."""
        return (self._publisher is not None and self._connection is not None
                and not self._connection.is_closed and self._connection.connected.is_set())

    def _live(self) -> AsyncPublisher:
        """The connected publisher, else :class:`BrokerUnavailable`."""
        if self._publisher is None:
            raise BrokerUnavailable("not connected to the broker yet")
        return self._publisher

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
