"""POST /api/v1/sensors:batch: the HTTP fallback, against the real database, Redis and RabbitMQ."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from prometheus_client import REGISTRY

from vigia.common.messages import Envelope, SensorBatch


def _url(gw: Any) -> str:
    return f"{gw.http}/api/v1/sensors:batch"


def _requests(status: str) -> float:
    """``vigia_http_requests_total`` of this route, counted under its template."""
    return REGISTRY.get_sample_value("vigia_http_requests_total", {
        "service": "ingest-sensors", "method": "POST", "route": "/api/v1/sensors:batch", "status": status}) or 0.0


async def test_batch_is_published_then_answered_with_the_accepted_seqs(
        gw: Any, phone: Any, tap: Any, make_packet: Any, http: Any) -> None:
    sensors = await tap()
    answered, refused = _requests("200"), _requests("401")
    packets = [make_packet(1), make_packet(2, device_id=str(phone.device)), make_packet(3)]
    response = await http.post(_url(gw), headers=phone.auth, json=packets)
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": [1, 2, 3], "rejected": []}
    messages = await sensors.drain()
    assert len(messages) == 1
    envelope = Envelope.from_json(messages[0].body)
    assert isinstance(envelope.data, SensorBatch)
    assert envelope.org == phone.org and envelope.data.device == phone.device
    assert [p.seq for p in envelope.data.packets] == [1, 2, 3]
    assert (await http.post(_url(gw), json=packets)).status_code == 401
    assert (_requests("200"), _requests("401")) == (answered + 1, refused + 1)


async def test_bad_packets_are_listed_and_only_the_good_ones_published(
        gw: Any, phone: Any, other_phone: Any, tap: Any, make_packet: Any, http: Any) -> None:
    sensors = await tap()
    body = orjson.dumps([make_packet(1), make_packet(2, audio_peak="x"),
                         make_packet(3, device_id=str(other_phone.device)),
                         make_packet(4, timestamp=time.time_ns() + 3600 * 10**9), make_packet(5)]).decode()
    body = body[:-1] + f',{{"timestamp": {time.time_ns()}, "seq": 6, "audio_peak": NaN}}]'
    response = await http.post(_url(gw), headers={**phone.auth, "Content-Type": "application/json"},
                               content=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["accepted"] == [1, 5]
    assert [(r["seq"], r["field"]) for r in answer["rejected"]] == [
        (2, "audio_peak"), (3, "device_id"), (4, "timestamp"), (6, "audio_peak")]
    batches = [orjson.loads(m.body) for m in await sensors.drain()]
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == [1, 5]


@pytest.mark.parametrize("body", [b"[{", b"not json", b'"a string"', b"42"])
async def test_a_body_that_is_not_packets_is_a_400_naming_the_body(gw: Any, phone: Any, tap: Any,
                                                                    http: Any, body: bytes) -> None:
    sensors = await tap()
    response = await http.post(_url(gw), headers=phone.auth, content=body)
    assert response.status_code == 400, response.text
    assert "body" in response.json()["error"]["fields"]
    assert await sensors.drain() == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer vdt_nope"}, {"Authorization": "Basic x"}])
async def test_missing_or_unknown_token_is_a_401(gw: Any, headers: dict[str, str], make_packet: Any,
                                                 http: Any) -> None:
    response = await http.post(_url(gw), headers=headers, json=[make_packet(1)])
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] in ("not_authenticated", "authentication_failed")


async def test_revoked_token_is_a_401(serve: Any, settings_for: Any, phone: Any, engine: Any,
                                      make_packet: Any, http: Any) -> None:
    served = await serve(settings_for(sensors_device_cache_s=0))
    phone.revoke(engine)
    response = await http.post(_url(served), headers=phone.auth, json=[make_packet(1)])
    assert response.status_code == 401


async def test_oversized_body_is_a_413(serve: Any, settings_for: Any, phone: Any, tap: Any,
                                       make_packet: Any, http: Any) -> None:
    served = await serve(settings_for(sensors_max_frame_bytes=4096))
    sensors = await tap()
    response = await http.post(_url(served), headers=phone.auth, json=[make_packet(s) for s in range(50)])
    assert response.status_code == 413
    assert await sensors.drain() == []


async def test_device_over_its_rate_gets_429_with_retry_after(serve: Any, settings_for: Any, phone: Any,
                                                              tap: Any, make_packet: Any, http: Any) -> None:
    served = await serve(settings_for(sensors_rate_limit=5, sensors_rate_burst_s=2))
    sensors = await tap()
    first = await http.post(_url(served), headers=phone.auth, json=[make_packet(s) for s in range(8)])
    assert first.status_code == 200
    second = await http.post(_url(served), headers=phone.auth, json=[make_packet(s) for s in range(8, 16)])
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) >= 1
    batches = [orjson.loads(m.body) for m in await sensors.drain()]
    assert [p["seq"] for b in batches for p in b["data"]["packets"]] == list(range(8))
