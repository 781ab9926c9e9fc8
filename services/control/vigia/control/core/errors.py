"""One JSON error shape everywhere::

    {"error": {"code": "invalid", "message": "name: This field is required.",
               "fields": {"name": ["This field is required."]}}}

``fields`` names every offending field (dotted for nested ones) and is omitted when not about fields.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait when a service control depends on does not answer.
UNAVAILABLE_RETRY_S = 5


class DependencyUnavailable(exceptions.APIException):
    """503: Redis (sign-in lock-outs, webhook limits) did not answer. Sign-in fails closed: without
    the lock-out counts a password guesser would be unthrottled."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_detail = "a service the API depends on is unavailable; try again shortly"
    wait = UNAVAILABLE_RETRY_S  # DRF's handler sends it as Retry-After


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_response(status_code: int, code: str, message: str,
                   fields: dict[str, list[str]] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, fields), status=status_code)


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix == "":
                name = "non_field_errors"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                for k, v in _flatten(item, f"{prefix}.{index}" if prefix else str(index)).items():
                    out.setdefault(k, []).extend(v)
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        log.error("Redis unavailable: answered 503", extra={"error": str(exc)})
        exc = DependencyUnavailable()
    if isinstance(exc, IntegrityError):
        # A uniqueness race that the serializer's check could not see (two identical creates at once).
        set_rollback()
        log.warning("integrity error answered 409", exc_info=exc)
        return Response(error_body("conflict", "the change conflicts with existing data; retry or "
                                   "choose another value"), status=status.HTTP_409_CONFLICT)
    response = drf_exception_handler(exc, context)
    if response is None:
        set_rollback()  # answered, not raised: the request's transaction must not commit half a write
        log.exception("unhandled error in API view", exc_info=exc)
        return Response(error_body("server_error", "internal error"),
                        status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()))
        message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.ParseError):
        response.data = error_body("malformed", str(exc.detail))
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        if isinstance(detail, dict | list):
            fields = _flatten(detail)
            response.data = error_body(str(code), next(iter(fields.values()))[0], fields)
        else:
            response.data = error_body(str(code), str(detail))
    return response
