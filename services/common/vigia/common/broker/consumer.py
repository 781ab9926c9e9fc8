"""The consumer runner: turns queue messages into envelopes and calls a plain async handler.

Contract, per message:

* decoded (JSON envelope, or frame headers + binary body) -> ``await handler(envelope, meta)``;
* the handler returns -> ack (so ack follows the handler's committed side effects);
* the handler raises -> nack(requeue=True): the quorum queue counts the delivery and, past its
  ``x-delivery-limit``, dead-letters the message to ``<queue>.dlq``; the consumer keeps going;
* the handler raises one of the consumer's ``unavailable`` errors (a dependency is down: the
  database restarting) -> the message is not at fault: it stays unacked and the handler is called
  again with back-off until it returns (or the consumer stops: then it goes back to the queue).
  Nacking would spend its deliveries within milliseconds and dead-letter it while the database
  is away;
* the message cannot be decoded (not JSON, unknown type, invalid fields) -> poison:
  reject(requeue=False) straight to the DLQ, with a log line; retrying could not help.

Prefetch is always bounded (basic.qos, default 16) and is also the handler concurrency. On
SIGTERM/SIGINT the runner cancels its consumer, waits up to the grace period for in-flight
handlers (acking them), closes the connection and returns. The connection is robust: after a
broker restart or a dropped connection, aio-pika reconnects and re-consumes.

While a handler runs, :data:`vigia.common.observability.trace_context` holds the message's
traceparent, so its logs carry the trace id.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from prometheus_client import Counter, Histogram

from vigia.common.broker.connection import connect
from vigia.common.broker.settings import BrokerSettings
from vigia.common.messages import Envelope, envelope_from_headers
from vigia.common.observability import traced

log = logging.getLogger(__name__)

MESSAGES_CONSUMED = Counter(
    "vigia_messages_consumed_total", "Messages taken from a queue, by outcome "
    "(ok: acked; failed: nacked for redelivery or DLQ; poison: undecodable, sent to the DLQ; "
    "dropped: failed perishable message discarded)", ["queue", "outcome"])
MESSAGE_AGE_SECONDS = Histogram(
    "vigia_message_age_seconds", "Queue lag: from the envelope's time (when what it reports happened) "
    "to the moment a consumer takes it from the queue", ["queue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
DEPENDENCY_RETRIES = Counter(
    "vigia_consumer_dependency_retries_total", "Handler calls retried in place because a dependency "
    "was unavailable (the message held, not nacked)", ["queue"])
MESSAGE_HANDLE_SECONDS = Histogram(
    "vigia_message_handle_seconds", "Time spent in the message handler", ["queue"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


@dataclass(frozen=True)
class MessageMeta:
    """What a handler may need besides the envelope. ``body`` is the raw body: the JPEG for
    frames. ``delivery_count`` is how many times the broker delivered it before (quorum queues'
    ``x-delivery-count``; 0 on the first delivery)."""

    queue: str
    exchange: str
    routing_key: str
    redelivered: bool
    delivery_count: int
    headers: Mapping[str, Any]
    body: bytes
    message: AbstractIncomingMessage = field(repr=False)


Handler = Callable[[Envelope, MessageMeta], Awaitable[None]]
Decode = Literal["json", "frame"]


class PoisonMessage(ValueError):
    """A message that can never be handled (it does not decode into a valid envelope)."""


def decode_message(message: AbstractIncomingMessage, decode: Decode) -> Envelope:
    """The envelope of a delivered message; raises PoisonMessage when it has none."""
    try:
        if decode == "frame":
            return envelope_from_headers(dict(message.headers or {}))
        return Envelope.from_json(message.body)
    except Exception as exc:  # pydantic, orjson, bad header types: all mean "never decodable"
        raise PoisonMessage(str(exc)) from exc


def _delivery_count(headers: Mapping[str, Any]) -> int:
    value = headers.get("x-delivery-count")
    return value if isinstance(value, int) else 0


class Consumer:
    """Consumes one queue with a handler; see the module docstring for the contract.

    ``requeue_failures`` (default: True for envelopes, False for frames) chooses what a handler
    failure does: requeue for redelivery (counted towards the delivery limit), or drop (frames are
    perishable and their queue has no DLQ). ``setup`` runs on the channel before consuming (e.g.
    ``declare_topology``). ``unavailable``: exception types meaning a dependency is down, retried
    in place with back-off (up to ``unavailable_backoff_max_s`` between calls), never nacked.
    """

    def __init__(self, url: str, queue: str, handler: Handler, *, prefetch: int | None = None,
                 decode: Decode = "json", grace_period: float | None = None,
                 requeue_failures: bool | None = None,
                 setup: Callable[[AbstractChannel], Awaitable[Any]] | None = None,
                 settings: BrokerSettings | None = None, connection_name: str | None = None,
                 connection: AbstractRobustConnection | None = None,
                 unavailable: tuple[type[BaseException], ...] = (),
                 unavailable_backoff_max_s: float = 5.0) -> None:
        defaults = BrokerSettings.model_fields
        prefetch = prefetch if prefetch is not None else (
            settings.prefetch if settings else defaults["prefetch"].default)
        if not isinstance(prefetch, int) or prefetch < 1:
            raise ValueError("prefetch must be a positive integer: unlimited prefetch is never safe")
        self.url = url
        self.queue_name = queue
        self.handler = handler
        self.prefetch = prefetch
        self.decode: Decode = decode
        self.grace_period = grace_period if grace_period is not None else (
            settings.shutdown_grace_s if settings else defaults["shutdown_grace_s"].default)
        self.requeue_failures = decode != "frame" if requeue_failures is None else requeue_failures
        self.setup = setup
        self.unavailable = unavailable
        self.unavailable_backoff_max_s = unavailable_backoff_max_s
        self.connection_name = connection_name or f"consumer:{queue}"
        self._connection = connection
        self._owns_connection = connection is None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self.started = asyncio.Event()

    # --- lifecycle ---

    async def start(self) -> None:
        """Connect, run ``setup``, set prefetch and start consuming."""
        if self._connection is None:
            self._connection = await connect(self.url, name=self.connection_name)
        self._channel = await self._connection.channel()
        if self.setup is not None:
            await self.setup(self._channel)
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._queue = await self._channel.get_queue(self.queue_name, ensure=True)
        self._tag = await self._queue.consume(self._on_message)
        self.started.set()
        # DEBUG: each service says once that it is ready; a line per queue (16 shards) is noise.
        log.debug("consuming", extra={"queue": self.queue_name, "prefetch": self.prefetch})

    def stop(self) -> None:
        """Ask :meth:`run` to shut down gracefully (safe from a signal handler)."""
        self._stopping.set()

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        """Consume until :meth:`stop` (or SIGTERM/SIGINT), then shut down gracefully."""
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        try:
            await self.start()
            await self._stopping.wait()
        finally:
            if install_signal_handlers:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            await self.shutdown()

    async def shutdown(self) -> None:
        """Cancel the consumer, let in-flight handlers finish (up to the grace period), close."""
        log.info("stopping consumer", extra={"queue": self.queue_name, "in_flight": len(self._in_flight)})
        if self._queue is not None and self._tag is not None and self._channel is not None \
                and not self._channel.is_closed:
            try:
                await self._queue.cancel(self._tag, timeout=5)
            except Exception:
                log.warning("consumer cancel failed", extra={"queue": self.queue_name}, exc_info=True)
        self._tag = None
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=self.grace_period)
            if pending:
                # Unacked messages go back to the queue when the channel closes: nothing is lost.
                log.warning("grace period over, abandoning in-flight handlers",
                            extra={"queue": self.queue_name, "abandoned": len(pending)})
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        if self._owns_connection and self._connection is not None:
            await self._connection.close()
        self._channel = None

    # --- per message ---

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await self._process(message)
        finally:
            self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        queue = self.queue_name
        try:
            envelope = decode_message(message, self.decode)
        except PoisonMessage as exc:
            log.error("poison message sent to the dead-letter queue",
                      extra={"queue": queue, "message_id": message.message_id, "type": message.type,
                             "error": str(exc)[:500]})
            MESSAGES_CONSUMED.labels(queue, "poison").inc()
            await self._settle(message.reject(requeue=False))
            return
        MESSAGE_AGE_SECONDS.labels(queue).observe(max(0.0, (time.time_ns() - envelope.time) / 1e9))
        headers = dict(message.headers or {})
        meta = MessageMeta(
            queue=queue, exchange=message.exchange or "", routing_key=message.routing_key or "",
            redelivered=bool(message.redelivered),
            delivery_count=_delivery_count(headers),
            headers=headers, body=message.body, message=message)
        started = time.perf_counter()
        try:
            await self._handle(envelope, meta)
        except asyncio.CancelledError:
            # Shutdown past the grace period: hand the message back untouched.
            await self._settle(message.nack(requeue=True))
            raise
        except Exception:
            MESSAGE_HANDLE_SECONDS.labels(queue).observe(time.perf_counter() - started)
            with traced(envelope.trace):
                log.exception("handler failed", extra={
                    "queue": queue, "message_id": str(envelope.id), "type": envelope.type,
                    "delivery_count": meta.delivery_count, "requeue": self.requeue_failures})
            MESSAGES_CONSUMED.labels(queue, "failed" if self.requeue_failures else "dropped").inc()
            await self._settle(message.nack(requeue=self.requeue_failures))
            return
        MESSAGE_HANDLE_SECONDS.labels(queue).observe(time.perf_counter() - started)
        MESSAGES_CONSUMED.labels(queue, "ok").inc()
        await self._settle(message.ack())

    async def _handle(self, envelope: Envelope, meta: MessageMeta) -> None:
        """Call the handler; while it fails because a dependency is unavailable, call it again after
        a growing pause (0.1 s doubling up to the maximum), holding the message."""
        pause = 0.1
        while True:
            try:
                with traced(envelope.trace):
                    await self.handler(envelope, meta)
                return
            except self.unavailable as exc:
                DEPENDENCY_RETRIES.labels(self.queue_name).inc()
                with traced(envelope.trace):
                    log.warning("a dependency is unavailable; retrying the message in place", extra={
                        "queue": self.queue_name, "message_id": str(envelope.id), "retry_in_s": pause,
                        "error": str(exc)[:300]})
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.unavailable_backoff_max_s)

    async def _settle(self, settling: Awaitable[None]) -> None:
        try:
            await settling
        except Exception:
            # The channel died under us: the broker redelivers the message; handlers are idempotent.
            log.warning("could not settle message, it will be redelivered",
                        extra={"queue": self.queue_name}, exc_info=True)
