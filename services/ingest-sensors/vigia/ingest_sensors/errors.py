"""One JSON error shape for HTTP, the control plane's: ``{"error": {"code", "message", "fields"}}``.

``fields`` names the offending request fields (``body``, ``0.magnetometer.x``...) and is left out
when the error is not about a field. (WebSocket refusals are error frames and close codes, see
:mod:`.session`.)
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vigia.common.auth import InvalidToken
from vigia.common.http_errors import ApiError, error_body
from vigia.ingest_sensors.metrics import PACKETS_REJECTED
from vigia.ingest_sensors.publishing import BrokerUnavailable

log = logging.getLogger(__name__)

BROKER_RETRY_AFTER_S = 2


def error_response(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The error body every endpoint answers with (:mod:`vigia.common.http_errors`)."""
    return Response(error_body(code, message, fields), status_code=status, media_type="application/json",
                    headers=headers)




def _api_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.reason:
        PACKETS_REJECTED.labels(exc.reason).inc()
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


def _invalid_token(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidToken)
    return error_response(401, "authentication_failed", exc.reason,
                          headers={"WWW-Authenticate": 'Bearer realm="vigia-devices"'})


def _broker_unavailable(_: Request, exc: Exception) -> Response:
    log.warning("sensor batch refused: broker unavailable", extra={"error": str(exc)})
    return error_response(503, "unavailable", "the packets could not be queued; retry later",
                          headers={"Retry-After": str(BROKER_RETRY_AFTER_S)})


def _validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    fields: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("query", "body", "header", "path")]
        fields.setdefault(".".join(loc) or "non_field_errors", []).append(str(err.get("msg", "invalid")))
    name, messages = next(iter(fields.items()))
    return error_response(400, "invalid", f"{name}: {messages[0]}", fields)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}


def _http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail),
                          headers=dict(exc.headers or {}))


def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "server_error", "internal error")


def install_error_handlers(app: FastAPI) -> None:
    """Map every refusal to the one error shape."""
    handlers = {
        ApiError: _api_error, InvalidToken: _invalid_token, BrokerUnavailable: _broker_unavailable,
        RequestValidationError: _validation, StarletteHTTPException: _http_exception, Exception: _unexpected,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
