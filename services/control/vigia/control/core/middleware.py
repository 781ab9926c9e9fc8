"""Request-level guards that must run before Django parses anything."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from vigia.common.observability import HTTP_LATENCY, HTTP_REQUESTS, trace_context
from vigia.control.core.errors import error_response


class BodySizeLimitMiddleware:
    """Refuse bodies over VIGIA_MAX_BODY_BYTES with 413 before reading them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "malformed", "Content-Length is not a number")
        if limit is not None and length > limit:
            return error_response(413, "too_large", f"request body of {length} bytes exceeds {limit}",
                                  {"body": [f"at most {limit} bytes"]})
        return self.get_response(request)


class RequestContextMiddleware:
    """Carry the caller's W3C traceparent (or Kong's correlation id) into logs and outbox rows."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        traceparent = request.headers.get("traceparent")
        token = trace_context.set(traceparent)
        try:
            return self.get_response(request)
        finally:
            trace_context.reset(token)


class MetricsMiddleware:
    """Count requests and time them per route template (not per raw path: bounded label set)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        labels = {"service": "control", "method": request.method or "", "route": route}
        HTTP_LATENCY.labels(**labels).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(**labels, status=str(response.status_code)).inc()
        return response
