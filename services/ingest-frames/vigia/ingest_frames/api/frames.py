"""POST /api/v1/frames: a device pushes one frame of one of its organization's cameras.

The body is either the image itself (any Content-Type; the bytes decide) or
``multipart/form-data`` with a ``frame`` file part and optional ``camera`` and ``captured_at``
fields. ``camera`` and ``captured_at`` may also be query parameters. Oversized bodies are refused
from their Content-Length before a byte is read, and while streaming when there is none.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter, ValidationError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.responses import Response

from vigia.common.messages import TimeNs, Traceparent
from vigia.ingest_frames.api.deps import DeviceDep, GatewayDep
from vigia.ingest_frames.api.models import ErrorOut, FrameAcceptedOut
from vigia.ingest_frames.errors import invalid, too_large
from vigia.ingest_frames.metrics import FRAMES_ACCEPTED
from vigia.ingest_frames.service import IncomingFrame, accept_frame

router = APIRouter()

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small fields around the frame
MAX_FIELD_BYTES = 1024
MAX_PARTS = 8
_TIME = TypeAdapter(TimeNs)
_TRACE = TypeAdapter(Traceparent)

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": text} for code, text in {
        400: "Not a valid request: `fields` names the problem (frame truncated or of insane "
             "dimensions, camera or captured_at malformed or missing)",
        401: "Missing, unknown or revoked device token",
        404: "No such camera in the device's organization",
        409: "The camera is disabled",
        413: "Frame larger than VIGIA_MAX_FRAME_BYTES",
        415: "The bytes are not a JPEG or PNG image",
        429: "The camera exceeded VIGIA_FRAME_RATE_LIMIT frames/s; see Retry-After",
        503: "The broker did not confirm the frame; see Retry-After",
    }.items()
}


@router.post("/api/v1/frames", status_code=202, response_model=FrameAcceptedOut, responses=_ERRORS,
             summary="Push one camera frame (JPEG or PNG)")
async def post_frame(
    request: Request,
    device: DeviceDep,
    gateway: GatewayDep,
    camera: Annotated[uuid.UUID | None, Query(description="Camera id (or a multipart field)")] = None,
    captured_at: Annotated[str | None, Query(description="Capture time: RFC 3339 or ns since the "
                                              "epoch (default: now)")] = None,
) -> Response:
    """Publish the frame to ``vigia.frames`` and answer 202 once the broker confirmed it."""
    settings = gateway.settings
    content_type = request.headers.get("content-type", "")
    multipart = content_type.lower().startswith("multipart/form-data")
    limit = settings.max_frame_bytes + (MULTIPART_OVERHEAD if multipart else 0)
    body = await read_body(request, limit, settings.max_frame_bytes)
    fields: dict[str, str] = {}
    if multipart:
        image, fields = parse_multipart(content_type, body, settings.max_frame_bytes)
    else:
        image = body
    if not image:
        raise invalid("frame", "the body holds no frame")
    frame = IncomingFrame(
        camera=camera or _camera(fields.get("camera")),
        image=image,
        captured_at_ns=_captured_at(captured_at or fields.get("captured_at")),
        trace=_trace(request.headers.get("traceparent")),
    )
    accepted = await accept_frame(frame, device, cameras=gateway.cameras, limiter=gateway.limiter,
                                  sink=gateway.publisher, max_dimension=settings.max_frame_dimension)
    FRAMES_ACCEPTED.inc()
    return Response(orjson.dumps({"id": str(accepted.id), "camera": str(accepted.camera),
                                  "seq": accepted.seq}),
                    status_code=202, media_type="application/json")


async def read_body(request: Request, limit: int, frame_limit: int) -> bytes:
    """The whole body, refusing (413) past ``limit`` bytes: by Content-Length up front, else by
    counting while it streams in."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise invalid("content-length", "not an integer") from None
        if size > limit:
            raise too_large(frame_limit, size)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(frame_limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
