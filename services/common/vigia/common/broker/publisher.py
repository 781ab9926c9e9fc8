"""The async publisher (aio-pika) every data-plane service uses.

Contract: :meth:`AsyncPublisher.publish` returns only once the broker confirmed the message
(publisher confirms), and raises instead of dropping it:

* no queue bound for the routing key -> :class:`UnroutableError` (``mandatory=True`` always);
* the broker nacked it, the exchange is missing, or no confirm came within ``confirm_timeout``
  (including while reconnecting) -> :class:`PublishError`.

Messages carry ``message_id`` = envelope id (consumers dedupe on it), ``type``, ``timestamp``,
``content_type`` and a ``traceparent`` header. Durable types are published persistent; frames
(:meth:`publish_frame`) are transient with a binary body and the envelope in headers.

Concurrent calls share the channel and pipeline their confirms; :meth:`publish_many` does that for
a batch with a bounded window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection
from aio_pika.exceptions import (
    AMQPChannelError,
    ChannelInvalidStateError,
    ChannelNotFoundEntity,
    DeliveryError,
)
from aio_pika.exceptions import PublishError as AioPublishError

from vigia.common.broker.connection import connect
from vigia.common.broker.errors import BatchPublishError, PublishError, UnroutableError
from vigia.common.broker.settings import BrokerSettings
from vigia.common.broker.topology import ORG_HEADER, PERISHABLE_TYPES, declare_topology, route
from vigia.common.messages import Envelope, envelope_headers

PERSISTENT = aio_pika.DeliveryMode.PERSISTENT
TRANSIENT = aio_pika.DeliveryMode.NOT_PERSISTENT
# Errors that mean "the connection went away" (AMQPConnectionError is a ConnectionError).
_CONNECTION_LOST = (ChannelInvalidStateError, ConnectionError, OSError)


def _timestamp(envelope: Envelope) -> datetime:
    return datetime.fromtimestamp(envelope.time / 1e9, UTC)


def envelope_message(envelope: Envelope) -> aio_pika.Message:
    """The AMQP message of a JSON envelope (properties as described in the module docstring)."""
    return aio_pika.Message(
        envelope.to_json(),
        content_type="application/json",
        delivery_mode=TRANSIENT if envelope.type in PERISHABLE_TYPES else PERSISTENT,
        message_id=str(envelope.id),
        type=envelope.type,
        timestamp=_timestamp(envelope),
        headers=message_headers(envelope),
    )


def message_headers(envelope: Envelope) -> dict[str, Any]:
    """AMQP headers of a JSON envelope: its trace and its organization (``x-vigia-org``, which the
    automation shards hash so that one organization lands on one shard)."""
    headers: dict[str, Any] = {ORG_HEADER: str(envelope.org)}
    if envelope.trace:
        headers["traceparent"] = envelope.trace
    return headers


def frame_message(envelope: Envelope, body: bytes) -> aio_pika.Message:
    """A frame: the image as body, the envelope in ``x-vigia-*`` headers, transient."""
    headers: dict[str, Any] = envelope_headers(envelope)  # x-vigia-org among them
    if envelope.trace:
        headers["traceparent"] = envelope.trace
    return aio_pika.Message(
        body,
        content_type=getattr(envelope.data, "content_type", "application/octet-stream"),
        delivery_mode=TRANSIENT,
        message_id=str(envelope.id),
        type=envelope.type,
        timestamp=_timestamp(envelope),
        headers=headers,
    )


class AsyncPublisher:
    """Publishes envelopes with confirms and mandatory routing over a robust connection.

    Use as ``async with AsyncPublisher(url) as publisher: await publisher.publish(envelope)``.
    ``declare=True`` declares the topology on connect (idempotent).
    """

    def __init__(self, url: str, *, settings: BrokerSettings | None = None,
                 confirm_timeout: float | None = None, declare: bool = False,
                 connection_name: str | None = None,
                 connection: AbstractRobustConnection | None = None) -> None:
        self.url = url
        self.settings = settings
        default_timeout: float = BrokerSettings.model_fields["confirm_timeout_s"].default
        self.confirm_timeout = confirm_timeout if confirm_timeout is not None else (
            settings.confirm_timeout_s if settings else default_timeout)
        self.declare = declare
        self.connection_name = connection_name
        self._connection = connection
        self._owns_connection = connection is None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        # Confirm deadlines of in-flight publishes, enforced by one watchdog task instead of one
        # timer per message (a timer per message costs more than the rest of our overhead).
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        period = min(0.5, self.confirm_timeout / 4)
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            for task, deadline in list(self._deadlines.items()):
                if deadline <= now and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()

    async def connect(self) -> Self:
        if self._connection is None:
            self._connection = await connect(self.url, name=self.connection_name)
        # on_return_raises: an unroutable mandatory message raises instead of "succeeding".
        self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        if self.declare:
            await declare_topology(self._channel, self.settings)
        self._watchdog = asyncio.create_task(self._watch(), name="publisher-confirm-watchdog")
        return self

    async def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        if self._owns_connection and self._connection is not None:
            await self._connection.close()
        self._channel = None
        self._exchanges.clear()

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    @property
    def channel(self) -> AbstractChannel:
        if self._channel is None:
            raise RuntimeError("AsyncPublisher is not connected: use `async with` or await connect()")
        return self._channel

    async def _exchange(self, name: str) -> AbstractExchange:
        exchange = self._exchanges.get(name)
        if exchange is None:
            # No round trip: exchanges are declared by the topology; a missing one fails the publish.
            exchange = self._exchanges[name] = await self.channel.get_exchange(name, ensure=False)
        return exchange

    async def publish(self, envelope: Envelope) -> None:
        """Publish a JSON envelope to its exchange with its routing key; returns once confirmed."""
        exchange, key = route(envelope)
        await self.publish_message(exchange, key, envelope_message(envelope))

    async def publish_frame(self, envelope: Envelope, body: bytes) -> None:
        """Publish a frame (binary body, envelope in headers, transient); returns once confirmed."""
        exchange, key = route(envelope)
        await self.publish_message(exchange, key, frame_message(envelope, body))

    async def publish_raw(self, exchange: str, routing_key: str, body: bytes, *, message_id: str,
                          type: str, headers: Mapping[str, Any] | None = None,
                          persistent: bool = True, content_type: str = "application/json") -> None:
        """Publish pre-encoded bytes (e.g. relayed from an outbox) with the same guarantees."""
        message = aio_pika.Message(body, content_type=content_type, message_id=message_id, type=type,
                                   delivery_mode=PERSISTENT if persistent else TRANSIENT,
                                   timestamp=datetime.now(UTC), headers=dict(headers or {}))
        await self.publish_message(exchange, routing_key, message)

    async def publish_message(self, exchange: str, routing_key: str, message: aio_pika.Message) -> None:
        """Publish an aio-pika message (mandatory, confirmed, bounded by ``confirm_timeout``)."""
        try:
            connection = self._connection
            task = asyncio.current_task()
            exchange_obj = self._exchanges.get(exchange)
            if (connection is not None and connection.connected.is_set() and exchange_obj is not None
                    and task is not None and self._watchdog is not None):
                # Fast path: connected; the watchdog bounds the write and the confirm.
                self._deadlines[task] = asyncio.get_running_loop().time() + self.confirm_timeout
                try:
                    await exchange_obj.publish(message, routing_key, mandatory=True)
                    return
                except _CONNECTION_LOST:
                    pass
                except asyncio.CancelledError:
                    if task not in self._expired:
                        raise
                    task.uncancel()
                    raise TimeoutError from None
                finally:
                    del self._deadlines[task]
                    self._expired.discard(task)
            # Reconnecting: wait for the robust channel to come back (bounded) and retry; a
            # duplicate is possible and harmless (consumers dedupe by message id).
            async with asyncio.timeout(self.confirm_timeout):
                while True:
                    try:
                        await self.channel.ready()  # type: ignore[attr-defined]
                        await (await self._exchange(exchange)).publish(message, routing_key, mandatory=True)
                        return
                    except _CONNECTION_LOST:
                        await asyncio.sleep(0.1)
        except AioPublishError as exc:
            raise UnroutableError(exchange, routing_key) from exc
        except DeliveryError as exc:
            raise PublishError(f"broker nacked message on {exchange!r}/{routing_key!r}",
                               exchange=exchange, routing_key=routing_key) from exc
        except ChannelNotFoundEntity as exc:
            raise PublishError(f"exchange {exchange!r} does not exist: {exc}",
                               exchange=exchange, routing_key=routing_key) from exc
        except AMQPChannelError as exc:
            raise PublishError(f"broker closed the channel: {exc}",
                               exchange=exchange, routing_key=routing_key) from exc
        except TimeoutError as exc:
            raise PublishError(f"no confirm from the broker within {self.confirm_timeout} s",
                               exchange=exchange, routing_key=routing_key) from exc

    async def publish_many(self, envelopes: Iterable[Envelope], *, window: int = 512) -> None:
        """Publish a batch with up to ``window`` confirms outstanding; returns once all are
        confirmed, or raises :class:`BatchPublishError` listing the failed envelopes (the others
        were confirmed)."""
        semaphore = asyncio.Semaphore(window)

        async def one(envelope: Envelope) -> None:
            async with semaphore:
                await self.publish(envelope)

        items = list(envelopes)
        results = await asyncio.gather(*(one(e) for e in items), return_exceptions=True)
        failures: list[tuple[Any, PublishError]] = []
        for item, result in zip(items, results, strict=True):
            if isinstance(result, PublishError):
                failures.append((item, result))
            elif isinstance(result, BaseException):
                raise result
        if failures:
            raise BatchPublishError(failures, len(items))
