"""POST /api/v1/frames: a device pushes one frame of one of its organization's cameras.

The body is either the image itself (any Content-Type; the bytes decide) or
``multipart/form-data`` with a ``frame`` file part and optional ``camera`` and ``captured_at``
fields. ``camera`` and ``captured_at`` may also be query parameters. Oversized bodies are refused
from their Content-Length before a byte is read, and while streaming when there is none.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from vigia.common.http_errors import DEVICE_TOKEN_SECURITY, ApiError, error_responses, invalid
from vigia.common.messages import TimeNs, Traceparent
from vigia.common.observability import RouteMetrics
from vigia.ingest_frames.api.deps import GatewayDep
from vigia.ingest_frames.api.models import FrameAcceptedOut
from vigia.ingest_frames.errors import response_for, too_large
from vigia.ingest_frames.gateway import Gateway
from vigia.ingest_frames.metrics import FRAMES_ACCEPTED
from vigia.ingest_frames.publishing import BrokerUnavailable
from vigia.ingest_frames.service import IncomingFrame, accept_frame

router = APIRouter()

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small fields around the frame
MAX_FIELD_BYTES = 1024
MAX_PARTS = 8
_TIME = TypeAdapter(TimeNs)
_TRACE = TypeAdapter(Traceparent)

_ERRORS = error_responses({
    400: "Not a valid request: `fields` names the problem (frame truncated or of insane "
         "dimensions, camera or captured_at malformed or missing)",
    401: "Missing, unknown or revoked device token",
    404: "No such camera in the device's organization",
    409: "The camera is disabled",
    413: "Frame larger than VIGIA_MAX_FRAME_BYTES",
    415: "The bytes are not a JPEG or PNG image",
    429: "The camera exceeded VIGIA_FRAME_RATE_LIMIT frames/s; see Retry-After",
    503: "The broker did not confirm the frame; see Retry-After",
})


FRAMES_PATH = "/api/v1/frames"
_BODY_DOC: dict[str, Any] = {"security": DEVICE_TOKEN_SECURITY, "requestBody": {"required": True, "content": {
    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
    "image/png": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["frame"], "properties": {
        "frame": {"type": "string", "format": "binary", "description": "The JPEG or PNG image"},
        "camera": {"type": "string", "format": "uuid"},
        "captured_at": {"type": "string", "description": "RFC 3339 or ns since the epoch"}}}},
}}}


@router.post(FRAMES_PATH, status_code=202, response_model=FrameAcceptedOut, responses=_ERRORS,
             openapi_extra=_BODY_DOC, summary="Push one camera frame (JPEG or PNG)")
async def post_frame(
    request: Request,
    gateway: GatewayDep,
    camera: Annotated[uuid.UUID | None, Query(description="Camera id (or a multipart field)")] = None,
    captured_at: Annotated[str | None, Query(description="Capture time: RFC 3339 or ns since the "
                                              "epoch (default: now)")] = None,
) -> Response:
    """Publish the frame to ``vigia.frames`` and answer 202 once the broker confirmed it.

    Authenticated by a device token (``Authorization: Bearer vdt_...`` or ``X-Device-Token``). The
    body is the image itself (any Content-Type: the bytes decide) or multipart/form-data."""
    # The served app answers this route with :class:`FrameEndpoint` before FastAPI sees the request
    # (see app.py); this route documents it and answers when the router is mounted elsewhere.
    return Response(await accept_request(gateway, request.scope, request.receive), status_code=202,
                    media_type="application/json")


_WANTED_HEADERS = frozenset({b"authorization", b"x-device-token", b"content-type", b"content-length",
                             b"traceparent"})


async def accept_request(gateway: Gateway, scope: Scope, receive: Receive) -> bytes:
    """Authenticate, read, check and publish one pushed frame; returns the 202's JSON body and raises
    the refusals that :func:`~vigia.ingest_frames.errors.response_for` turns into answers.

    Works on the raw ASGI scope and ``receive``: it runs once per frame, thousands of times a second,
    so it reads the five headers it needs in one pass and the query string with ``parse_qsl``."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in _WANTED_HEADERS and name not in headers:  # the first occurrence, as Starlette
            headers[name] = value
    device = await gateway.devices.authenticate(device_token(headers.get(b"authorization"),
                                                             headers.get(b"x-device-token")))
    query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
    camera = _camera(query["camera"]) if query.get("camera") else None
    captured_at = _captured_at(query.get("captured_at"))

    settings = gateway.settings
    content_type = headers.get(b"content-type", b"").decode("latin-1")
    multipart = content_type.lower().startswith("multipart/form-data")
    limit = settings.max_frame_bytes + (MULTIPART_OVERHEAD if multipart else 0)
    body = await read_body(receive, headers.get(b"content-length"), limit, settings.max_frame_bytes)
    fields: dict[str, str] = {}
    if multipart:
        image, fields = parse_multipart(content_type, body, settings.max_frame_bytes)
    else:
        image = body
    if not image:
        raise invalid("frame", "the body holds no frame")
    traceparent = headers.get(b"traceparent")
    frame = IncomingFrame(
        camera=camera or _camera(fields.get("camera")),
        image=image,
        captured_at_ns=captured_at if captured_at is not None else _captured_at(fields.get("captured_at")),
        trace=_trace(traceparent.decode("latin-1")) if traceparent else None,
    )
    accepted = await accept_frame(frame, device, cameras=gateway.cameras, limiter=gateway.limiter,
                                  sink=gateway.publisher, max_dimension=settings.max_frame_dimension)
    FRAMES_ACCEPTED.inc()
    return orjson.dumps({"id": str(accepted.id), "camera": str(accepted.camera), "seq": accepted.seq})


def device_token(authorization: bytes | None, x_device_token: bytes | None) -> str:
    """The device token of ``Authorization: Bearer <token>`` or ``X-Device-Token``; 401 if none."""
    if authorization:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    token = (x_device_token or b"").decode("latin-1").strip()
    if token:
        return token
    raise ApiError(401, "not_authenticated", "a device token is required (Authorization: Bearer vdt_... "
                   "or X-Device-Token)", reason="unauthenticated",
                   headers={"WWW-Authenticate": 'Bearer realm="vigia-devices"'})


async def read_body(receive: Receive, declared: bytes | None, limit: int, frame_limit: int) -> bytes:
    """The whole body, refusing (413) past ``limit`` bytes: by Content-Length up front, else by
    counting while it streams in."""
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise invalid("content-length", "not an integer") from None
        if size > limit:
            raise too_large(frame_limit, size)
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        if chunk:
            received += len(chunk)
            if received > limit:
                raise too_large(frame_limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class FrameEndpoint:
    """``POST /api/v1/frames`` as a bare ASGI callable, for the served app's hot path.

    Going through FastAPI (a dozen middleware layers, dependency solving, parameter validation, a
    Response object) cost a frame about 0.5 ms of CPU on the 2-core dev machine, twice what
    publishing it costs: :class:`~vigia.ingest_frames.app.GatewayApp` sends this one route here
    instead. Same checks, same answers, same metrics
    (``vigia_http_request*`` under the route template, ``vigia_frames_*``)."""

    def __init__(self, metrics: RouteMetrics) -> None:
        self.metrics = metrics

    async def __call__(self, gateway: Gateway | None, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            if gateway is None:
                raise BrokerUnavailable("the gateway has not started")
            body = await accept_request(gateway, scope, receive)
        except ClientDisconnect:  # gone before sending the whole body: no one to answer
            self.metrics.observe("POST", FRAMES_PATH, 499, time.perf_counter() - started)
            return
        except Exception as exc:
            response = response_for(exc)
            await response(scope, receive, send)
            self.metrics.observe("POST", FRAMES_PATH, response.status_code, time.perf_counter() - started)
            return
        await send({"type": "http.response.start", "status": 202,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        self.metrics.observe("POST", FRAMES_PATH, 202, time.perf_counter() - started)


def parse_multipart(content_type: str, body: bytes, frame_limit: int) -> tuple[bytes, dict[str, str]]:
    """The ``frame`` part and the small text fields of a multipart/form-data body."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise invalid("content-type", "multipart/form-data needs a boundary")
    parts: list[tuple[dict[bytes, bytes], list[bytes]]] = []
    header_field = b""
    state: dict[str, Any] = {"headers": {}, "data": []}

    def on_part_begin() -> None:
        state["headers"], state["data"] = {}, []

    def on_header_field(data: bytes, start: int, end: int) -> None:
        nonlocal header_field
        header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        key = header_field.lower()
        state["headers"][key] = state["headers"].get(key, b"") + data[start:end]

    def on_header_end() -> None:
        nonlocal header_field
        header_field = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"].append(data[start:end])

    def on_part_end() -> None:
        if len(parts) >= MAX_PARTS:
            raise invalid("frame", f"at most {MAX_PARTS} form parts are accepted")
        parts.append((state["headers"], state["data"]))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise invalid("frame", f"malformed multipart body: {exc}") from None

    image = b""
    fields: dict[str, str] = {}
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        value = b"".join(data)
        if name == "frame":
            if len(value) > frame_limit:
                raise too_large(frame_limit, len(value))
            image = value
        elif name in ("camera", "captured_at"):
            if len(value) > MAX_FIELD_BYTES:
                raise invalid(name, "value too long")
            fields[name] = value.decode("utf-8", "replace").strip()
    if not image:
        raise invalid("frame", "the multipart body has no `frame` file part")
    return image, fields


def _camera(value: str | None) -> uuid.UUID:
    if not value:
        raise invalid("camera", "required: the camera's id, as a query parameter or form field")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid("camera", "must be a UUID") from None


def _captured_at(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return _TIME.validate_python(int(value) if value.isdigit() else value)
    except ValidationError as exc:
        raise invalid("captured_at", str(exc.errors()[0]["msg"])) from None


def _trace(value: str | None) -> str | None:
    """A caller's W3C traceparent continues its trace; a malformed one is ignored, not refused."""
    if not value:
        return None
    try:
        return _TRACE.validate_python(value)
    except ValidationError:
        return None
