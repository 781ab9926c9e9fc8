"""WS /api/v1/sensors/ws against the real database, Redis and RabbitMQ, over a real socket.

Refusal tests end by sending one good packet and checking it is the only packet the broker holds:
whatever was refused before it was never published.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aio_pika
import orjson
import pytest
import websockets
from redis.asyncio import Redis

from vigia.common.broker import routing_key
from vigia.common.messages import Envelope, SensorBatch, SensorPacket, envelope_from_headers, make
from vigia.ingest_sensors.wire import PUBLISHED_FIELDS, WirePacket


async def _only_the_sentinel_was_published(client: Any, sensors: Any, make_packet: Any, seq: int) -> None:
    await client.send(make_packet(seq))
    await client.until_ack(seq)
    batches = await sensors.batches()
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == [seq]


def test_wire_packet_has_exactly_the_fields_of_sensor_packet_plus_device_id() -> None:
    assert set(WirePacket.__annotations__) == PUBLISHED_FIELDS | {"device_id"}


async def test_packets_are_acked_after_the_broker_holds_them_as_one_sensor_batch(
        connect: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    sensors = await tap()
    client = await connect(phone)
    assert client.hello["type"] == "hello"
    assert client.hello["device_id"] == str(phone.device)
    assert client.hello["max_frame_bytes"] > 0 and client.hello["rate_limit"] > 0

    sent = [make_packet(seq, device_id=str(phone.device)) for seq in (10, 11, 12)]
    await client.send(sent[:2])
    await client.send(sent[2])
    await client.until_ack(12)

    messages = await sensors.drain()
    assert client.errors == []
    assert [m.type for m in messages] == ["sensor.batch"]
    message = messages[0]
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    envelope = Envelope.from_json(message.body)
    assert str(envelope.id) == message.message_id
    assert (envelope.type, envelope.org, envelope.source) == ("sensor.batch", phone.org, "ingest-sensors")
    assert message.routing_key == routing_key(envelope)
    assert isinstance(envelope.data, SensorBatch)
    assert envelope.data.device == phone.device
    expected = [SensorPacket.model_validate({k: v for k, v in p.items() if k != "device_id"}) for p in sent]
    assert envelope.data.packets == expected
    # The hand-built JSON is what the model would have written.
    assert orjson.loads(message.body)["data"] == orjson.loads(
        make("sensor.batch", phone.org, "x", envelope.data).to_json())["data"]


async def test_acks_are_cumulative_and_increase(connect: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    await tap()
    client = await connect(phone)
    for seq in range(1, 41):
        await client.send([make_packet(seq)])
    await client.until_ack(40)
    assert client.acks == sorted(set(client.acks))
    assert client.acks[-1] == 40


async def test_last_seen_is_written_to_redis(connect: Any, phone: Any, tap: Any, make_packet: Any,
                                             redis_url: str) -> None:
    await tap()
    before = time.time_ns()
    client = await connect(phone)
    await client.send(make_packet(1))
    await client.until_ack(1)
    redis = Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(5):
            while (value := await redis.get(f"device:{phone.device}:last_seen")) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await redis.aclose()
    assert before <= int(value) <= time.time_ns()


async def test_token_may_come_as_the_first_message(gw: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    await tap()
    async with websockets.connect(gw.ws_url()) as ws:
        await ws.send(orjson.dumps({"type": "auth", "token": phone.token}).decode())
        hello = orjson.loads(await ws.recv())
        assert hello["device_id"] == str(phone.device)
        await ws.send(orjson.dumps(make_packet(5)).decode())
        assert orjson.loads(await ws.recv()) == {"type": "ack", "seq": 5}


@pytest.mark.parametrize("first", ['{"type":"auth","token":"vdt_nope"}', '{"type":"auth"}', "[]", "hello"])
async def test_bad_or_missing_auth_message_closes_4401(gw: Any, first: str) -> None:
    async with websockets.connect(gw.ws_url()) as ws:
        await ws.send(first)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_silent_socket_is_closed_4401_after_the_auth_timeout(serve: Any, settings_for: Any) -> None:
    served = await serve(settings_for(sensors_auth_timeout_s=0.3))
    async with websockets.connect(served.ws_url()) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_unknown_token_closes_4401(gw: Any) -> None:
    async with websockets.connect(gw.ws_url("vdt_" + "A" * 43)) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_revoked_token_closes_4401(serve: Any, settings_for: Any, phone: Any, engine: Any) -> None:
    served = await serve(settings_for(sensors_device_cache_s=0))
    phone.revoke(engine)
    async with websockets.connect(served.ws_url(phone.token)) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


BAD_FRAMES: list[tuple[str, Any, int | None, str]] = [
    ("malformed JSON", '[{"timestamp": 1, "seq": 3', None, "frame"),
    ("not JSON at all", "hello", None, "frame"),
    ("string for a number", {"seq": 3, "magnetometer": {"x": "1", "y": 0, "z": 0}}, 3, "magnetometer.x"),
    ("bool for a number", {"seq": 3, "audio_peak": True}, 3, "audio_peak"),
    ("float seq", {"seq": 3.5}, None, "seq"),
    ("negative bluetooth count", {"seq": 3, "bluetooth_devices_count": -1}, 3, "bluetooth_devices_count"),
    ("unknown field", {"seq": 3, "temperature": 20}, 3, "temperature"),
    ("missing timestamp", {"seq": 3, "timestamp": None}, 3, "timestamp"),
    ("NaN", '{"timestamp": %(now)d, "seq": 3, "audio_peak": NaN}', 3, "audio_peak"),
    ("Infinity", '{"timestamp": %(now)d, "seq": 3, "gyroscope": {"x": Infinity, "y": 0, "z": 0}}', 3, "gyroscope.x"),
    ("-Infinity", '[{"timestamp": %(now)d, "seq": 3, "accelerometer": {"x": 0, "y": -Infinity, "z": 0}}]', 3,
     "accelerometer.y"),
    ("overflowing number", '{"timestamp": %(now)d, "seq": 3, "audio_peak": 1e999}', 3, "audio_peak"),
    # relative to when the case runs, not when the module was collected (the suite takes minutes)
    ("a day and more in the past", lambda: {"seq": 3, "timestamp": time.time_ns() - 90_000 * 10**9}, 3, "timestamp"),
    ("ten minutes in the future", lambda: {"seq": 3, "timestamp": time.time_ns() + 600 * 10**9}, 3, "timestamp"),
    ("timestamp in seconds", {"seq": 3, "timestamp": 1_767_225_600}, 3, "timestamp"),
    ("another device", {"seq": 3, "device_id": "00000000-0000-4000-8000-000000000000"}, 3, "device_id"),
    ("not a device id", {"seq": 3, "device_id": "phone-1"}, 3, "device_id"),
    ("unknown message type", {"type": "telemetry", "seq": 3}, 3, "type"),
    ("bad audio header", {"type": "audio", "seq": 3, "timestamp": 1, "sample_rate": 1000}, 3, "sample_rate"),
]


@pytest.mark.parametrize(("case", "frame", "seq", "field"), BAD_FRAMES, ids=[c[0] for c in BAD_FRAMES])
async def test_bad_input_gets_an_error_frame_naming_the_field_and_nothing_is_published(
        connect: Any, phone: Any, tap: Any, make_packet: Any, case: str, frame: Any, seq: int | None,
        field: str) -> None:
    sensors = await tap()
    client = await connect(phone)
    if callable(frame):
        frame = frame()
    if isinstance(frame, dict):
        frame = frame if "type" in frame else make_packet(**frame)
    else:
        frame = frame % {"now": time.time_ns()} if "%(now)d" in frame else frame
    await client.send(frame)
    error = await client.next_frame()
    assert error["type"] == "error", error
    assert (error["seq"], error["field"]) == (seq, field), error
    assert error["message"]
    # The socket stays open; a good packet after it is the only thing published.
    await _only_the_sentinel_was_published(client, sensors, make_packet, 7)


async def test_bad_packet_in_an_array_is_rejected_alone(connect: Any, phone: Any, tap: Any,
                                                        make_packet: Any) -> None:
    sensors = await tap()
    client = await connect(phone)
    now = time.time_ns()
    good = orjson.dumps(make_packet(1)).decode()
    bad = f'{{"timestamp": {now}, "seq": 2, "audio_peak": NaN}}'
    also_good = orjson.dumps(make_packet(3)).decode()
    await client.send(f"[{good}, {bad}, {also_good}]")
    await client.until_ack(3)
    assert [(e["seq"], e["field"]) for e in client.errors] == [(2, "audio_peak")]
    batches = await sensors.batches()
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == [1, 3]


async def test_seq_must_increase_on_a_connection(connect: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    sensors = await tap()
    client = await connect(phone)
    await client.send([make_packet(5), make_packet(5), make_packet(4), make_packet(6)])
    await client.until_ack(6)
    assert [(e["seq"], e["field"]) for e in client.errors] == [(5, "seq"), (4, "seq")]
    batches = await sensors.batches()
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == [5, 6]


async def test_a_refused_item_alone_is_acked(connect: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    await tap()
    client = await connect(phone)
    await client.send(make_packet(9, audio_peak="loud"))
    await client.until_ack(9)
    assert [(e["seq"], e["field"]) for e in client.errors] == [(9, "audio_peak")]


async def test_audio_chunk_round_trips_with_its_envelope_in_headers(
        connect: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    sensors = await tap()
    client = await connect(phone)
    pcm = bytes(range(256)) * 64  # 16 KiB, 8192 samples
    now = time.time_ns()
    await client.send([make_packet(1), make_packet(2)])
    await client.send({"type": "audio", "seq": 3, "timestamp": now, "sample_rate": 16000})
    await client.send(pcm)
    await client.send(make_packet(4))
    await client.until_ack(4)
    assert client.errors == []

    messages = await sensors.drain()
    assert [m.type for m in messages] == ["sensor.batch", "sensor.audio", "sensor.batch"]
    audio = messages[1]
    assert audio.body == pcm
    assert audio.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert audio.content_type.startswith("audio/L16")
    envelope = envelope_from_headers(dict(audio.headers))
    assert str(envelope.id) == audio.message_id
    assert envelope.type == "sensor.audio" and envelope.org == phone.org
    assert envelope.data.model_dump() == {"device": phone.device, "seq": 3, "timestamp": now,
                                          "sample_rate": 16000, "samples": 8192}
    assert audio.routing_key == messages[0].routing_key == routing_key(envelope)


@pytest.mark.parametrize(("header", "payload", "field"), [
    (None, b"\x00\x01", "audio"),  # samples without a header
    ({"type": "audio", "seq": 3, "sample_rate": 16000}, b"\x00\x01\x02", "audio"),  # odd byte count
    ({"type": "audio", "seq": 3, "sample_rate": 16000}, '{"not": "samples"}', "audio"),  # text, not bytes
])
async def test_bad_audio_is_refused_and_nothing_is_published(
        connect: Any, phone: Any, tap: Any, make_packet: Any, header: Any, payload: Any, field: str) -> None:
    sensors = await tap()
    client = await connect(phone)
    if header is not None:
        await client.send({**header, "timestamp": time.time_ns()})
    await client.send(payload)
    error = await client.next_frame()
    assert error["type"] == "error" and error["field"] == field, error
    if isinstance(payload, str):  # the text frame after the header is handled as a frame of its own
        assert (await client.next_frame())["type"] == "error"
    await _only_the_sentinel_was_published(client, sensors, make_packet, 7)


async def test_oversized_frame_closes_1009_after_acking_what_came_before(
        serve: Any, settings_for: Any, connect: Any, phone: Any, tap: Any, make_packet: Any) -> None:
    served = await serve(settings_for(sensors_max_frame_bytes=8192, sensors_batch_linger_ms=500))
    sensors = await tap()
    client = await connect(phone, served=served)
    await client.send(make_packet(1))
    frame = orjson.dumps([make_packet(seq) for seq in range(2, 45)])
    assert 8192 < len(frame) < 2 * 8192  # reaches the app, which settles before closing
    await client.send(frame.decode())
    assert await client.until_closed() == 1009
    assert client.acks == [1]
    batches = await sensors.batches()
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == [1]


async def test_frame_far_above_the_limit_closes_1009_too(
        serve: Any, settings_for: Any, connect: Any, phone: Any, tap: Any) -> None:
    served = await serve(settings_for(sensors_max_frame_bytes=8192))
    sensors = await tap()
    client = await connect(phone, served=served, max_size=None)
    await client.send(b"\x00" * 100_000)
    assert await client.until_closed() == 1009
    assert await sensors.drain() == []


async def test_device_over_its_rate_closes_1008(serve: Any, settings_for: Any, connect: Any, phone: Any,
                                                tap: Any, make_packet: Any) -> None:
    served = await serve(settings_for(sensors_rate_limit=10, sensors_rate_burst_s=2))  # 20 tokens
    sensors = await tap()
    client = await connect(phone, served=served)
    await client.send([make_packet(seq) for seq in range(1, 16)])
    await client.until_ack(15)
    await client.send([make_packet(seq) for seq in range(16, 31)])
    assert await client.until_closed() == 1008
    batches = await sensors.batches()
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == list(range(1, 16))
