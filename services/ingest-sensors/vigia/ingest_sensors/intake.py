"""Accepting sensor data, apart from the transport: publish, confirm, note the device as seen.

Both the WebSocket sessions and the HTTP batch endpoint go through :class:`SensorIntake`; its
coroutines return only once the broker confirmed (or raise
:class:`~vigia.ingest_sensors.publishing.BrokerUnavailable`), and only then is the device noted as
seen and the items counted as accepted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import aio_pika

from vigia.common.auth import DeviceIdentity
from vigia.ingest_sensors.lastseen import LastSeenRecorder
from vigia.ingest_sensors.metrics import AUDIO_CHUNKS_ACCEPTED, BATCHES_PUBLISHED
from vigia.ingest_sensors.publishing import audio_message, batch_message, sensor_routing_key


class Sink(Protocol):
    async def publish(self, routing_key: str, message: aio_pika.Message) -> None: ...


class SensorIntake:
    """Publishes a device's packets (as sensor.batch messages of at most ``max_batch`` packets) and
    audio chunks (sensor.audio) and waits for the confirms."""

    def __init__(self, sink: Sink, last_seen: LastSeenRecorder, max_batch: int) -> None:
        self._sink = sink
        self._last_seen = last_seen
        self.max_batch = max_batch

    async def publish_packets(self, identity: DeviceIdentity, packets: Sequence[dict[str, Any]]) -> None:
        key = sensor_routing_key(identity)
        if len(packets) <= self.max_batch:
            await self._sink.publish(key, batch_message(identity, packets))
            BATCHES_PUBLISHED.inc()
        else:
            chunks = [packets[i:i + self.max_batch] for i in range(0, len(packets), self.max_batch)]
            results = await asyncio.gather(*(self._sink.publish(key, batch_message(identity, chunk))
                                             for chunk in chunks), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
            BATCHES_PUBLISHED.inc(len(chunks))
        self._last_seen.note(identity.device)

    async def publish_audio(self, identity: DeviceIdentity, seq: int, timestamp: int, sample_rate: int,
                            pcm: bytes) -> None:
        await self._sink.publish(sensor_routing_key(identity),
                                 audio_message(identity, seq, timestamp, sample_rate, pcm))
        AUDIO_CHUNKS_ACCEPTED.inc()
        self._last_seen.note(identity.device)
