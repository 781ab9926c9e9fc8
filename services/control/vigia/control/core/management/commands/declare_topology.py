"""``python -m vigia.control declare_topology``: declare every exchange, queue and binding of the
broker topology (idempotent), then drop RTSP URLs left in the control consumers' dead-letter queues.

This is the broker's upgrade step (``make migrate``, compose's ``topology`` job, the k8s topology
Job all run it before the services start). Camera change messages used to carry the camera's RTSP
URL, credentials included; they no longer do, and migration ``outbox.0003`` redacts the outbox. A
dead-letter queue keeps its messages until someone acts, so every DLQ of a queue bound to
``vigia.control`` (and ``mediamtx.control.dlq`` when MediaMTX's sync has declared it) is read once:
a ``camera.*`` message whose data still holds ``rtsp_url`` is removed — it is stale anyway, the
consumers reconcile cameras from the database — and every other message is returned untouched.
The count per queue is logged and printed. Messages still waiting in the live control queues need
nothing: consumers read them without the URL (``vigia.common.messages.CameraChanged``) and ack them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import pika
from django.conf import settings
from django.core.management.base import BaseCommand
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import ChannelClosedByBroker

from vigia.common.broker import BrokerSettings, declare_topology_sync
from vigia.common.broker.topology import CONTROL, Topology, dlq_name
from vigia.control.cameras.management.commands.mediamtx_sync import MEDIAMTX_CONTROL

log = logging.getLogger("vigia.control.declare_topology")


@dataclass(frozen=True)
class DeadLetterScrub:
    """What the scrub did to one dead-letter queue."""

    queue: str
    dropped: int
    kept: int


def carries_rtsp_url(body: bytes) -> bool:
    """Whether ``body`` is a camera change envelope whose data still holds the RTSP URL."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    if not isinstance(envelope, dict) or not str(envelope.get("type", "")).startswith("camera."):
        return False
    data = envelope.get("data")
    return isinstance(data, dict) and "rtsp_url" in data


def control_dead_letter_queues(topology: Topology) -> list[str]:
    """The DLQs of every consumer of ``vigia.control``: the topology's, then MediaMTX's sync."""
    bound = dict.fromkeys(b.destination for b in topology.bindings
                          if b.source == CONTROL and b.destination_kind == "queue")
    return [dlq_name(queue) for queue in [*bound, MEDIAMTX_CONTROL]]


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def scrub_dead_letters(connection: BlockingConnection, queue: str) -> DeadLetterScrub | None:
    """Remove from ``queue`` every message :func:`carries_rtsp_url`; None if the queue does not exist.

    Each message is fetched once without an ack (held, so it is not fetched again): those with a
    URL are acked, the rest are returned to the queue, in one pass, once all were seen.
    """
    channel: BlockingChannel = connection.channel()
    try:
        with _quiet(logging.getLogger("pika.channel")):  # a missing queue is an answer here, not a warning
            channel.queue_declare(queue, passive=True)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return None
        raise
    dropped: list[int] = []
    kept: list[int] = []
    while True:
        method, _properties, body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            break
        (dropped if carries_rtsp_url(body) else kept).append(method.delivery_tag)
    for tag in dropped:
        channel.basic_ack(tag)
    for tag in kept:
        channel.basic_nack(tag, requeue=True)
    channel.close()
    return DeadLetterScrub(queue, len(dropped), len(kept))


class Command(BaseCommand):
    help = ("Declare Vigia's RabbitMQ topology (exchanges, quorum queues, DLQs, bindings), then remove "
            "camera.* messages that still carry an RTSP URL from the DLQs of the vigia.control consumers "
            "(an upgrade step: those messages held camera credentials in clear).")

    def handle(self, *args: Any, **options: Any) -> None:
        broker = BrokerSettings(amqp_url=settings.VIGIA.amqp_url)
        connection = pika.BlockingConnection(pika.URLParameters(broker.amqp_url))
        try:
            topology = declare_topology_sync(connection.channel(), broker)
            scrubs = [s for q in control_dead_letter_queues(topology) if (s := scrub_dead_letters(connection, q))]
        finally:
            connection.close()
        self.stdout.write(
            f"topology declared: {len(topology.exchanges)} exchanges, {len(topology.queues)} queues, "
            f"{len(topology.bindings)} bindings"
        )
        for scrub in scrubs:
            if scrub.dropped:
                log.warning("camera messages with an RTSP URL removed from a dead-letter queue",
                            extra={"queue": scrub.queue, "removed": scrub.dropped, "kept": scrub.kept})
        removed = sum(s.dropped for s in scrubs)
        self.stdout.write(f"dead-letter queues scrubbed: {removed} camera messages with an RTSP URL removed "
                          f"from {', '.join(s.queue for s in scrubs)}")
