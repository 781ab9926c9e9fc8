"""The consumer runner against the machine's RabbitMQ: ack after the handler, bounded redelivery
into the DLQ, poison messages, graceful SIGTERM, reconnection, traces and metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY

from vigia.common.broker import (
    AsyncPublisher,
    BrokerSettings,
    Consumer,
    MessageMeta,
    declare_topology,
)
from vigia.common.messages import Envelope, make
from vigia.common.observability import trace_context

ORG = uuid.UUID("0190d5d2-0000-7000-8000-000000000001")
CAMERA = uuid.UUID("0190d5d2-0000-7000-8000-0000000000c1")
SETTINGS = BrokerSettings(sensor_shards=1, frame_shards=1, delivery_limit=2)
QUEUE = "recorder.events"
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")


def detection(label: str = "car") -> Envelope:
    return make("detection.created", ORG, "test", {
        "camera": CAMERA, "frame": uuid.uuid4(), "captured_at": 1, "label": label, "confidence": 0.9,
        "box": {"x1": 0, "y1": 0, "x2": 10, "y2": 10}})


async def declared(amqp_url: str, settings: BrokerSettings = SETTINGS) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await declare_topology(await connection.channel(), settings)


async def depth(amqp_url: str, queue: str) -> int:
    """Ready messages in a queue (a passive declare, no management-stats lag)."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        declared_queue = await (await connection.channel()).declare_queue(queue, passive=True)
        return declared_queue.declaration_result.message_count or 0


async def until(condition, within: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)



def counter(queue: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("vigia_messages_consumed_total",
                                     {"queue": queue, "outcome": outcome}) or 0.0


async def test_handler_gets_the_envelope_and_the_message_is_acked_after_it_returns(amqp_url: str) -> None:
    await declared(amqp_url)
    seen: list[tuple[Envelope, MessageMeta, str | None]] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        seen.append((envelope, meta, trace_context.get()))

    ok_before = counter(QUEUE, "ok")
    envelope = detection()
    consumer = Consumer(amqp_url, QUEUE, handler, settings=SETTINGS)
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish(envelope)
    await until(lambda: len(seen) == 1)
    consumer.stop()
    await task
    got, meta, trace = seen[0]
    assert got == envelope and trace == envelope.trace
    assert meta.routing_key == f"detection.{ORG}.{CAMERA}" and meta.delivery_count == 0
    assert await depth(amqp_url, QUEUE) == 0  # acked: nothing came back when the channel closed
    assert counter(QUEUE, "ok") == ok_before + 1
    assert (REGISTRY.get_sample_value("vigia_message_handle_seconds_count", {"queue": QUEUE}) or 0) >= 1


async def test_queue_lag_is_the_envelopes_age_when_taken_from_the_queue(amqp_url: str) -> None:
    await declared(amqp_url)
    seen: list[Envelope] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        seen.append(envelope)

    def lag(suffix: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(f"vigia_message_age_seconds_{suffix}", {"queue": QUEUE, **labels}) or 0.0

    before = lag("sum"), lag("count"), lag("bucket", le="10.0"), lag("bucket", le="60.0")
    old = detection().model_copy(update={"time": time.time_ns() - 30 * 10**9})  # happened 30 s ago
    consumer = Consumer(amqp_url, QUEUE, handler, settings=SETTINGS)
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish(old)
    await until(lambda: len(seen) == 1)
    consumer.stop()
    await task
    assert lag("count") == before[1] + 1
    assert 30 <= lag("sum") - before[0] < 60
    assert lag("bucket", le="10.0") == before[2] and lag("bucket", le="60.0") == before[3] + 1


async def test_a_message_whose_handler_never_returned_is_not_acked(amqp_url: str) -> None:
    await declared(amqp_url)
    started = asyncio.Event()

    async def stuck(envelope: Envelope, meta: MessageMeta) -> None:
        started.set()
        await asyncio.sleep(3600)

    connection = await aio_pika.connect_robust(amqp_url)
    consumer = Consumer(amqp_url, QUEUE, stuck, connection=connection, settings=SETTINGS)
    await consumer.start()
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish(detection())
    await asyncio.wait_for(started.wait(), 10)
    await connection.close()  # the worker dies mid-handler
    await until(lambda: depth(amqp_url, QUEUE))
    assert await depth(amqp_url, QUEUE) == 1


async def test_a_failing_message_ends_in_the_dlq_after_the_delivery_limit_and_others_still_flow(
        amqp_url: str) -> None:
    await declared(amqp_url)
    attempts: list[int] = []
    handled: list[str] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        label = envelope.data.label  # type: ignore[attr-defined]
        if label == "bad":
            attempts.append(meta.delivery_count)
            raise RuntimeError("the database said no")
        handled.append(label)

    failed_before = counter(QUEUE, "failed")
    consumer = Consumer(amqp_url, QUEUE, handler, settings=SETTINGS, prefetch=4)
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    bad = detection("bad")
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish(bad)
        for i in range(5):
            await publisher.publish(detection(f"good{i}"))
    await until(lambda: depth(amqp_url, "recorder.events.dlq"))
    await until(lambda: len(handled) == 5)
    consumer.stop()
    await task
    assert sorted(handled) == [f"good{i}" for i in range(5)]
    assert len(attempts) == SETTINGS.delivery_limit + 1  # first delivery + `limit` redeliveries
    assert attempts == sorted(attempts)
    assert counter(QUEUE, "failed") - failed_before == len(attempts)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        dlq = await (await connection.channel()).get_queue("recorder.events.dlq")
        dead = await dlq.get(no_ack=True)
    assert dead.message_id == str(bad.id)
    death = dead.headers["x-death"][0]
    assert death["queue"] == QUEUE and death["reason"] == "delivery_limit"
    assert death["routing-keys"] == [f"detection.{ORG}.{CAMERA}"]  # the original key is kept
    assert await depth(amqp_url, QUEUE) == 0


@pytest.mark.parametrize("body", [b"not json", b'{"type": "no.such.type"}', b"[]"])
async def test_an_undecodable_message_goes_straight_to_the_dlq(amqp_url: str, body: bytes) -> None:
    await declared(amqp_url)
    calls: list[Envelope] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        calls.append(envelope)

    poison_before = counter(QUEUE, "poison")
    consumer = Consumer(amqp_url, QUEUE, handler, settings=SETTINGS)
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish_raw("vigia.events", f"detection.{ORG}.{CAMERA}", body,
                                    message_id="poison-1", type="detection.created")
        await publisher.publish(detection("after"))
    await until(lambda: len(calls) == 1)
    await until(lambda: depth(amqp_url, "recorder.events.dlq"))
    consumer.stop()
    await task
    assert calls[0].data.label == "after"  # type: ignore[attr-defined]
    assert counter(QUEUE, "poison") == poison_before + 1
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        dead = await (await (await connection.channel()).get_queue("recorder.events.dlq")).get(no_ack=True)
    assert dead.body == body and dead.headers["x-death"][0]["reason"] == "rejected"


async def test_frame_consumer_gets_the_envelope_and_the_jpeg(amqp_url: str) -> None:
    await declared(amqp_url)
    got: list[tuple[Envelope, bytes]] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        got.append((envelope, meta.body))

    envelope = make("frame.captured", ORG, "streamer", {"camera": CAMERA, "width": 2, "height": 2})
    consumer = Consumer(amqp_url, "vision.frames.0", handler, decode="frame", settings=SETTINGS)
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish_frame(envelope, b"\xff\xd8jpeg")
    await until(lambda: len(got) == 1)
    consumer.stop()
    await task
    assert got == [(envelope, b"\xff\xd8jpeg")]


def test_unlimited_prefetch_is_refused() -> None:
    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        pass

    with pytest.raises(ValueError, match="prefetch"):
        Consumer("amqp://localhost", QUEUE, handler, prefetch=0)


async def test_consumer_reconsumes_after_the_broker_drops_its_connection(
        amqp_url: str, amqp_vhost: str, close_amqp_connections: Any) -> None:
    await declared(amqp_url)
    labels: list[str] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        labels.append(envelope.data.label)  # type: ignore[attr-defined]

    consumer = Consumer(amqp_url, QUEUE, handler, settings=SETTINGS, connection_name="consumer-under-test")
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    await asyncio.wait_for(consumer.started.wait(), 10)
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish(detection("before"))
        await until(lambda: labels == ["before"])
        await close_amqp_connections(amqp_vhost, "consumer-under-test")
        await asyncio.sleep(0.5)
        await publisher.publish(detection("after"))
        await until(lambda: "after" in labels, within=30)
    consumer.stop()
    await task


WORKER = textwrap.dedent("""
    import asyncio, logging, sys
    from pathlib import Path
    from vigia.common.broker import BrokerSettings, Consumer

    url, marks = sys.argv[1], Path(sys.argv[2])

    async def slow(envelope, meta):
        (marks / "started").write_text(str(envelope.id))
        await asyncio.sleep(2)
        (marks / "done").write_text(str(envelope.id))

    logging.basicConfig(level=logging.INFO)
    asyncio.run(Consumer(url, "recorder.events", slow, settings=BrokerSettings(sensor_shards=1),
                         grace_period=20).run())
""")


async def test_sigterm_finishes_the_in_flight_message_acks_it_and_exits_zero(
        amqp_url: str, tmp_path: Path) -> None:
    await declared(amqp_url)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, amqp_url, str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "VIGIA_ENV": "test"})
    try:
        envelope = detection()
        async with AsyncPublisher(amqp_url) as publisher:
            await publisher.publish(envelope)
            await until(lambda: (tmp_path / "started").exists(), within=30)
            worker.send_signal(signal.SIGTERM)
            # Consuming has stopped: a message published now stays in the queue for the next worker.
            await asyncio.sleep(0.3)
            await publisher.publish(detection("later"))
        output, _ = await asyncio.wait_for(worker.communicate(), 15)
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode == 0, output.decode()
    assert (tmp_path / "done").read_text() == str(envelope.id)
    assert await depth(amqp_url, QUEUE) == 1  # only "later": the in-flight one was acked


async def test_a_message_meeting_a_dependency_down_is_retried_in_place_not_dead_lettered(amqp_url: str) -> None:
    """The database restarting: the handler fails with an ``unavailable`` error more times than the
    delivery limit allows, then succeeds. The message is held and handled once it is back -- never
    nacked, so its deliveries are not spent and it does not end in the DLQ."""
    await declared(amqp_url)

    class DatabaseDown(ConnectionError):
        pass

    calls: list[int] = []
    handled: list[str] = []

    async def handler(envelope: Envelope, meta: MessageMeta) -> None:
        calls.append(meta.delivery_count)
        if len(calls) <= SETTINGS.delivery_limit + 3:
            raise DatabaseDown("connection refused")
        handled.append(str(envelope.id))

    consumer = Consumer(amqp_url, QUEUE, handler, settings=SETTINGS, prefetch=4,
                        unavailable=(DatabaseDown,), unavailable_backoff_max_s=0.2)
    task = asyncio.create_task(consumer.run(install_signal_handlers=False))
    message = detection()
    async with AsyncPublisher(amqp_url) as publisher:
        await publisher.publish(message)
    await until(lambda: handled)
    consumer.stop()
    await task
    assert handled == [str(message.id)]
    assert calls == [0] * (SETTINGS.delivery_limit + 4)  # one delivery, called until it worked
    assert await depth(amqp_url, "recorder.events.dlq") == 0
    assert await depth(amqp_url, QUEUE) == 0
