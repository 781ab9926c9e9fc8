"""POST /api/v1/sensors:batch: the fallback for phones that cannot hold a socket.

The body is a JSON array of packets (the same objects as on the socket). The answer comes after the
broker confirmed the accepted ones: ``{"accepted": [seqs], "rejected": [{"seq", "field",
"message"}]}``. A body that is not a JSON array (or object) of packets is a 400; the socket's
rules apply otherwise (seqs increasing within the request, timestamps in the window, ``device_id``
the token's device), and the same per-device rate limit (429 with Retry-After).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from vigia.common.http_errors import DEVICE_TOKEN_SECURITY, ApiError, error_responses, invalid
from vigia.ingest_sensors.api.deps import DeviceDep, GatewayDep
from vigia.ingest_sensors.api.models import BatchOut
from vigia.ingest_sensors.metrics import ACK_LATENCY, PACKETS_ACCEPTED, PACKETS_REJECTED
from vigia.ingest_sensors.wire import PACKETS, PacketChecker, Rejection, decode_body

router = APIRouter()

_ACCEPTED_HTTP = PACKETS_ACCEPTED.labels("http")
_ERRORS = error_responses({
    400: "The body is not a JSON array of packets (`fields.body` says why)",
    401: "Missing, unknown or revoked device token",
    413: "Body larger than VIGIA_SENSORS_MAX_FRAME_BYTES",
    429: "The device exceeded its rate limit; see Retry-After",
    503: "The broker did not confirm the packets; see Retry-After (nothing was accepted)",
})


def _inline(schema: Any, definitions: dict[str, Any]) -> Any:
    """``schema`` with its ``$defs`` references replaced by the definitions (they do not recurse)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inline(definitions[schema["$ref"].rsplit("/", 1)[1]], definitions)
        return {key: _inline(value, definitions) for key, value in schema.items() if key != "$defs"}
    if isinstance(schema, list):
        return [_inline(item, definitions) for item in schema]
    return schema


_PACKETS_SCHEMA = PACKETS.json_schema()
_BODY_DOC: dict[str, Any] = {"security": DEVICE_TOKEN_SECURITY, "requestBody": {"required": True, "content": {
    "application/json": {"schema": _inline(_PACKETS_SCHEMA, _PACKETS_SCHEMA.get("$defs", {}))}}}}


@router.post("/api/v1/sensors:batch", response_model=BatchOut, responses=_ERRORS, openapi_extra=_BODY_DOC,
             summary="Push an array of sensor packets (without a WebSocket)")
async def post_batch(request: Request, device: DeviceDep, gateway: GatewayDep) -> Response:
    """Publish the valid packets as sensor.batch messages and answer once the broker confirmed."""
    received = time.perf_counter()
    limit = gateway.settings.sensors_max_frame_bytes
    body = await _read_body(request, limit)
    entries = decode_body(body)
    if len(entries) == 1 and isinstance(entries[0], Rejection) and entries[0].field == "frame":
        raise invalid("body", entries[0].message)
    if entries and not gateway.limiter.take(device.device, len(entries)):
        retry = gateway.limiter.retry_after_s(device.device, len(entries))
        raise ApiError(429, "throttled", f"rate limit of {gateway.limiter.rate:g} items/s exceeded",
                       reason="rate_limited", headers={"Retry-After": str(retry)})
    rejections: list[Rejection] = []
    accepted = PacketChecker(device.device, gateway.window).check(entries, rejections)
    if accepted:
        await gateway.intake.publish_packets(device, accepted)
        _ACCEPTED_HTTP.inc(len(accepted))
        ACK_LATENCY.observe(time.perf_counter() - received)
    for rejection in rejections:
        PACKETS_REJECTED.labels(rejection.reason).inc()
    return Response(orjson.dumps({
        "accepted": [packet["seq"] for packet in accepted],
        "rejected": [{"seq": r.seq, "field": r.field, "message": r.message} for r in rejections],
    }), media_type="application/json")


async def _read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 past ``limit`` bytes (by Content-Length, else while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"body: larger than {limit} bytes", reason="too_large",
                    fields={"body": [f"larger than {limit} bytes"]})
