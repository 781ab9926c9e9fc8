"""The fusion handler against the real broker, PostgreSQL and Redis (no worker process): rows,
anomalies, audio streams, and what happens when a message comes back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from redis.asyncio import Redis

from services.fusion.tests.conftest import Tap, batch_envelopes, packets, telemetry_count
from services.fusion.tests.signals import noise, pcm16, vowel
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import AnomalyDetected, AudioChunk, Envelope, make
from vigia.fusion.audio_stream import AudioStreams, audio_stream_key
from vigia.fusion.batcher import TelemetryBatcher
from vigia.fusion.config import FusionSettings
from vigia.fusion.service import FusionService, anomaly_id
from vigia.fusion.state import DeviceStates
from vigia.fusion.telemetry import TelemetryWriter


@pytest.fixture
async def batcher(settings: FusionSettings) -> AsyncIterator[TelemetryBatcher]:
    b = TelemetryBatcher(TelemetryWriter(settings.database_url), linger_s=0.005)
    b.start()
    yield b
    await b.close()


def make_service(settings: FusionSettings, batcher: TelemetryBatcher, redis: Redis, publish: Any) -> FusionService:
    return FusionService(DeviceStates(settings), batcher, AudioStreams(redis, 600), publish)


async def test_batches_become_rows_and_spikes_become_one_anomaly_each(
        settings: FusionSettings, batcher: TelemetryBatcher, redis: Redis, publisher: AsyncPublisher,
        anomalies: Tap, db: psycopg.Connection[Any]) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    service = make_service(settings, batcher, redis, publisher.publish)
    sent = packets(400, spikes={150: 8.0, 151: 8.0, 300: -9.0}, humanoid_at={200, 201, 202})
    envelopes = batch_envelopes(org, device, sent)
    for envelope in envelopes:
        await service.handle_batch(envelope)
    assert telemetry_count(db, device) == (400, 400)
    found = await anomalies.take()
    by_kind = sorted((a.data.kind, a.data.details["seq"]) for a in found if isinstance(a.data, AnomalyDetected))
    # Two spikes in a row are one anomaly (cool-down); the humanoid flag counts when it rises.
    assert by_kind == [("humanoid", 201), ("magnetic", 151), ("magnetic", 301)]
    magnetic = next(a for a in found if a.data.kind == "magnetic" and a.data.details["seq"] == 151)
    assert magnetic.org == org and magnetic.data.device == device
    assert magnetic.data.severity.value == "critical" and magnetic.data.score > 5
    assert magnetic.id == anomaly_id(device, "magnetic", 151, sent[150].timestamp)
    assert magnetic.trace == envelopes[3].trace  # the anomaly continues the batch's trace


async def test_a_redelivered_batch_is_stored_and_reported_once(
        settings: FusionSettings, batcher: TelemetryBatcher, redis: Redis, publisher: AsyncPublisher,
        anomalies: Tap, db: psycopg.Connection[Any]) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    envelopes = batch_envelopes(org, device, packets(200, spikes={120: 9.0}))
    first = make_service(settings, batcher, redis, publisher.publish)
    for envelope in envelopes:
        await first.handle_batch(envelope)
    published = {a.id for a in await anomalies.take()}
    assert len(published) == 1
    await first.handle_batch(envelopes[2], redelivered=True)  # same worker: already analysed
    assert await anomalies.take() == []
    # A new worker (the first one died before acking) gets everything again.
    second = make_service(settings, batcher, redis, publisher.publish)
    for envelope in envelopes:
        await second.handle_batch(envelope, redelivered=True)
    assert telemetry_count(db, device) == (200, 200)
    assert {a.id for a in await anomalies.take()} <= published  # same ids: the recorder stores them once


async def test_anomalies_of_a_failed_message_are_published_when_it_comes_back(
        settings: FusionSettings, batcher: TelemetryBatcher, redis: Redis, publisher: AsyncPublisher,
        anomalies: Tap) -> None:
    attempts: list[Envelope] = []

    async def flaky(envelope: Envelope) -> None:
        attempts.append(envelope)
        if len(attempts) == 1:
            raise RuntimeError("broker said no")
        await publisher.publish(envelope)

    org, device = uuid.uuid4(), uuid.uuid4()
    service = make_service(settings, batcher, redis, flaky)
    envelopes = batch_envelopes(org, device, packets(100, spikes={80: 9.0}))
    for envelope in envelopes[:1]:
        await service.handle_batch(envelope)
    with pytest.raises(RuntimeError):
        await service.handle_batch(envelopes[1])
    await service.handle_batch(envelopes[1], redelivered=True)
    assert [a.data.kind for a in await anomalies.take()] == ["magnetic"]
    assert attempts[0].id == attempts[1].id


async def test_audio_chunks_go_to_the_device_stream_and_voice_is_reported(
        settings: FusionSettings, batcher: TelemetryBatcher, redis: Redis, publisher: AsyncPublisher,
        anomalies: Tap) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    service = make_service(settings, batcher, redis, publisher.publish)
    rate, t0 = 16_000, 1_700_000_000_000_000_000
    clip = noise(rate, 2) + vowel(rate, 2)
    chunks = []
    for i in range(4):
        pcm = pcm16(clip[i * rate // 2:(i + 1) * rate // 2])
        envelope = make("sensor.audio", org, "ingest-sensors", AudioChunk(
            device=device, seq=10 + i, timestamp=t0 + i * 500_000_000, sample_rate=rate, samples=len(pcm) // 2))
        chunks.append((envelope, pcm))
        await service.handle_audio(envelope, pcm)
    await service.handle_audio(*chunks[1], redelivered=True)  # already in the stream
    entries = await redis.xrange(audio_stream_key(device))
    assert [int(fields[b"t"]) for _, fields in entries] == [t0 + i * 500_000_000 for i in range(4)]
    assert entries[0][1][b"rate"] == b"16000" and entries[0][1][b"pcm"] == chunks[0][1]
    found = await anomalies.take()
    assert [a.data.kind for a in found] == ["audio_voice"]  # one per cool-down, not one per chunk
    bad = chunks[0][0].model_copy(update={"id": uuid.uuid4()})
    with pytest.raises(ValueError, match="samples"):
        await service.handle_audio(bad, chunks[0][1] + b"\x00\x00")
