"""``declare_topology`` as the upgrade step, on a RabbitMQ vhost of its own: camera messages that
still carry an RTSP URL leave the control consumers' dead-letter queues, everything else stays."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pika
import pytest
from django.core.management import call_command

from vigia.common.broker.topology import CORRELATOR_CONTROL, STREAMER_CONTROL, dlq_name
from vigia.common.ids import uuid7
from vigia.common.messages import make
from vigia.control.cameras.management.commands.mediamtx_sync import MEDIAMTX_CONTROL
from vigia.control.core.management.commands.declare_topology import carries_rtsp_url

ORG = uuid7()
CAMERA = {"camera": str(uuid7()), "name": "gate", "fps": 1.0, "site": "hq", "version": 2}


def _legacy_camera_change(message_type: str = "camera.updated") -> bytes:
    """A camera change as control published it before: the URL, with its password, in the data."""
    envelope = orjson.loads(make(message_type, ORG, "control", CAMERA).to_json())
    envelope["data"]["rtsp_url"] = "rtsp://user:s3cret@10.0.0.9:554/live"
    return orjson.dumps(envelope)


def _queued(channel: Any, queue: str) -> list[bytes]:
    """Every body in ``queue`` (sorted), left in place (fetched without ack, then returned)."""
    bodies, tags = [], []
    while (got := channel.basic_get(queue, auto_ack=False))[0] is not None:
        tags.append(got[0].delivery_tag)
        bodies.append(got[2])
    for tag in tags:
        channel.basic_nack(tag, requeue=True)
    return sorted(bodies)


def test_upgrade_step_removes_camera_messages_with_a_url_from_control_dlqs_and_keeps_the_rest(
        amqp_url: str, settings: Any) -> None:
    settings.VIGIA = settings.VIGIA.model_copy(update={"amqp_url": amqp_url})
    call_command("declare_topology", stdout=io.StringIO())
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    channel = connection.channel()
    channel.queue_declare(dlq_name(MEDIAMTX_CONTROL), durable=True, arguments={"x-queue-type": "quorum"})
    redacted = make("camera.updated", ORG, "control", CAMERA).to_json()
    device = make("device.deleted", ORG, "control", {"device": str(uuid7())}).to_json()
    seeded = {
        dlq_name(STREAMER_CONTROL): [_legacy_camera_change("camera.created"), redacted, _legacy_camera_change()],
        dlq_name(CORRELATOR_CONTROL): [device, _legacy_camera_change(), b"not json"],
        dlq_name(MEDIAMTX_CONTROL): [_legacy_camera_change()],
    }
    for queue, bodies in seeded.items():
        for body in bodies:
            channel.basic_publish("", queue, body)

    out = io.StringIO()
    call_command("declare_topology", stdout=out)

    assert "4 camera messages with an RTSP URL removed" in out.getvalue()
    remaining = {queue: _queued(channel, queue) for queue in seeded}
    assert remaining == {dlq_name(STREAMER_CONTROL): [redacted],
                         dlq_name(CORRELATOR_CONTROL): sorted([device, b"not json"]),
                         dlq_name(MEDIAMTX_CONTROL): []}

    again = io.StringIO()
    call_command("declare_topology", stdout=again)  # idempotent: nothing more to remove, nothing lost
    assert "0 camera messages with an RTSP URL removed" in again.getvalue()
    assert {queue: _queued(channel, queue) for queue in seeded} == remaining
    connection.close()


@pytest.mark.parametrize(("body", "expected"), [
    (_legacy_camera_change(), True),
    (make("camera.updated", ORG, "control", CAMERA).to_json(), False),
    (orjson.dumps({"type": "device.created", "data": {"rtsp_url": "x"}}), False),
    (b"\xff not json", False),
    (orjson.dumps(["camera.created"]), False),
])
def test_only_camera_changes_with_a_url_count_as_carrying_one(body: bytes, expected: bool) -> None:
    assert carries_rtsp_url(body) is expected
