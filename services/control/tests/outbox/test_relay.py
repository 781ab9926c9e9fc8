"""The outbox end to end against the real PostgreSQL and RabbitMQ: nothing published from a
rolled-back transaction, nothing lost while the broker is down, each change seen once by a
consumer that dedupes by message id."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

import pika
import pytest
from django.db import transaction
from prometheus_client import REGISTRY

from vigia.common.broker.topology import CORRELATOR_CONTROL, EVENTS, LIVE_BINDING_KEYS, STREAMER_CONTROL
from vigia.common.messages import CameraRestart, make
from vigia.control.outbox.enqueue import OutsideTransactionError, enqueue
from vigia.control.outbox.models import OutboxMessage
from vigia.control.outbox.relay import Backoff, OutboxRelay
from vigia.control.tenancy.models import Organization

CLOSED_PORT_URL = "amqp://guest:guest@127.0.0.1:1/%2F"
pytestmark = pytest.mark.django_db(transaction=True)


def drain(amqp_url: str, queue: str) -> list[tuple[str, str]]:
    """Every (message_id, type) waiting in ``queue``, acknowledged."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        seen: list[tuple[str, str]] = []
        while True:
            method, properties, _ = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return seen
            seen.append((properties.message_id, properties.type))
    finally:
        connection.close()


def create_camera(api: Any, user: Any, name: str) -> str:
    response = api(user).post(
        "/api/v1/cameras/", {"name": name, "rtsp_url": "rtsp://u:p@cam/1"}, format="json"
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def test_enqueue_outside_a_transaction_is_refused(org: Organization) -> None:
    envelope = make("camera.restart", org.pk, "control", CameraRestart(camera=org.pk))
    with pytest.raises(OutsideTransactionError):
        enqueue(envelope)


def test_a_rolled_back_transaction_enqueues_nothing(org: Organization) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        enqueue(make("camera.restart", org.pk, "control", CameraRestart(camera=org.pk)))
        assert OutboxMessage.objects.count() == 1
        raise Abort
    assert OutboxMessage.objects.count() == 0


def test_a_failed_request_leaves_no_outbox_row(api: Any, operator: Any) -> None:
    response = api(operator).post("/api/v1/cameras/", {"name": "x", "rtsp_url": "http://nope"}, format="json")
    assert response.status_code == 400
    assert OutboxMessage.objects.count() == 0


def test_mutations_succeed_while_the_broker_is_down_and_are_delivered_when_it_returns(
    api: Any, operator: Any, admin: Any, amqp_url: str
) -> None:
    down = OutboxRelay(CLOSED_PORT_URL, backoff=Backoff(0.01, 0.05))
    camera = create_camera(api, operator, "gate")
    assert api(operator).patch(f"/api/v1/cameras/{camera}/", {"fps": 2}, format="json").status_code == 200
    device = api(operator).post("/api/v1/devices/", {"name": "phone", "kind": "phone"}, format="json")
    assert device.status_code == 201
    assert api(admin).delete(f"/api/v1/cameras/{camera}/").status_code == 204
    result = down.run_once()
    assert result.broker_failed and result.published == 0
    pending = list(OutboxMessage.objects.order_by("id"))
    assert [m.type for m in pending] == [
        "camera.created",
        "camera.updated",
        "device.created",
        "camera.deleted",
    ]
    assert all(m.published_at is None for m in pending)
    assert pending[0].attempts == 1 and "broker unreachable" in pending[0].last_error
    assert down.pending() == 4

    up = OutboxRelay(amqp_url)
    try:
        assert up.run_once().published == 4
    finally:
        up.close()
    assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 0
    delivered = drain(amqp_url, CORRELATOR_CONTROL)
    assert delivered == [(str(m.id), m.type) for m in pending]
    assert [t for _, t in drain(amqp_url, STREAMER_CONTROL)] == [
        "camera.created",
        "camera.updated",
        "camera.deleted",
    ]


def test_consumer_deduping_by_id_sees_each_change_once_after_a_crash_before_marking(
    api: Any, operator: Any, amqp_url: str
) -> None:
    for name in ("a", "b", "c"):
        create_camera(api, operator, name)
    ids = [str(i) for i in OutboxMessage.objects.order_by("id").values_list("id", flat=True)]
    relay = OutboxRelay(amqp_url)

    class Crash(Exception):
        pass

    try:
        # Published and confirmed, then the relay dies before its "published" mark commits.
        with pytest.raises(Crash), transaction.atomic():
            assert relay.run_once().published == 3
            raise Crash
        assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 3
        assert relay.run_once().published == 3  # the restarted relay publishes them again
    finally:
        relay.close()
    raw = drain(amqp_url, CORRELATOR_CONTROL)
    assert len(raw) == 6  # at least once: duplicates reach the broker...
    seen: dict[str, int] = {}
    for message_id, _ in raw:
        seen[message_id] = seen.get(message_id, 0) + 1
    assert sorted(seen) == sorted(ids)  # ...and a consumer keyed by message id applies each once


def test_an_unroutable_message_is_deferred_without_blocking_the_others(
    org: Organization, amqp_url: str, amqp_management: Any
) -> None:
    relay = OutboxRelay(amqp_url, backoff=Backoff(60, 60))
    try:
        assert relay.connect()  # declares the topology
        vhost = amqp_url.rsplit("/", 1)[1]
        # Nobody listens to device.* on the streamer queue; unbind the correlator so device.* has no route.
        base = f"/api/bindings/{vhost}/e/vigia.control/q/{CORRELATOR_CONTROL}"
        for binding in amqp_management.get(base).json():
            if binding["routing_key"] == "device.#":
                amqp_management.delete(
                    f"{base}/{quote(binding['properties_key'], safe='')}"
                ).raise_for_status()
        with transaction.atomic():
            enqueue(make("device.deleted", org.pk, "control", {"device": str(org.pk)}))
            enqueue(make("camera.restart", org.pk, "control", CameraRestart(camera=org.pk)))
        result = relay.run_once()
    finally:
        relay.close()
    assert (result.published, result.deferred) == (1, 1)
    stuck = OutboxMessage.objects.get(type="device.deleted")
    assert stuck.published_at is None and stuck.attempts == 1 and "unroutable" in stuck.last_error
    assert stuck.next_attempt_at is not None
    assert OutboxMessage.objects.get(type="camera.restart").published_at is not None
    assert [t for _, t in drain(amqp_url, STREAMER_CONTROL)] == ["camera.restart"]


def test_a_triage_no_live_instance_hears_is_marked_published_not_retried_and_one_that_runs_gets_it(
    org: Organization, amqp_url: str
) -> None:
    def triaged(change: str) -> Any:
        return make("event.triaged", org.pk, "control", {
            "event": str(org.pk), "change": change, "event_type": "intrusion", "severity": "high",
            "status": change, "classification": "unclassified", "updated_at": time.time_ns()})

    def unheard() -> float:
        return REGISTRY.get_sample_value("vigia_outbox_unheard_total", {"type": "event.triaged"}) or 0.0

    relay = OutboxRelay(amqp_url, backoff=Backoff(60, 60))
    listener = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        assert relay.connect()  # declares the topology
        before = unheard()
        with transaction.atomic():
            enqueue(triaged("acknowledged"))
            enqueue(make("camera.restart", org.pk, "control", CameraRestart(camera=org.pk)))
        assert (relay.run_once().published, relay.run_once().published) == (2, 0)  # nothing left to retry
        assert unheard() == before + 1
        assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 0
        assert OutboxMessage.objects.get(type="event.triaged").next_attempt_at is None

        channel = listener.channel()  # a live instance's queue, as live declares it
        channel.queue_declare("live.relay-test", exclusive=True, auto_delete=True)
        for key in LIVE_BINDING_KEYS:
            channel.queue_bind("live.relay-test", EVENTS, routing_key=key)
        with transaction.atomic():
            heard = enqueue(triaged("resolved"))
        assert relay.run_once().published == 1
        method, properties, _ = channel.basic_get("live.relay-test", auto_ack=True)
        assert method is not None and (properties.message_id, properties.type) == (str(heard.id), "event.triaged")
        assert unheard() == before + 1
    finally:
        relay.close()
        listener.close()


def test_relay_loop_survives_a_broker_outage_and_stops_on_request(
    api: Any, operator: Any, amqp_url: str, amqp_management: Any
) -> None:
    vhost = amqp_url.rsplit("/", 1)[1]
    relay = OutboxRelay(amqp_url, poll_seconds=0.05, backoff=Backoff(0.05, 0.2))
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    worker.start()
    try:
        create_camera(api, operator, "before")
        wait_for(lambda: OutboxMessage.objects.filter(published_at__isnull=True).count() == 0)
        # The broker goes away (vhost deleted: connections closed, queues gone) ...
        amqp_management.delete(f"/api/vhosts/{vhost}").raise_for_status()
        create_camera(api, operator, "during-1")
        create_camera(api, operator, "during-2")
        time.sleep(0.5)
        assert OutboxMessage.objects.filter(published_at__isnull=True).count() == 2
        # ... and comes back empty: the relay reconnects, re-declares the topology and catches up.
        amqp_management.put(f"/api/vhosts/{vhost}").raise_for_status()
        amqp_management.put(
            f"/api/permissions/{vhost}/guest", json={"configure": ".*", "write": ".*", "read": ".*"}
        ).raise_for_status()
        wait_for(lambda: OutboxMessage.objects.filter(published_at__isnull=True).count() == 0, timeout=15)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    names = [m.type for m in OutboxMessage.objects.order_by("id")]
    assert names == ["camera.created"] * 3
    assert len(drain(amqp_url, STREAMER_CONTROL)) == 2  # the two made during the outage


def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")
