"""One JSON error shape, the control plane's: ``{"error": {"code", "message", "fields"}}``.

``fields`` names the offending request fields (``frame``, ``camera``, ``captured_at``...) and is
left out when the error is not about a field. Every refusal of a frame is also counted in
``vigia_frames_rejected_total{reason}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vigia.common.auth import InvalidToken
from vigia.common.http_errors import ApiError, error_body
from vigia.ingest_frames.images import ImageRejected
from vigia.ingest_frames.metrics import FRAMES_REJECTED
from vigia.ingest_frames.publishing import BrokerUnavailable
from vigia.ingest_frames.service import CameraDisabled, CameraNotFound, RateLimited

log = logging.getLogger(__name__)

BROKER_RETRY_AFTER_S = 2


def error_response(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The error body every endpoint answers with (:mod:`vigia.common.http_errors`)."""
    return Response(error_body(code, message, fields), status_code=status, media_type="application/json",
                    headers=headers)




def too_large(limit: int, size: int | None = None) -> ApiError:
    what = f"{size} bytes" if size is not None else "the body"
    return ApiError(413, "too_large", f"{what} exceeds the limit of {limit} bytes per frame",
                    reason="too_large", fields={"frame": [f"larger than {limit} bytes"]})


def _api_error(exc: ApiError) -> Response:
    if exc.reason:
        FRAMES_REJECTED.labels(exc.reason).inc()
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _invalid_token(exc: InvalidToken) -> Response:
    FRAMES_REJECTED.labels("unauthenticated").inc()
    return error_response(401, "authentication_failed", exc.reason,
                          headers={"WWW-Authenticate": 'Bearer realm="vigia-devices"'})


def _image_rejected(exc: ImageRejected) -> Response:
    if exc.kind == "unsupported":
        FRAMES_REJECTED.labels("unsupported_type").inc()
        return error_response(415, "unsupported_media_type", f"frame: {exc.message}",
                              {"frame": [exc.message]})
    FRAMES_REJECTED.labels(exc.kind).inc()
    return error_response(400, "invalid", f"frame: {exc.message}", {"frame": [exc.message]})


def _camera_not_found(_: CameraNotFound) -> Response:
    FRAMES_REJECTED.labels("camera_not_found").inc()
    return error_response(404, "not_found", "camera: no such camera", {"camera": ["no such camera"]})


def _camera_disabled(_: CameraDisabled) -> Response:
    FRAMES_REJECTED.labels("camera_disabled").inc()
    return error_response(409, "conflict", "camera: the camera is disabled",
                          {"camera": ["the camera is disabled; enable it to send frames"]})


def _rate_limited(exc: RateLimited) -> Response:
    FRAMES_REJECTED.labels("rate_limited").inc()
    return error_response(429, "throttled", str(exc), headers={"Retry-After": str(exc.retry_after_s)})


def _broker_unavailable(exc: BrokerUnavailable) -> Response:
    FRAMES_REJECTED.labels("broker_unavailable").inc()
    log.warning("frame refused: broker unavailable", extra={"error": str(exc)})
    return error_response(503, "unavailable", "the frame could not be queued; retry later",
                          headers={"Retry-After": str(BROKER_RETRY_AFTER_S)})


def _validation(exc: RequestValidationError) -> Response:
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("query", "body", "header", "path")]
        fields.setdefault(".".join(loc) or "non_field_errors", []).append(str(err.get("msg", "invalid")))
    FRAMES_REJECTED.labels("invalid").inc()
    name, messages = next(iter(fields.items()))
    return error_response(400, "invalid", f"{name}: {messages[0]}", fields)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}


def _http_exception(exc: StarletteHTTPException) -> Response:
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail),
                          headers=dict(exc.headers or {}))


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "server_error", "internal error")


# Most specific first: the first matching type answers.
_HANDLERS: tuple[tuple[type[Exception], Callable[[Any], Response]], ...] = (
    (ApiError, _api_error), (InvalidToken, _invalid_token), (ImageRejected, _image_rejected),
    (CameraNotFound, _camera_not_found), (CameraDisabled, _camera_disabled), (RateLimited, _rate_limited),
    (BrokerUnavailable, _broker_unavailable), (RequestValidationError, _validation),
    (StarletteHTTPException, _http_exception),
)


def response_for(exc: Exception) -> Response:
    """The error response (and metric) of any exception a request raised; 500 when unexpected."""
    for exc_type, handler in _HANDLERS:
        if isinstance(exc, exc_type):
            return handler(exc)
    return _unexpected(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Map every refusal to the one error shape (and its metric)."""

    def handle(_: Request, exc: Exception) -> Response:
        return response_for(exc)

    for exc_type, _handler in _HANDLERS:
        app.add_exception_handler(exc_type, handle)
    app.add_exception_handler(Exception, handle)
