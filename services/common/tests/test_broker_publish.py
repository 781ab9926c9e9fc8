"""Async and sync publishers against the machine's RabbitMQ: confirms, mandatory routing,
message properties, perishable frames and reconnection."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any

import aio_pika
import pika
import pytest

from vigia.common.broker import (
    AsyncPublisher,
    BatchPublishError,
    BrokerSettings,
    PublishError,
    SyncPublisher,
    UnroutableError,
    declare_topology,
)
from vigia.common.broker.topology import Binding, ExchangeSpec, QueueSpec, Topology, build_topology, frame_shard_queues
from vigia.common.messages import Envelope, envelope_from_headers, make

ORG = uuid.UUID("0190d5d2-0000-7000-8000-000000000001")
CAMERA = uuid.UUID("0190d5d2-0000-7000-8000-0000000000c1")
SETTINGS = BrokerSettings(sensor_shards=1, frame_shards=1)
MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")


def detection(label: str = "car") -> Envelope:
    return make("detection.created", ORG, "test", {
        "camera": CAMERA, "frame": uuid.uuid4(), "captured_at": 1, "label": label, "confidence": 0.9,
        "box": {"x1": 0, "y1": 0, "x2": 10, "y2": 10}})


def frame(seq: int) -> Envelope:
    return make("frame.captured", ORG, "streamer", {"camera": CAMERA, "width": 2, "height": 2, "seq": seq})


async def get_all(amqp_url: str, queue_name: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        queue = await (await connection.channel()).get_queue(queue_name)
        messages = []
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            messages.append(message)
        return messages


async def only_exchanges(amqp_url: str) -> None:
    """The exchanges of the topology without any queue: every message is unroutable."""
    topo = build_topology(SETTINGS)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await declare_topology(await connection.channel(), topology=Topology(topo.exchanges, (), ()))


# --- async -----------------------------------------------------------------------------------


async def test_async_publish_returns_after_confirm_with_the_envelope_properties(amqp_url: str) -> None:
    envelope = detection()
    async with AsyncPublisher(amqp_url, settings=SETTINGS, declare=True) as publisher:
        await publisher.publish(envelope)
    recorded = await get_all(amqp_url, "recorder.events")
    assert len(recorded) == 1 and len(await get_all(amqp_url, "correlator.in")) == 1
    message = recorded[0]
    assert Envelope.from_json(message.body) == envelope
    assert message.message_id == str(envelope.id)
    assert message.type == "detection.created"
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.headers["traceparent"] == envelope.trace
    assert message.routing_key == f"detection.{ORG}.{CAMERA}"
    assert message.timestamp is not None and abs(message.timestamp.timestamp() - envelope.time / 1e9) < 1


async def test_async_unroutable_publish_raises_and_the_publisher_keeps_working(amqp_url: str) -> None:
    async with AsyncPublisher(amqp_url, settings=SETTINGS, declare=True) as publisher:
        with pytest.raises(UnroutableError) as error:
            await publisher.publish_raw("vigia.events", "nobody.listens.here", b"{}",
                                        message_id="m1", type="test")
        assert error.value.routing_key == "nobody.listens.here"
        await publisher.publish(detection())
    assert len(await get_all(amqp_url, "recorder.events")) == 1


async def test_async_publish_of_a_type_nobody_binds_raises_unroutable(amqp_url: str) -> None:
    await only_exchanges(amqp_url)
    async with AsyncPublisher(amqp_url) as publisher:
        with pytest.raises(UnroutableError):
            await publisher.publish(detection())


async def test_async_publish_to_a_missing_exchange_raises_and_the_channel_recovers(amqp_url: str) -> None:
    async with AsyncPublisher(amqp_url, settings=SETTINGS, declare=True, confirm_timeout=5) as publisher:
        with pytest.raises(PublishError, match="does not exist"):
            await publisher.publish_raw("vigia.nope", "x", b"{}", message_id="m1", type="test")
        await publisher.publish(detection())
    assert len(await get_all(amqp_url, "recorder.events")) == 1


async def test_publish_many_confirms_every_message(amqp_url: str) -> None:
    envelopes = [detection(f"l{i}") for i in range(300)]
    async with AsyncPublisher(amqp_url, settings=SETTINGS, declare=True) as publisher:
        await publisher.publish_many(envelopes, window=64)
    stored = await get_all(amqp_url, "recorder.events")
    assert sorted(m.message_id for m in stored) == sorted(str(e.id) for e in envelopes)


async def test_publish_many_reports_each_unroutable_message(amqp_url: str) -> None:
    await only_exchanges(amqp_url)
    envelopes = [detection() for _ in range(10)]
    async with AsyncPublisher(amqp_url) as publisher:
        with pytest.raises(BatchPublishError) as error:
            await publisher.publish_many(envelopes)
    assert [item for item, _ in error.value.failures] == envelopes
    assert all(isinstance(exc, UnroutableError) for _, exc in error.value.failures)


async def test_frames_travel_transient_with_the_envelope_in_headers(amqp_url: str) -> None:
    envelope = frame(7)
    async with AsyncPublisher(amqp_url, settings=SETTINGS, declare=True) as publisher:
        await publisher.publish_frame(envelope, b"\xff\xd8jpeg")
    [message] = await get_all(amqp_url, "vision.frames.0")
    assert message.body == b"\xff\xd8jpeg"
    assert message.content_type == "image/jpeg"
    assert message.delivery_mode == aio_pika.DeliveryMode.NOT_PERSISTENT
    assert envelope_from_headers(dict(message.headers)) == envelope


async def test_a_cameras_frames_all_go_to_one_shard_and_cameras_spread_over_the_shards(amqp_url: str) -> None:
    settings = BrokerSettings(sensor_shards=1, frame_shards=4)
    cameras = [uuid.uuid4() for _ in range(40)]
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        for seq in range(3):
            for camera in cameras:
                envelope = make("frame.captured", ORG, "streamer", {"camera": camera, "width": 2, "height": 2,
                                                                   "seq": seq})
                await publisher.publish_frame(envelope, b"\xff\xd8")
    shard_of: dict[uuid.UUID, set[str]] = {}
    for queue in frame_shard_queues(settings):
        for message in await get_all(amqp_url, queue):
            camera = envelope_from_headers(dict(message.headers)).data.camera  # type: ignore[attr-defined]
            shard_of.setdefault(camera, set()).add(queue)
    assert set(shard_of) == set(cameras)
    assert all(len(queues) == 1 for queues in shard_of.values())  # in order, to one worker
    assert len({q for queues in shard_of.values() for q in queues}) == 4  # all four used (p(miss) < 1e-4)


async def test_frames_older_than_the_ttl_are_dropped(amqp_url: str) -> None:
    settings = BrokerSettings(sensor_shards=1, frame_shards=1, frame_ttl_ms=300)
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        await publisher.publish_frame(frame(1), b"old")
        await asyncio.sleep(0.6)
        await publisher.publish_frame(frame(2), b"fresh")
    assert [m.body for m in await get_all(amqp_url, "vision.frames.0")] == [b"fresh"]


async def test_a_full_frames_queue_drops_the_oldest_frames(amqp_url: str) -> None:
    settings = BrokerSettings(sensor_shards=1, frame_shards=1, frames_max_length=3)
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        for seq in range(6):
            await publisher.publish_frame(frame(seq), str(seq).encode())
    assert [m.body for m in await get_all(amqp_url, "vision.frames.0")] == [b"3", b"4", b"5"]


async def test_async_publisher_reconnects_after_the_broker_drops_its_connection(
        amqp_url: str, amqp_vhost: str, close_amqp_connections: Any) -> None:
    async with AsyncPublisher(amqp_url, settings=SETTINGS, declare=True, connection_name="pub-under-test",
                              confirm_timeout=20) as publisher:
        await publisher.publish(detection("before"))
        await close_amqp_connections(amqp_vhost, "pub-under-test")
        await publisher.publish(detection("after"))
    labels = [Envelope.from_json(m.body).data.label for m in await get_all(amqp_url, "recorder.events")]  # type: ignore[attr-defined]
    assert "before" in labels and "after" in labels



# --- sync ------------------------------------------------------------------------------------


def test_sync_publish_returns_after_confirm_with_the_envelope_properties(amqp_url: str) -> None:
    envelope = detection()
    with SyncPublisher(amqp_url, settings=SETTINGS, declare=True) as publisher:
        publisher.connect()
        publisher.publish(envelope)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        method, properties, body = connection.channel().basic_get("recorder.events", auto_ack=True)
    finally:
        connection.close()
    assert method is not None and Envelope.from_json(body) == envelope
    assert properties.message_id == str(envelope.id) and properties.type == "detection.created"
    assert properties.delivery_mode == 2 and properties.headers["traceparent"] == envelope.trace


def test_sync_unroutable_publish_raises_and_the_publisher_keeps_working(amqp_url: str) -> None:
    with SyncPublisher(amqp_url, settings=SETTINGS, declare=True) as publisher:
        with pytest.raises(UnroutableError):
            publisher.publish_raw("vigia.control", "nobody.listens", b"{}", "m1", "test", {})
        with pytest.raises(PublishError, match="NOT_FOUND"):
            publisher.publish_raw("vigia.nope", "x", b"{}", "m2", "test", {})
        publisher.publish_raw("vigia.control", "camera.deleted", b"{}", "m3", "camera.deleted",
                              {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})


def test_sync_publisher_reconnects_once_after_the_connection_is_lost(
        amqp_url: str, amqp_vhost: str, close_amqp_connections: Any) -> None:
    with SyncPublisher(amqp_url, settings=SETTINGS, declare=True, connection_name="sync-under-test") as pub:
        pub.publish(detection("before"))
        asyncio.run(close_amqp_connections(amqp_vhost, "sync-under-test"))
        time.sleep(0.3)
        pub.publish(detection("after"))
    labels = [Envelope.from_json(m.body).data.label  # type: ignore[attr-defined]
              for m in asyncio.run(get_all(amqp_url, "recorder.events"))]
    assert sorted(labels) == ["after", "before"]


def test_sync_publisher_raises_publish_error_when_the_broker_is_unreachable() -> None:
    publisher = SyncPublisher("amqp://guest:guest@127.0.0.1:1/%2F")
    with pytest.raises(PublishError, match="connection lost"):
        publisher.publish(detection())


async def test_a_message_the_broker_nacks_raises_publish_error_in_both_publishers(amqp_url: str) -> None:
    # A full queue that refuses new messages is how a real broker nacks (x-overflow reject-publish).
    full = Topology(
        (ExchangeSpec("vigia.events", "topic"),),
        (QueueSpec("full", arguments={"x-max-length": 0, "x-overflow": "reject-publish"}),),
        (Binding("vigia.events", "full", "detection.#"),))
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await declare_topology(await connection.channel(), topology=full)
    async with AsyncPublisher(amqp_url) as publisher:
        with pytest.raises(PublishError, match="nacked") as error:
            await publisher.publish(detection())
        assert not isinstance(error.value, UnroutableError)
    with SyncPublisher(amqp_url) as sync_publisher, pytest.raises(PublishError, match="nacked"):
        sync_publisher.publish(detection())
