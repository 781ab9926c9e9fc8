"""POST /api/v1/frames against the real database, Redis and RabbitMQ (the app runs in-process).

Every refusal test ends by pushing one good frame and checking that it is the only message the
broker holds: whatever was refused before it was never published.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection

from vigia.common.broker import FRAMES
from vigia.common.messages import envelope_from_headers


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def gw(running: Any, settings_for: Any) -> Any:
    return await running(settings_for())


async def _only_the_sentinel_was_published(gw: Any, tap: Any, tenant: Any, make_jpeg: Any,
                                           before: list[Any] | None = None) -> None:
    sentinel = await gw.post_frame(tenant, make_jpeg())
    assert sentinel.status_code == 202, sentinel.text
    messages = (before or []) + await tap.drain()
    assert [m.message_id for m in messages] == [sentinel.json()["id"]]


async def test_raw_jpeg_is_published_once_with_its_envelope_and_answered_202_with_the_frame_id(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any) -> None:
    frames = await tap()
    image = make_jpeg(64, 48)
    response = await gw.post_frame(tenant, image, headers={
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    assert response.status_code == 202, response.text
    frame_id = response.json()["id"]
    messages = await frames.drain()
    assert len(messages) == 1
    message = messages[0]
    assert message.body == image
    assert message.message_id == frame_id
    assert message.content_type == "image/jpeg"
    assert message.routing_key == f"frame.{tenant.org}.{tenant.camera}"
    assert message.delivery_mode == aio_pika.DeliveryMode.NOT_PERSISTENT
    envelope = envelope_from_headers(dict(message.headers))
    assert str(envelope.id) == frame_id
    assert (envelope.type, envelope.org, envelope.source) == ("frame.captured", tenant.org, "ingest-frames")
    assert envelope.trace == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    data = envelope.data.model_dump()
    assert data == {"camera": tenant.camera, "width": 64, "height": 48, "content_type": "image/jpeg",
                    "seq": response.json()["seq"]}
    assert data["seq"] >= 1


async def test_raw_png_is_published_as_png_with_its_dimensions(gw: Any, tap: Any, tenant: Any,
                                                                 make_png: Any) -> None:
    frames = await tap()
    image = make_png(32, 24)
    response = await gw.post_frame(tenant, image, content_type="application/octet-stream")
    assert response.status_code == 202, response.text
    [message] = await frames.drain()
    assert message.body == image and message.content_type == "image/png"
    data = envelope_from_headers(dict(message.headers)).data.model_dump()
    assert (data["width"], data["height"], data["content_type"]) == (32, 24, "image/png")


async def test_multipart_frame_with_camera_and_capture_time_fields_is_published(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any) -> None:
    frames = await tap()
    image = make_jpeg(80, 60)
    response = await gw.client.post(
        "/api/v1/frames", headers={"X-Device-Token": tenant.token},
        files={"frame": ("f.jpg", image, "image/jpeg")},
        data={"camera": str(tenant.camera), "captured_at": "2026-01-02T03:04:05.123456789Z"})
    assert response.status_code == 202, response.text
    [message] = await frames.drain()
    assert message.body == image and message.message_id == response.json()["id"]
    envelope = envelope_from_headers(dict(message.headers))
    assert envelope.time == 1767323045_123456789
    assert envelope.data.model_dump()["width"] == 80


async def test_consecutive_frames_of_a_camera_get_increasing_sequence_numbers(
        gw: Any, tenant: Any, make_jpeg: Any) -> None:
    seqs = [(await gw.post_frame(tenant, make_jpeg())).json()["seq"] for _ in range(3)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


@pytest.mark.parametrize(("body", "content_type"), [
    (b'{"not": "an image"}', "application/json"),
    (b"GIF89a" + b"\x00" * 100, "image/gif"),
    (b"just text", "image/jpeg"),  # the Content-Type lies; the bytes decide
])
async def test_non_image_is_refused_with_415_naming_frame_and_nothing_is_published(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any, body: bytes, content_type: str) -> None:
    frames = await tap()
    response = await gw.post_frame(tenant, body, content_type=content_type)
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type" and "frame" in error["fields"]
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


async def test_truncated_jpeg_is_refused_with_400_and_nothing_is_published(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any) -> None:
    frames = await tap()
    image = make_jpeg(64, 48)
    for cut in (image[: len(image) // 2], image[:-2], image[:40]):
        response = await gw.post_frame(tenant, cut)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["fields"]["frame"][0].startswith("JPEG is truncated")
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


async def test_truncated_png_and_insane_dimensions_are_refused_with_400(
        gw: Any, tap: Any, tenant: Any, make_png: Any, make_jpeg: Any) -> None:
    frames = await tap()
    image = make_png(32, 24)
    huge = image[:16] + (9000).to_bytes(4, "big") + image[20:]
    for body in (image[:-12], huge):
        response = await gw.post_frame(tenant, body, content_type="image/png")
        assert response.status_code == 400, response.text
        assert "frame" in response.json()["error"]["fields"]
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


async def test_six_megabyte_image_is_refused_with_413_declared_or_streamed(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any) -> None:
    frames = await tap()
    small = make_jpeg()
    big = small[:-2] + b"\x00" * (6 * 1024 * 1024) + b"\xff\xd9"
    response = await gw.post_frame(tenant, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for start in range(0, len(big), 256 * 1024):
            yield big[start:start + 256 * 1024]

    response = await gw.post_frame(tenant, chunks())  # type: ignore[arg-type]
    assert response.status_code == 413
    response = await gw.client.post("/api/v1/frames", headers=tenant.auth,
                                    files={"frame": ("f.jpg", big, "image/jpeg")},
                                    data={"camera": str(tenant.camera)})
    assert response.status_code == 413
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer vdt_" + "A" * 43},
    {"Authorization": "Bearer not-a-token"},
    {"X-Device-Token": "vdt_short"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
])
async def test_missing_or_wrong_device_token_is_refused_with_401(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any, headers: dict[str, str]) -> None:
    frames = await tap()
    response = await gw.client.post("/api/v1/frames", params={"camera": str(tenant.camera)},
                                    content=make_jpeg(), headers={**headers, "Content-Type": "image/jpeg"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


async def test_revoked_token_is_refused_with_401_within_the_cache_ttl(
        running: Any, settings_for: Any, tap: Any, tenant: Any, engine: Any, make_jpeg: Any) -> None:
    gw = await running(settings_for(device_cache_s=0.5))
    frames = await tap()
    assert (await gw.post_frame(tenant, make_jpeg())).status_code == 202
    tenant.revoke(engine)
    await asyncio.sleep(0.6)
    response = await gw.post_frame(tenant, make_jpeg())
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "unknown or revoked device token"
    assert len(await frames.drain()) == 1


async def test_another_organizations_camera_or_an_unknown_one_answers_404(
        gw: Any, tap: Any, tenant: Any, other_tenant: Any, make_jpeg: Any) -> None:
    frames = await tap()
    for camera in (other_tenant.camera, uuid.uuid4()):
        response = await gw.post_frame(tenant, make_jpeg(), camera=camera)
        assert response.status_code == 404
        assert response.json()["error"] == {"code": "not_found", "message": "camera: no such camera",
                                             "fields": {"camera": ["no such camera"]}}
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


async def test_missing_or_malformed_camera_and_capture_time_are_400_naming_the_field(
        gw: Any, tap: Any, tenant: Any, make_jpeg: Any) -> None:
    frames = await tap()
    no_camera = await gw.client.post("/api/v1/frames", content=make_jpeg(), headers=tenant.auth)
    assert no_camera.status_code == 400 and "camera" in no_camera.json()["error"]["fields"]
    bad_camera = await gw.client.post("/api/v1/frames", params={"camera": "nope"}, content=make_jpeg(),
                                      headers=tenant.auth)
    assert bad_camera.status_code == 400 and "camera" in bad_camera.json()["error"]["fields"]
    bad_time = await gw.post_frame(tenant, make_jpeg(), params={"camera": str(tenant.camera),
                                                                "captured_at": "yesterday"})
    assert bad_time.status_code == 400 and "captured_at" in bad_time.json()["error"]["fields"]
    no_part = await gw.client.post("/api/v1/frames", headers=tenant.auth,
                                   files={"image": ("f.jpg", make_jpeg(), "image/jpeg")},
                                   data={"camera": str(tenant.camera)})
    assert no_part.status_code == 400 and "frame" in no_part.json()["error"]["fields"]
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)


async def test_camera_over_its_rate_gets_429_with_retry_after_and_nothing_more_is_published(
        running: Any, settings_for: Any, tap: Any, tenant: Any, other_tenant: Any, make_jpeg: Any) -> None:
    gw = await running(settings_for(frame_rate_limit=3))
    frames = await tap()
    statuses = [(await gw.post_frame(tenant, make_jpeg())).status_code for _ in range(3)]
    refused = await gw.post_frame(tenant, make_jpeg())
    assert statuses == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "throttled"
    # The limit is per camera: another camera is not held back.
    assert (await gw.post_frame(other_tenant, make_jpeg())).status_code == 202
    assert len(await frames.drain()) == 4
    await asyncio.sleep(1.1)  # the window is over
    assert (await gw.post_frame(tenant, make_jpeg())).status_code == 202


async def test_unreachable_broker_answers_503_with_retry_after_and_readiness_fails(
        running: Any, settings_for: Any, tenant: Any, make_jpeg: Any) -> None:
    gw = await running(settings_for(amqp_url=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/"),
                       wait_for_broker=False)
    response = await gw.post_frame(tenant, make_jpeg())
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["error"]["code"] == "unavailable"
    ready = await gw.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"broker": False, "redis": True, "database": True}


async def test_unroutable_frame_or_missing_exchange_answers_503_and_nothing_is_queued(
        running: Any, settings_for: Any, amqp: AbstractRobustConnection, tenant: Any,
        make_jpeg: Any) -> None:
    # No topology: the exchange itself is missing.
    gw = await running(settings_for(frames_declare_topology=False))
    response = await gw.post_frame(tenant, make_jpeg())
    assert response.status_code == 503
    # The exchange exists but no queue is bound for frames: the mandatory publish comes back.
    channel = await amqp.channel()
    exchange = await channel.declare_exchange(FRAMES, aio_pika.ExchangeType.TOPIC, durable=True)
    other = await channel.declare_queue("", exclusive=True)
    await other.bind(exchange, "frame.some-other-org.#")
    response = await gw.post_frame(tenant, make_jpeg())  # the robust channel reopened after the 404
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert await other.get(fail=False, timeout=5) is None


async def test_readiness_health_and_metrics(gw: Any, tenant: Any, make_jpeg: Any) -> None:
    assert (await gw.post_frame(tenant, make_jpeg())).status_code == 202
    assert (await gw.post_frame(tenant, b"nope")).status_code == 415
    assert (await gw.client.get("/healthz")).json() == {"status": "alive"}
    ready = await gw.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"broker": True, "redis": True, "database": True}}
    metrics = (await gw.client.get("/metrics")).text
    assert "vigia_frames_accepted_total" in metrics
    assert 'vigia_frames_rejected_total{reason="unsupported_type"}' in metrics
    assert ('vigia_http_request_duration_seconds_count{method="POST",route="/api/v1/frames",'
            'service="ingest-frames"}') in metrics


async def test_unknown_route_and_wrong_method_use_the_one_error_shape(gw: Any) -> None:
    missing = await gw.client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = await gw.client.get("/api/v1/frames")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


async def test_a_disabled_camera_is_refused_with_409_naming_the_camera(
        gw: Any, tap: Any, tenant: Any, engine: Any, make_jpeg: Any) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from vigia.common.db import cameras

    disabled, now = uuid.uuid4(), datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(cameras).values(id=disabled, org_id=tenant.org, name="off", rtsp_url_encrypted="x",
                                            fps=1.0, zones=[], enabled=False, status="offline", location="",
                                            site="", version=1, created_at=now, updated_at=now))
    frames = await tap()
    response = await gw.post_frame(tenant, make_jpeg(), camera=disabled)
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"camera": ["the camera is disabled; enable it to send frames"]}
    await _only_the_sentinel_was_published(gw, frames, tenant, make_jpeg)
