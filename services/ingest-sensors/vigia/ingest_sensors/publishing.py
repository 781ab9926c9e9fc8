"""The gateway's link to the broker: sensor.batch and sensor.audio messages, published with
confirms and mandatory routing.

The gateway starts (and answers /healthz) while RabbitMQ is down; until the first connection is
up, and whenever a publish is not confirmed, :meth:`SensorPublisher.publish` raises
:class:`BrokerUnavailable`: the socket is closed with 1013 (HTTP: 503) and the phone resends what
was not acknowledged. After the first connection, aio-pika's robust connection reconnects by
itself and :class:`~vigia.common.broker.AsyncPublisher` waits for it (up to ``confirm_timeout_s``).

Batches are encoded here without building pydantic models: the packets were validated already
(:mod:`.wire`), and validating them again as a ``SensorBatch`` would double the gateway's cost per
packet. The JSON is exactly what ``Envelope.to_json()`` of that SensorBatch would carry (the tests
decode it with :class:`~vigia.common.messages.Envelope`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
import orjson

from vigia.common.auth import DeviceIdentity
from vigia.common.broker import SENSORS, AsyncPublisher, PublishError
from vigia.common.broker.gateway import BrokerUnavailable, GatewayPublisher
from vigia.common.ids import uuid7
from vigia.common.messages import AudioChunk, envelope_headers, format_time_ns, make, new_traceparent
from vigia.ingest_sensors.settings import IngestSensorsSettings

log = logging.getLogger(__name__)

SOURCE = "ingest-sensors"
PERSISTENT = aio_pika.DeliveryMode.PERSISTENT


def sensor_routing_key(identity: DeviceIdentity) -> str:
    """``sensor.<org>.<device>``: the key of topology's sensor.batch and sensor.audio routes."""
    return f"sensor.{identity.org}.{identity.device}"


def batch_message(identity: DeviceIdentity, packets: Sequence[dict[str, Any]]) -> aio_pika.Message:
    """The AMQP message of a ``sensor.batch`` envelope holding ``packets`` (validated wire dicts)."""
    now = time.time_ns()
    message_id = str(uuid7())
    trace = new_traceparent()
    body = orjson.dumps({
        "id": message_id, "type": "sensor.batch", "v": 1, "org": str(identity.org), "source": SOURCE,
        "time": format_time_ns(now), "trace": trace,
        "data": {"device": str(identity.device), "packets": packets},
    })
    return aio_pika.Message(body, content_type="application/json", delivery_mode=PERSISTENT,
                            message_id=message_id, type="sensor.batch",
                            timestamp=datetime.fromtimestamp(now / 1e9, UTC),
                            headers={"traceparent": trace})


def audio_message(identity: DeviceIdentity, seq: int, timestamp: int, sample_rate: int,
                  pcm: bytes) -> aio_pika.Message:
    """A ``sensor.audio`` message: the PCM16 LE mono samples as body, the envelope in ``x-vigia-*``
    headers (like frames), but persistent: audio is evidence, not perishable."""
    chunk = AudioChunk(device=identity.device, seq=seq, timestamp=timestamp, sample_rate=sample_rate,
                       samples=len(pcm) // 2)
    envelope = make("sensor.audio", identity.org, SOURCE, chunk)
    headers: dict[str, Any] = envelope_headers(envelope)
    if envelope.trace:
        headers["traceparent"] = envelope.trace
    return aio_pika.Message(pcm, content_type=f"audio/L16; rate={sample_rate}; channels=1",
                            delivery_mode=PERSISTENT, message_id=str(envelope.id), type="sensor.audio",
                            timestamp=datetime.fromtimestamp(envelope.time / 1e9, UTC), headers=headers)


class SensorPublisher(GatewayPublisher):
    """Owns the broker connection of one gateway process and publishes to ``vigia.sensors``."""

    def __init__(self, settings: IngestSensorsSettings) -> None:
        super().__init__(settings, declare=settings.sensors_declare_topology)

    async def _warm_up(self, publisher: AsyncPublisher) -> None:
        # Resolve the exchange object now so every publish takes AsyncPublisher's fast path.
        await publisher._exchange(SENSORS)

    async def publish(self, routing_key: str, message: aio_pika.Message) -> None:
        """Publish to ``vigia.sensors``; returns once confirmed, else :class:`BrokerUnavailable`."""
        publisher = self._live()
        try:
            await publisher.publish_message(SENSORS, routing_key, message)
        except PublishError as exc:
            raise BrokerUnavailable(str(exc)) from exc
