"""The broker topology against the machine's RabbitMQ: every entity, idempotence, conflicts,
consistent-hash sharding and single active consumers."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from urllib.parse import quote

import aio_pika
import aiormq
import httpx
import pika
import pytest

from vigia.common.broker import (
    AsyncPublisher,
    BrokerSettings,
    SyncPublisher,
    TopologyConflictError,
    build_topology,
    declare_live_queue,
    declare_topology,
    declare_topology_sync,
    dlq_name,
    exchange_for,
    routing_key,
    sensor_shard_queue,
)
from vigia.common.broker.errors import UnroutableError
from vigia.common.broker.topology import FEED_ONLY_TYPES, LIVE_BINDING_KEYS, routed_types
from vigia.common.messages import MESSAGE_TYPES, make

ORG = uuid.UUID("0190d5d2-0000-7000-8000-000000000001")
CAMERA = uuid.UUID("0190d5d2-0000-7000-8000-0000000000c1")
DEVICE = uuid.UUID("0190d5d2-0000-7000-8000-0000000000d1")


def _get(client: httpx.Client, path: str, vhost: str) -> list[dict]:
    response = client.get(f"/api/{path}/{quote(vhost, safe='')}")
    response.raise_for_status()
    return response.json()


async def test_topology_declares_every_exchange_queue_and_binding(
        amqp_url: str, amqp_vhost: str, amqp_management: httpx.Client) -> None:
    settings = BrokerSettings(sensor_shards=3, frame_shards=2, delivery_limit=7, frame_ttl_ms=5000,
                              frames_max_length=50, automation_shards=2,
                              notifier_retry_delays_ms="100,2000")
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        topo = await declare_topology(await connection.channel(), settings)

    exchanges = {e["name"]: e for e in _get(amqp_management, "exchanges", amqp_vhost)}
    assert {n: exchanges[n]["type"] for n in ("vigia.frames", "vigia.frames.shards", "vigia.sensors",
                                              "vigia.sensors.shards", "vigia.events", "vigia.control",
                                              "vigia.actions", "vigia.dlx",
                                              "vigia.automation.shards")} == {
        "vigia.frames": "topic", "vigia.frames.shards": "x-consistent-hash",
        "vigia.sensors": "topic", "vigia.sensors.shards": "x-consistent-hash",
        "vigia.events": "topic", "vigia.control": "topic", "vigia.actions": "direct", "vigia.dlx": "topic",
        "vigia.automation.shards": "x-consistent-hash"}
    assert exchanges["vigia.automation.shards"]["arguments"] == {"hash-header": "x-vigia-org"}
    assert all(exchanges[e.name]["durable"] for e in topo.exchanges)

    queues = {q["name"]: q for q in _get(amqp_management, "queues", amqp_vhost)}
    durable = ["fusion.sensors.0", "fusion.sensors.1", "fusion.sensors.2", "recorder.events",
               "correlator.in", "correlator.control", "streamer.control", "forecast.control", "trainer.control",
               "notifier.actions",
               "automation.0", "automation.1"]
    assert set(queues) == {"vision.frames.0", "vision.frames.1", *durable, *(dlq_name(q) for q in durable),
                           "notifier.retry.100", "notifier.retry.2000"}
    for delay in (100, 2000):  # the notifier's back-off steps: held <delay> ms, then back to its queue
        assert queues[f"notifier.retry.{delay}"]["type"] == "quorum"
        assert queues[f"notifier.retry.{delay}"]["arguments"] == {
            "x-queue-type": "quorum", "x-message-ttl": delay, "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": "notifier.actions", "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish"}
    for frames in (queues["vision.frames.0"], queues["vision.frames.1"]):
        assert frames["durable"] and frames["arguments"] == {
            "x-queue-type": "classic", "x-message-ttl": 5000, "x-max-length": 50, "x-overflow": "drop-head",
            "x-single-active-consumer": True}
    for name in durable:
        assert queues[name]["type"] == "quorum" and queues[name]["durable"]
        assert queues[name]["arguments"]["x-delivery-limit"] == 7
        assert queues[name]["arguments"]["x-dead-letter-exchange"] == "vigia.dlx"
        assert queues[name]["arguments"]["x-dead-letter-routing-key"] == name
        assert queues[dlq_name(name)]["type"] == "quorum"
        assert "x-delivery-limit" not in queues[dlq_name(name)]["arguments"]
    assert queues["fusion.sensors.1"]["arguments"]["x-single-active-consumer"] is True
    assert queues["automation.1"]["arguments"]["x-single-active-consumer"] is True

    bindings = {(b["source"], b["destination"], b["routing_key"])
                for b in _get(amqp_management, "bindings", amqp_vhost) if b["source"]}
    assert {(b.source, b.destination, b.routing_key) for b in topo.bindings} == bindings
    assert ("vigia.frames", "vigia.frames.shards", "frame.#") in bindings
    assert ("vigia.frames.shards", "vision.frames.1", "1") in bindings
    assert ("vigia.sensors", "vigia.sensors.shards", "sensor.#") in bindings
    assert ("vigia.sensors.shards", "fusion.sensors.2", "1") in bindings
    assert ("vigia.dlx", "recorder.events.dlq", "recorder.events") in bindings
    for key in ("detection.#", "plate.read.#", "event.#", "anomaly.#", "device.status.#", "camera.health.#"):
        assert ("vigia.events", "recorder.events", key) in bindings
    for kind in ("webhook", "email", "telegram", "whatsapp", "modbus"):
        assert ("vigia.actions", "notifier.actions", f"action.{kind}") in bindings
    assert ("vigia.actions", "notifier.retry.100", "notifier.retry.100") in bindings
    for key in ("detection.#", "plate.read.#", "anomaly.#", "event.#", "device.status.#", "camera.health.#"):
        assert ("vigia.events", "vigia.automation.shards", key) in bindings
    for key in ("pipeline.#", "camera.#", "watchlist.#"):
        assert ("vigia.control", "vigia.automation.shards", key) in bindings
    assert ("vigia.automation.shards", "automation.1", "1") in bindings


async def test_declaring_the_topology_again_async_or_sync_changes_nothing(
        amqp_url: str, amqp_vhost: str, amqp_management: httpx.Client) -> None:
    settings = BrokerSettings(sensor_shards=2)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel, settings)
        before = sorted(q["name"] for q in _get(amqp_management, "queues", amqp_vhost))
        await declare_topology(channel, settings)
    blocking = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declare_topology_sync(blocking.channel(), settings)
    finally:
        blocking.close()
    assert sorted(q["name"] for q in _get(amqp_management, "queues", amqp_vhost)) == before
    assert len([b for b in _get(amqp_management, "bindings", amqp_vhost) if b["source"]]) == len(
        build_topology(settings).bindings)


async def test_declaring_over_a_queue_with_other_arguments_raises_a_conflict(amqp_url: str) -> None:
    blocking = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declare_topology_sync(blocking.channel(), BrokerSettings(sensor_shards=1, frame_ttl_ms=10_000))
        with pytest.raises(TopologyConflictError) as sync_error:
            declare_topology_sync(blocking.channel(), BrokerSettings(sensor_shards=1, frame_ttl_ms=2_000))
    finally:
        blocking.close()
    assert sync_error.value.name == "vision.frames.0" and "x-message-ttl" in str(sync_error.value)

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        with pytest.raises(TopologyConflictError) as async_error:
            await declare_topology(await connection.channel(),
                                   BrokerSettings(sensor_shards=1, frame_ttl_ms=2_000))
    assert async_error.value.kind == "queue" and async_error.value.name == "vision.frames.0"


async def test_declaring_an_exchange_with_another_type_raises_a_conflict(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange("vigia.events", aio_pika.ExchangeType.FANOUT, durable=True)
        with pytest.raises(TopologyConflictError) as error:
            await declare_topology(await connection.channel(), BrokerSettings(sensor_shards=1))
    assert error.value.kind == "exchange" and error.value.name == "vigia.events"


def test_every_message_type_has_an_exchange_and_a_routing_key() -> None:
    assert routed_types() == set(MESSAGE_TYPES)
    box = {"x1": 0, "y1": 0, "x2": 1, "y2": 1}
    detection = make("detection.created", ORG, "test", {
        "camera": CAMERA, "frame": uuid.uuid4(), "captured_at": 1, "label": "car", "confidence": 0.5,
        "box": box})
    assert (exchange_for(detection.type), routing_key(detection)) == (
        "vigia.events", f"detection.{ORG}.{CAMERA}")
    event = make("event.created", ORG, "test", {"event": uuid.uuid4(), "event_type": "intrusion",
                                                "severity": "high", "score": 1, "started_at": 1})
    assert routing_key(event) == f"event.{ORG}.high"
    triaged = make("event.triaged", ORG, "control", {
        "event": uuid.uuid4(), "change": "acknowledged", "event_type": "intrusion", "severity": "critical",
        "status": "acknowledged", "classification": "unclassified", "updated_at": 1})
    assert (exchange_for(triaged.type), routing_key(triaged)) == ("vigia.events", f"triage.{ORG}.critical")
    status = make("device.status", ORG, "test", {"device": DEVICE, "status": "ON"})
    assert routing_key(status) == f"device.status.{ORG}.{DEVICE}"
    restart = make("camera.restart", ORG, "test", {"camera": CAMERA})
    assert (exchange_for("camera.restart"), routing_key(restart)) == (
        "vigia.control", f"camera.restart.{CAMERA}")
    deleted = make("camera.deleted", ORG, "test", {"camera": CAMERA})
    assert routing_key(deleted) == "camera.deleted"
    action = make("action.telegram", ORG, "test", {"channel": str(CAMERA), "recipients": ["123"]})
    assert (exchange_for(action.type), routing_key(action)) == ("vigia.actions", "action.telegram")
    frame = make("frame.captured", ORG, "test", {"camera": CAMERA, "width": 4, "height": 4})
    assert (exchange_for(frame.type), routing_key(frame)) == ("vigia.frames", f"frame.{ORG}.{CAMERA}")
    batch = make("sensor.batch", ORG, "test", {"device": DEVICE, "packets": [{"timestamp": 1, "seq": 1}]})
    assert (exchange_for(batch.type), routing_key(batch)) == ("vigia.sensors", f"sensor.{ORG}.{DEVICE}")


async def test_live_queue_is_exclusive_and_disappears_with_its_connection(
        amqp_url: str, amqp_vhost: str, amqp_management: httpx.Client) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        queue = await declare_live_queue(await connection.channel(), "node-a")
        assert queue.name == "live.node-a"
        info = {q["name"]: q for q in _get(amqp_management, "queues", amqp_vhost)}["live.node-a"]
        assert info["exclusive"] and info["auto_delete"] and not info["durable"]
        other = await aio_pika.connect(amqp_url)
        async with other:
            with pytest.raises(aiormq.exceptions.ChannelLockedResource):
                await (await other.channel()).declare_queue("live.node-a", passive=True)
    await asyncio.sleep(0.2)
    assert "live.node-a" not in {q["name"] for q in _get(amqp_management, "queues", amqp_vhost)}


async def test_an_operators_triage_reaches_live_queues_only_and_is_unroutable_while_none_runs(
        amqp_url: str) -> None:
    """event.triaged passes the recorder, the correlator and the automation shards by (nothing there
    would store it), reaches every live instance, and has no route at all without one."""
    event = uuid.uuid4()
    triaged = make("event.triaged", ORG, "control", {
        "event": event, "change": "resolved", "event_type": "intrusion", "severity": "high", "status": "resolved",
        "classification": "unclassified", "updated_at": 1})
    created = make("event.created", ORG, "correlator", {"event": event, "event_type": "intrusion",
                                                        "severity": "high", "score": 1, "started_at": 1})
    assert "event.triaged" in FEED_ONLY_TYPES
    settings = BrokerSettings(automation_shards=2)
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        with pytest.raises(UnroutableError):
            await publisher.publish(triaged)
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            live = await declare_live_queue(channel, "node-t", LIVE_BINDING_KEYS)
            await publisher.publish(triaged)
            await publisher.publish(created)  # after it, on the same routes: it shows where triaged went
            automation: list[str] = []
            for shard in range(2):
                queue = await channel.get_queue(f"automation.{shard}")

                async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
                    automation.append(message.type or "")
                    await message.ack()

                await queue.consume(take)
            await _until(lambda: automation == ["event.created"])
            live_types = [(await live.get(no_ack=True)).type for _ in range(2)]
            recorder = await channel.get_queue("recorder.events")
            first = await recorder.get(no_ack=True)
            assert await recorder.get(no_ack=True, fail=False) is None
    assert live_types == ["event.triaged", "event.created"]
    assert first.type == "event.created"


async def test_consistent_hash_sends_each_device_to_one_stable_shard(amqp_url: str) -> None:
    settings = BrokerSettings(sensor_shards=4)
    devices = [uuid.uuid4() for _ in range(40)]
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        await publisher.publish_many(
            make("sensor.batch", ORG, "test", {"device": d, "packets": [{"timestamp": 1, "seq": i}]})
            for i in range(5) for d in devices)
    shards_of: dict[str, set[int]] = defaultdict(set)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=100)
        count = 0
        for shard in range(4):
            # basic.get is refused on single-active-consumer quorum queues: consume instead.
            queue = await channel.get_queue(sensor_shard_queue(shard))

            async def take(message: aio_pika.abc.AbstractIncomingMessage, shard: int = shard) -> None:
                nonlocal count
                shards_of[message.routing_key or ""].add(shard)
                count += 1
                await message.ack()

            await queue.consume(take)
        await _until(lambda: count == 200)
    assert len(shards_of) == 40
    assert all(len(shards) == 1 for shards in shards_of.values())
    assert len({next(iter(s)) for s in shards_of.values()}) > 1  # 40 devices spread over shards


async def test_automation_shards_keep_each_organization_on_one_shard(amqp_url: str) -> None:
    """Everything of one organization -- detections of several cameras, device statuses, control
    changes published by the async and the sync publisher -- reaches one automation.<k> queue."""
    settings = BrokerSettings(automation_shards=4)
    orgs = [uuid.uuid4() for _ in range(24)]
    box = {"x1": 0, "y1": 0, "x2": 1, "y2": 1}
    envelopes = [make("detection.created", org, "test", {
        "camera": uuid.uuid4(), "frame": uuid.uuid4(), "captured_at": 1, "label": "person", "confidence": 0.9,
        "box": box}) for org in orgs for _ in range(3)]
    envelopes += [make("device.status", org, "test", {"device": uuid.uuid4(), "status": "OFF"}) for org in orgs]
    async with AsyncPublisher(amqp_url, settings=settings, declare=True) as publisher:
        await publisher.publish_many(envelopes)
    with SyncPublisher(amqp_url) as sync:
        for org in orgs:
            sync.publish(make("pipeline.deleted", org, "control", {"pipeline": uuid.uuid4()}))
    shards_of: dict[uuid.UUID, set[int]] = defaultdict(set)
    count = 0
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=200)
        for shard in range(4):
            queue = await channel.get_queue(f"automation.{shard}")

            async def take(message: aio_pika.abc.AbstractIncomingMessage, shard: int = shard) -> None:
                nonlocal count
                shards_of[uuid.UUID(str((message.headers or {})["x-vigia-org"]))].add(shard)
                count += 1
                await message.ack()

            await queue.consume(take)
        await _until(lambda: count == len(orgs) * 5)
    assert set(shards_of) == set(orgs)
    assert all(len(shards) == 1 for shards in shards_of.values())
    assert len({next(iter(s)) for s in shards_of.values()}) > 1  # 24 organizations spread over shards


async def test_only_one_consumer_of_a_shard_queue_is_active(amqp_url: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await declare_topology(await connection.channel(), BrokerSettings(sensor_shards=1))
    received: dict[str, list[bytes]] = {"a": [], "b": []}
    first, second = await aio_pika.connect(amqp_url), await aio_pika.connect(amqp_url)
    try:
        for name, conn in (("a", first), ("b", second)):
            channel = await conn.channel()
            await channel.set_qos(prefetch_count=10)
            queue = await channel.get_queue("fusion.sensors.0")

            async def take(message: aio_pika.abc.AbstractIncomingMessage, name: str = name) -> None:
                received[name].append(message.body)
                await message.ack()

            await queue.consume(take)
        publish_channel = await first.channel()
        for i in range(20):
            await publish_channel.default_exchange.publish(
                aio_pika.Message(str(i).encode()), "fusion.sensors.0")
        await _until(lambda: len(received["a"]) + len(received["b"]) == 20)
        assert (len(received["a"]), len(received["b"])) == (20, 0)

        await first.close()  # the active consumer goes away: the waiting one takes over
        channel = await second.channel()
        for i in range(5):
            await channel.default_exchange.publish(aio_pika.Message(str(i).encode()), "fusion.sensors.0")
        await _until(lambda: len(received["b"]) == 5)
    finally:
        await first.close()
        await second.close()


async def _until(condition, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
