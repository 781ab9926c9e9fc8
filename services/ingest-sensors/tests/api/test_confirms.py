"""Acks and HTTP answers come only after the broker's confirm: when the broker does not take the
messages (exchange missing, nothing bound), nothing is acked and the phone is told to come back."""

from __future__ import annotations

from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from vigia.common.broker import SENSORS


async def test_no_ack_when_the_exchange_is_missing(serve: Any, settings_for: Any, connect: Any, phone: Any,
                                                   make_packet: Any) -> None:
    served = await serve(settings_for(sensors_declare_topology=False))  # fresh vhost: no vigia.sensors
    client = await connect(phone, served=served)
    await client.send([make_packet(1), make_packet(2)])
    assert await client.until_closed() == 1013
    assert client.acks == []


async def test_no_ack_when_nothing_is_bound_to_take_the_packets(
        serve: Any, settings_for: Any, connect: Any, phone: Any, make_packet: Any,
        amqp: AbstractRobustConnection) -> None:
    channel = await amqp.channel()
    await channel.declare_exchange(SENSORS, aio_pika.ExchangeType.TOPIC, durable=True)  # and no queue
    served = await serve(settings_for(sensors_declare_topology=False))
    client = await connect(phone, served=served)
    await client.send(make_packet(1))
    assert await client.until_closed() == 1013
    assert client.acks == []


async def test_items_acked_before_a_failure_stay_acked_and_nothing_after_is(
        serve: Any, settings_for: Any, connect: Any, phone: Any, make_packet: Any, tap: Any,
        amqp: AbstractRobustConnection) -> None:
    served = await serve(settings_for())
    sensors = await tap()
    client = await connect(phone, served=served)
    await client.send(make_packet(1))
    await client.until_ack(1)
    channel = await amqp.channel()
    await channel.exchange_delete(SENSORS)  # the broker stops taking sensor messages
    await client.send(make_packet(2))
    assert await client.until_closed() == 1013
    assert client.acks == [1]
    assert [p["seq"] for b in await sensors.batches() for p in b["data"]["packets"]] == [1]


async def test_http_batch_answers_503_without_a_confirm(serve: Any, settings_for: Any, phone: Any,
                                                        make_packet: Any, http: Any) -> None:
    served = await serve(settings_for(sensors_declare_topology=False))
    response = await http.post(f"{served.http}/api/v1/sensors:batch", headers=phone.auth,
                               json=[make_packet(1)])
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"]
    assert response.json()["error"]["code"] == "unavailable"
