"""The recorder end to end with the real RabbitMQ: published on vigia.events, stored in Postgres;
a poison message is dead-lettered after the delivery limit while the consumer keeps going."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import aio_pika
import pytest
from sqlalchemy import Engine, func, select

from vigia.common import db
from vigia.common.broker import AsyncPublisher, BrokerSettings, Consumer, declare_topology, dlq_name
from vigia.common.broker.topology import RECORDER_EVENTS
from vigia.common.messages import DetectionCreated, Envelope, make
from vigia.control.observations.recorder import Recorder

pytestmark = pytest.mark.timeout(90)


def detection(org_id: uuid.UUID) -> Envelope:
    return make("detection.created", org_id, "vision-test", DetectionCreated(
        camera=uuid.uuid4(), frame=uuid.uuid4(), captured_at=time.time_ns(), label="car", confidence=0.9,
        box={"x1": 0, "y1": 0, "x2": 10, "y2": 10}))


def count_detections(engine: Engine, ids: list[uuid.UUID]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(db.detections)
                                .where(db.detections.c.id.in_(ids))).scalar_one())


async def eventually(check: Callable[[], object], within: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_published_messages_are_stored_once_and_poison_goes_to_the_dlq(amqp_url, engine, org):
    broker = BrokerSettings(delivery_limit=2)
    consumer = Consumer(amqp_url, RECORDER_EVENTS, Recorder(engine), prefetch=4, settings=broker,
                        setup=lambda channel: declare_topology(channel, broker))
    running = asyncio.create_task(consumer.run(install_signal_handlers=False))
    try:
        await asyncio.wait_for(consumer.started.wait(), 20)
        good, poison, after = detection(org.id), detection(uuid.uuid4()), detection(org.id)
        async with AsyncPublisher(amqp_url, settings=broker) as publisher:
            await publisher.publish(good)
            await publisher.publish(good)  # a duplicate, as after a publisher retry
            await publisher.publish(poison)  # valid envelope, unknown org: the handler raises
            await publisher.publish(after)

        await eventually(lambda: count_detections(engine, [good.id, after.id]) == 2)

        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            dlq = await channel.get_queue(dlq_name(RECORDER_EVENTS), ensure=True)
            dead: aio_pika.abc.AbstractIncomingMessage | None = None
            deadline = asyncio.get_running_loop().time() + 30
            while dead is None and asyncio.get_running_loop().time() < deadline:
                dead = await dlq.get(no_ack=True, fail=False)
                if dead is None:
                    await asyncio.sleep(0.2)
            assert dead is not None, "poison message never reached the DLQ"
            assert Envelope.from_json(dead.body).id == poison.id
        finally:
            await connection.close()

        # the consumer is still alive after the poison message
        last = detection(org.id)
        async with AsyncPublisher(amqp_url, settings=broker) as publisher:
            await publisher.publish(last)
        await eventually(lambda: count_detections(engine, [last.id]) == 1)
        assert count_detections(engine, [good.id, after.id, poison.id, last.id]) == 3
        assert not running.done()
    finally:
        consumer.stop()
        await asyncio.wait_for(running, 30)
