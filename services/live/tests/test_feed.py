"""The operator feed end to end: real broker vhost, real JWKS over HTTP, real uvicorn, real sockets."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import jwt
import orjson
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import REGISTRY
from websockets.exceptions import ConnectionClosed

from services.live.tests.conftest import StartLive
from services.live.tests.support import Keys, RawClient, wait_until
from vigia.common.broker import AsyncPublisher
from vigia.common.broker.topology import live_queue_name
from vigia.common.messages import Envelope, make

CAMERA = uuid.UUID("018f0000-0000-7000-8000-0000000000c1")


def detection(org: uuid.UUID, label: str = "car") -> Envelope:
    return make("detection.created", org, "vision-test", {
        "camera": str(CAMERA), "frame": str(uuid.uuid4()), "captured_at": time.time_ns(), "label": label,
        "confidence": 0.9, "box": {"x1": 1, "y1": 2, "x2": 30, "y2": 40}, "plate_text": "ABC1D23",
        "plate_confidence": 0.8})


def camera_health(org: uuid.UUID, status: str = "offline", previous: str = "online") -> Envelope:
    return make("camera.health", org, "watchdog-test", {"camera": str(CAMERA), "status": status,
                                                        "previous": previous, "last_frame_at": time.time_ns(),
                                                        "detail": "no frame for 20 s"})


async def recv_json(ws: Any, within: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(within):
        return orjson.loads(await ws.recv())


async def close_code_of(ws: Any, within: float = 10) -> tuple[int | None, str | None]:
    """The close code and reason the server sent, reading past any data messages."""
    async with asyncio.timeout(within):
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as exc:
            return (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else (None, None)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_detection_reaches_clients_of_its_org_and_not_of_another_org(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live()
    queue = live_queue_name(live.server.live.instance)
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    async with websockets.connect(live.url(keys.token(org_a))) as ws_a, \
            websockets.connect(live.url(keys.token(org_b))) as ws_b:
        await wait_until(lambda: len(live.hub) == 2)
        sent = detection(org_a)
        await publisher.publish(sent)
        got = await recv_json(ws_a)
        assert got["type"] == "new_detection"
        assert got["id"] == str(sent.id)
        assert got["time"] == sent.model_dump(mode="json")["time"]
        assert got["detection"]["camera"] == str(CAMERA)
        assert got["detection"]["plate_text"] == "ABC1D23"
        assert got["detection"]["box"] == {"x1": 1.0, "y1": 2.0, "x2": 30.0, "y2": 40.0}
        # Org B's first message is its own detection: org A's never reached it.
        own = detection(org_b, label="person")
        await publisher.publish(own)
        first_for_b = await recv_json(ws_b)
        assert first_for_b["id"] == str(own.id)
    # Both envelopes' queue lag was measured on this instance's queue.
    assert metric("vigia_message_age_seconds_count", queue=queue) == 2


async def test_every_feed_type_is_translated_with_envelope_id_and_time(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live()
    org = uuid.uuid4()
    device, event = uuid.uuid4(), uuid.uuid4()
    envelopes = [
        make("event.created", org, "correlator", {"event": str(event), "event_type": "intrusion_detected",
                                                   "severity": "critical", "score": 0.8,
                                                   "started_at": time.time_ns()}),
        make("device.status", org, "watchdog", {"device": str(device), "status": "WARNING",
                                                 "previous": "ON"}),
        camera_health(org, "online", previous="provisioning"),
        make("plate.read", org, "vision", {"camera": str(CAMERA), "visit": "v1", "plate_text": "ABC1234",
                                           "confidence": 0.9, "votes": 3, "first_seen": time.time_ns(),
                                           "last_seen": time.time_ns()}),
    ]
    async with websockets.connect(live.url(keys.token(org))) as ws:
        await wait_until(lambda: len(live.hub) == 1)
        for envelope in envelopes:
            await publisher.publish(envelope)
        got = [await recv_json(ws) for _ in envelopes]
    assert [m["id"] for m in got] == [str(e.id) for e in envelopes]
    new_event, status, health, plate = got
    assert new_event["type"] == "new_event" and new_event["change"] == "created"
    assert new_event["event"]["id"] == str(event) and new_event["event"]["severity"] == "critical"
    assert status["type"] == "device_status_update"
    assert (status["device_id"], status["status"], status["previous"]) == (str(device), "WARNING", "ON")
    assert status["timestamp"] == envelopes[1].time // 1_000_000_000
    assert health["type"] == "camera_health" and health["camera_id"] == str(CAMERA)
    assert (health["status"], health["previous"]) == ("online", "provisioning")
    assert health["last_frame_at"] == envelopes[2].model_dump(mode="json")["data"]["last_frame_at"]
    assert health["detail"] == "no frame for 20 s"
    assert plate["type"] == "plate_read" and plate["plate_read"]["plate_text"] == "ABC1234"


async def test_types_filter_delivers_only_the_requested_types(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live()
    org = uuid.uuid4()
    async with websockets.connect(live.url(keys.token(org), types="camera_health")) as ws:
        await wait_until(lambda: len(live.hub) == 1)
        await publisher.publish(detection(org))
        wanted = camera_health(org)
        await publisher.publish(wanted)
        got = await recv_json(ws)
    assert got["type"] == "camera_health" and got["id"] == str(wanted.id)


async def test_unknown_type_in_filter_closes_with_4400_naming_the_parameter(
        start_live: StartLive, keys: Keys) -> None:
    live = await start_live()
    async with websockets.connect(live.url(keys.token(uuid.uuid4()), types="new_detection,bogus")) as ws:
        code, reason = await close_code_of(ws)
    assert code == 4400
    assert reason is not None and reason.startswith("types:") and "bogus" in reason


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


BAD_TOKENS = {
    "missing": lambda k: None,
    "garbage": lambda k: "not-a-jwt",
    "expired": lambda k: k.token(uuid.uuid4(), expires_in=-60),
    "alg_none": lambda k: jwt.encode({"sub": str(uuid.uuid4()), "org": str(uuid.uuid4()), "role": "admin",
                                      "iss": "vigia-control", "aud": "vigia", "jti": "x",
                                      "iat": int(time.time()), "exp": int(time.time()) + 600},
                                     key=None, algorithm="none", headers={"kid": "test-key-1"}),
    "wrong_audience": lambda k: k.token(uuid.uuid4(), aud="someone-else"),
    "wrong_issuer": lambda k: k.token(uuid.uuid4(), iss="evil"),
    "forged_with_our_kid": lambda k: k.token(uuid.uuid4(), key=_other_key()),
    "unknown_kid": lambda k: k.token(uuid.uuid4(), key=_other_key(), kid="nope"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_refused_token_closes_the_socket_with_4401(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher, case: str) -> None:
    live = await start_live()
    token = BAD_TOKENS[case](keys)
    async with websockets.connect(live.url(token)) as ws:
        code, reason = await close_code_of(ws)
    assert code == 4401, (case, reason)
    assert reason is not None and reason.startswith("token:")
    assert len(live.hub) == 0


async def test_unreachable_jwks_closes_with_1013_try_again_later(start_live: StartLive, keys: Keys) -> None:
    with socket_port() as closed_port:
        live = await start_live(jwks_url=f"http://127.0.0.1:{closed_port}/.well-known/jwks.json")
        async with websockets.connect(live.url(keys.token(uuid.uuid4()))) as ws:
            code, _ = await close_code_of(ws)
    assert code == 1013


class socket_port:
    """A local port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        pass


async def test_client_ping_gets_pong_and_bad_messages_get_an_error_without_closing(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live()
    org = uuid.uuid4()
    async with websockets.connect(live.url(keys.token(org))) as ws:
        await ws.send('{"type": "ping"}')
        assert (await recv_json(ws))["type"] == "pong"
        await ws.send("not json")
        error = await recv_json(ws)
        assert error["type"] == "error" and "type" in error["error"]["fields"]
        await wait_until(lambda: len(live.hub) == 1)
        sent = detection(org)
        await publisher.publish(sent)
        assert (await recv_json(ws))["id"] == str(sent.id)


async def test_token_expiry_closes_an_open_socket_with_4401(start_live: StartLive, keys: Keys) -> None:
    live = await start_live()
    async with websockets.connect(live.url(keys.token(uuid.uuid4(), expires_in=2))) as ws:
        await wait_until(lambda: len(live.hub) == 1)
        code, reason = await close_code_of(ws, within=15)
    assert (code, reason) == (4401, "token: expired")
    await wait_until(lambda: len(live.hub) == 0)


async def test_client_that_does_not_answer_pings_is_dropped_while_one_that_does_stays(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live(live_ping_interval_s=0.3, live_ping_timeout_s=0.5)
    org = uuid.uuid4()
    async with websockets.connect(live.url(keys.token(org))) as answering:  # websockets answers pings
        mute = await RawClient.connect(live.url(keys.token(org)))
        try:
            assert await asyncio.wait_for(mute.close_code(), 15) == 1011
        finally:
            mute.close()
        await wait_until(lambda: len(live.hub) == 1)
        await asyncio.sleep(1.0)  # several ping periods: the answering client must survive them
        sent = detection(org)
        await publisher.publish(sent)
        assert (await recv_json(answering))["id"] == str(sent.id)


async def test_slow_client_is_dropped_with_4008_while_a_fast_client_keeps_receiving(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live(live_send_queue=64, live_prefetch=16, live_ping_interval_s=600)
    org = uuid.uuid4()
    dropped_before = metric("vigia_live_disconnects_total", reason="too_slow")
    async with websockets.connect(live.url(keys.token(org)), max_queue=None) as fast:
        slow = await RawClient.connect(live.url(keys.token(org)))  # never reads
        await wait_until(lambda: len(live.hub) == 2)
        received: list[str] = []

        async def read_fast() -> None:
            async for message in fast:
                received.append(orjson.loads(message)["id"])

        reader = asyncio.create_task(read_fast())
        published: list[str] = []
        try:
            for _ in range(60):  # the kernel buffers a few MB on loopback before the slow send blocks
                batch = [detection(org) for _ in range(500)]
                await publisher.publish_many(batch)
                published += [str(e.id) for e in batch]
                if metric("vigia_live_disconnects_total", reason="too_slow") > dropped_before:
                    break
            assert metric("vigia_live_disconnects_total", reason="too_slow") == dropped_before + 1
            await wait_until(lambda: len(live.hub) == 1)
            await wait_until(lambda: len(received) >= len(published))
            assert received == published  # every message, in order, to the client that keeps up
        finally:
            reader.cancel()
        # The stalled connection is closed (or aborted), not kept waiting to flush forever.
        code = await asyncio.wait_for(slow.close_code(), 20)
        slow.close()
    assert code in (4008, None)


async def test_shutdown_closes_sockets_with_1001(start_live: StartLive, keys: Keys) -> None:
    live = await start_live()
    async with websockets.connect(live.url(keys.token(uuid.uuid4()))) as ws:
        await wait_until(lambda: len(live.hub) == 1)
        live.server.should_exit = True
        code, _ = await close_code_of(ws)
    assert code == 1001


async def test_health_readiness_and_metrics_endpoints(start_live: StartLive, keys: Keys) -> None:
    live = await start_live()
    served = metric("vigia_http_requests_total", service="live", method="GET", route="/healthz", status="200")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{live.port}") as http:
        assert (await http.get("/healthz")).status_code == 200
        assert metric("vigia_http_requests_total", service="live", method="GET", route="/healthz",
                      status="200") == served + 1
        assert metric("vigia_http_request_duration_seconds_count", service="live", method="GET",
                      route="/healthz") >= 1
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"broker": True}
        async with websockets.connect(live.url(keys.token(uuid.uuid4()))):
            await wait_until(lambda: len(live.hub) == 1)
            body = (await http.get("/metrics")).text
            assert "vigia_live_clients 1.0" in body
        assert "vigia_live_messages_sent_total" in body or "vigia_live_disconnects_total" in body


async def test_access_token_in_the_url_never_reaches_the_logs(
        start_live: StartLive, keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    live = await start_live()
    token = keys.token(uuid.uuid4())
    caplog.set_level("INFO")
    async with websockets.connect(live.url(token)):
        await wait_until(lambda: len(live.hub) == 1)
    assert "token=***" in caplog.text
    assert token not in caplog.text and token.split(".")[2] not in caplog.text
