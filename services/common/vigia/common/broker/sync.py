"""The blocking publisher (pika) for Django: the outbox relay and management commands.

Same contract as :class:`~vigia.common.broker.publisher.AsyncPublisher`: publisher confirms,
``mandatory=True``, and errors instead of silence. pika's ``UnroutableError`` / ``NackError``
become :class:`UnroutableError` / :class:`PublishError`. A lost connection is reopened once and
the publish retried; if that fails too, :class:`PublishError` is raised (the outbox keeps the row
and the relay tries again later).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import (
    AMQPChannelError,
    AMQPConnectionError,
    ChannelClosedByBroker,
    ChannelWrongStateError,
    ConnectionWrongStateError,
    NackError,
)
from pika.exceptions import UnroutableError as PikaUnroutableError

from vigia.common.broker.connection import redact
from vigia.common.broker.errors import PublishError, UnroutableError
from vigia.common.broker.settings import BrokerSettings
from vigia.common.broker.topology import ORG_HEADER, PERISHABLE_TYPES, declare_topology_sync, route
from vigia.common.messages import Envelope

log = logging.getLogger(__name__)

_LOST = (AMQPConnectionError, ConnectionWrongStateError, ChannelWrongStateError)


class SyncPublisher:
    """Blocking publisher with confirms; ``with SyncPublisher(url) as p: p.publish(envelope)``.

    Connects lazily on the first publish. Not thread-safe (pika connections are not): one per
    thread.
    """

    def __init__(self, url: str, *, settings: BrokerSettings | None = None, declare: bool = False,
                 connection_name: str | None = None, heartbeat: int = 30,
                 blocked_connection_timeout: float = 30.0) -> None:
        self.url = url
        self.settings = settings
        self.declare = declare
        params = pika.URLParameters(url)
        params.heartbeat = heartbeat
        # When the broker blocks publishers (memory/disk alarm) give up instead of hanging forever.
        params.blocked_connection_timeout = blocked_connection_timeout
        params.connection_attempts = 1
        if connection_name:
            params.client_properties = {"connection_name": connection_name}
        self._params = params
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def connect(self) -> Self:
        self._connection = pika.BlockingConnection(self._params)
        channel = self._connection.channel()
        channel.confirm_delivery()
        self._channel = channel
        if self.declare:
            declare_topology_sync(channel, self.settings)
        return self

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            with contextlib.suppress(*_LOST):
                connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _ensure_channel(self) -> BlockingChannel:
        if self._connection is None or not self._connection.is_open:
            self.connect()
        elif self._channel is None or not self._channel.is_open:
            channel = self._connection.channel()
            channel.confirm_delivery()
            self._channel = channel
        assert self._channel is not None
        return self._channel

    def publish(self, envelope: Envelope) -> None:
        """Publish a JSON envelope to its exchange and routing key; returns once confirmed."""
        exchange, key = route(envelope)
        headers = {ORG_HEADER: str(envelope.org)}
        if envelope.trace:
            headers["traceparent"] = envelope.trace
        self.publish_raw(exchange, key, envelope.to_json(), message_id=str(envelope.id),
                         type=envelope.type, headers=headers,
                         persistent=envelope.type not in PERISHABLE_TYPES,
                         timestamp=envelope.time // 1_000_000_000)

    def publish_raw(self, exchange: str, routing_key: str, body: bytes, message_id: str,
                    type: str, headers: Mapping[str, Any] | None = None,
                    *, persistent: bool = True, content_type: str = "application/json",
                    timestamp: int | None = None) -> None:
        """Publish pre-encoded bytes; returns once confirmed, raises UnroutableError/PublishError."""
        properties = pika.BasicProperties(
            content_type=content_type, delivery_mode=2 if persistent else 1, message_id=message_id,
            type=type, headers=dict(headers or {}), timestamp=timestamp)
        for attempt in (1, 2):
            try:
                channel = self._ensure_channel()
                channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
                return
            except PikaUnroutableError as exc:
                raise UnroutableError(exchange, routing_key) from exc
            except NackError as exc:
                raise PublishError(f"broker nacked message on {exchange!r}/{routing_key!r}",
                                   exchange=exchange, routing_key=routing_key) from exc
            except ChannelClosedByBroker as exc:
                self._channel = None
                raise PublishError(f"broker closed the channel: {exc.reply_code} {exc.reply_text}",
                                   exchange=exchange, routing_key=routing_key) from exc
            except (*_LOST, AMQPChannelError) as exc:
                self.close()
                if attempt == 2:
                    raise PublishError(f"broker connection lost: {exc!r}", exchange=exchange,
                                       routing_key=routing_key) from exc
                log.warning("broker connection lost, reconnecting once",
                            extra={"amqp": redact(self.url), "error": repr(exc)})
