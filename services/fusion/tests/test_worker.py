"""``python -m vigia.fusion`` as a process against the real broker, PostgreSQL and Redis:
end to end through the sharded queues, SIGKILL mid-stream without loss or duplicates, poison
messages to the DLQ, health and metrics, clean SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import httpx
import psycopg
import pytest
from redis.asyncio import Redis

from services.fusion.tests.conftest import REDIS_URL, Tap, batch_envelopes, packets, telemetry_count
from services.fusion.tests.signals import noise, pcm16, tone
from tests.support.processes import free_port, wait_ready
from vigia.common.broker import SENSORS, AsyncPublisher, dlq_name, frame_message, routing_key, sensor_shard_queue
from vigia.common.messages import AudioChunk, make
from vigia.fusion.audio_stream import audio_stream_key
from vigia.fusion.config import FusionSettings

SHARDS = 2


Start = Callable[..., Awaitable[tuple[asyncio.subprocess.Process, int]]]


@pytest.fixture
async def start_worker(settings: FusionSettings) -> AsyncIterator[Start]:
    processes: list[asyncio.subprocess.Process] = []

    async def start(**env: str) -> tuple[asyncio.subprocess.Process, int]:
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vigia.fusion", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "VIGIA_DATABASE_URL": settings.database_url, "VIGIA_AMQP_URL": settings.amqp_url,
                 "VIGIA_REDIS_URL": REDIS_URL, "VIGIA_METRICS_PORT": str(port),
                 "VIGIA_SENSOR_SHARDS": str(SHARDS), "VIGIA_FUSION_BATCH_LINGER_MS": "5",
                 # A killed worker's shards are taken over within 3 s.
                 "VIGIA_SHARD_LEASE_MS": "3000", **env})
        processes.append(process)
        await wait_ready(process, port, "fusion", within_s=30)
        return process, port

    yield start
    for process in processes:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_for(check: Callable[[], Any], seconds: float = 60) -> Any:
    for _ in range(int(seconds * 10)):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_batches_and_audio_flow_end_to_end_and_sigterm_exits_cleanly(
        start_worker: Start, publisher: AsyncPublisher, anomalies: Tap, db: psycopg.Connection[Any],
        redis: Redis) -> None:
    process, port = await start_worker()
    org = uuid.uuid4()
    devices = [uuid.uuid4() for _ in range(3)]
    for device in devices:
        await publisher.publish_many(batch_envelopes(org, device, packets(300, spikes={200: 9.0})))
    rate = 48_000
    pcm = pcm16(noise(rate, 0.5) + tone(rate, 0.5, 19_500, 0.05))
    audio = make("sensor.audio", org, "ingest-sensors", AudioChunk(
        device=devices[0], seq=10_000, timestamp=1_700_000_000_000_000_000, sample_rate=rate, samples=len(pcm) // 2))
    await publisher.publish_message(SENSORS, routing_key(audio), frame_message(audio, pcm))

    await wait_for(lambda: all(telemetry_count(db, d) == (300, 300) for d in devices))
    found: list[Any] = []

    async def kinds() -> set[tuple[uuid.UUID, str]]:
        found.extend(await anomalies.take())
        return {(a.data.device, a.data.kind) for a in found}

    for _ in range(300):
        if len(await kinds()) == 4:
            break
        await asyncio.sleep(0.1)
    assert await kinds() == {*((d, "magnetic") for d in devices), (devices[0], "audio_ultrasound")}
    assert len(await redis.xrange(audio_stream_key(devices[0]))) == 1

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert (await http.get("/healthz")).status_code == 200
        metrics = (await http.get("/metrics")).text
    assert 'fusion_packets_total{outcome="analysed"} 900.0' in metrics
    assert 'fusion_telemetry_rows_total{outcome="stored"} 900.0' in metrics
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()[-2000:]


def sample(metrics: str, name: str) -> float:
    """One sample's value from a /metrics page (0 when absent)."""
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_two_workers_split_the_shards_and_both_do_work(
        start_worker: Start, publisher: AsyncPublisher, db: psycopg.Connection[Any]) -> None:
    first, first_port = await start_worker()
    second, second_port = await start_worker()

    async def held(port: int) -> float:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            return sample((await http.get("/metrics")).text, 'vigia_shards_held{group="fusion"}')

    # The first took both shards alone; once the second is live it hands one over.
    for _ in range(200):
        if (await held(first_port), await held(second_port)) == (1.0, 1.0):
            break
        await asyncio.sleep(0.1)
    assert (await held(first_port), await held(second_port)) == (1.0, 1.0)
    org = uuid.uuid4()
    devices = [uuid.uuid4() for _ in range(20)]  # both shards get some (all on one: p = 2e-6)
    for device in devices:
        await publisher.publish_many(batch_envelopes(org, device, packets(100)))
    await wait_for(lambda: all(telemetry_count(db, d) == (100, 100) for d in devices))
    analysed = []
    for port in (first_port, second_port):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            analysed.append(sample((await http.get("/metrics")).text, 'fusion_packets_total{outcome="analysed"}'))
    assert sum(analysed) == 2000 and min(analysed) > 0, analysed
    for process in (first, second):
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        assert process.returncode == 0


async def test_sigkill_mid_stream_loses_and_duplicates_nothing(
        start_worker: Start, publisher: AsyncPublisher, db: psycopg.Connection[Any], amqp_url: str) -> None:
    org = uuid.uuid4()
    devices = [uuid.uuid4() for _ in range(4)]
    per_device = 5000
    for device in devices:
        await publisher.publish_many(batch_envelopes(org, device, packets(per_device), size=50))
    total = per_device * len(devices)

    def stored() -> int:
        row = db.execute("SELECT count(*) FROM telemetry WHERE device_id = ANY(%s)", (devices,)).fetchone()
        return int(row[0]) if row else 0

    process, _ = await start_worker(VIGIA_FUSION_BATCH_ROWS="500")
    await wait_for(lambda: stored() > 0, seconds=60)
    process.send_signal(signal.SIGKILL)
    await process.wait()
    at_kill = stored()
    assert 0 < at_kill < total, "the worker should die mid-stream"

    _, port = await start_worker()
    await wait_for(lambda: stored() >= total, seconds=120)
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        metrics = (await http.get("/metrics")).text
    # The new worker stored exactly what was missing; whatever it got again was merged away.
    assert f'fusion_telemetry_rows_total{{outcome="stored"}} {float(total - at_kill)}' in metrics
    for device in devices:
        assert telemetry_count(db, device) == (per_device, per_device)
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    for shard in range(SHARDS):  # nothing left behind, nothing dead-lettered
        queue = await channel.get_queue(sensor_shard_queue(shard))
        assert (await channel.declare_queue(queue.name, passive=True)).declaration_result.message_count == 0
        assert await (await channel.get_queue(dlq_name(queue.name))).get(fail=False) is None
    await connection.close()


async def test_poison_message_goes_to_the_dead_letter_queue_and_the_worker_goes_on(
        start_worker: Start, publisher: AsyncPublisher, db: psycopg.Connection[Any], amqp_url: str) -> None:
    await start_worker()
    org, device = uuid.uuid4(), uuid.uuid4()
    key = f"sensor.{org}.{device}"
    await publisher.publish_raw(SENSORS, key, b"{not json", message_id=str(uuid.uuid4()), type="sensor.batch")
    await publisher.publish_raw(SENSORS, key, b'{"type":"sensor.batch","org":"' + str(org).encode()
                                + b'","source":"x","data":{"device":"' + str(device).encode() + b'","packets":[]}}',
                                message_id=str(uuid.uuid4()), type="sensor.batch")
    await publisher.publish_many(batch_envelopes(org, device, packets(100)))
    await wait_for(lambda: telemetry_count(db, device) == (100, 100))

    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel()
    dead: list[bytes] = []
    for _ in range(100):
        for shard in range(SHARDS):
            queue = await channel.get_queue(dlq_name(sensor_shard_queue(shard)))
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                dead.append(message.body)
        if len(dead) >= 2:
            break
        await asyncio.sleep(0.1)
    await connection.close()
    assert sorted(body[:9] for body in dead) == [b'{"type":"', b"{not json"]
