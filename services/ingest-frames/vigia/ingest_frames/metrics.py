"""The gateway's metrics: frames accepted and refused, and HTTP requests by route template."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigia.common.observability import HTTP_LATENCY, HTTP_REQUESTS

FRAMES_ACCEPTED = Counter("vigia_frames_accepted_total", "Frames published to the broker (confirmed) "
                          "by ingest-frames")
FRAMES_REJECTED = Counter(
    "vigia_frames_rejected_total", "Frames ingest-frames refused, by reason (unauthenticated, "
    "too_large, unsupported_type, truncated, invalid, camera_not_found, rate_limited, "
    "broker_unavailable)", ["reason"])


class RouteMetrics:
    """``vigia_http_requests_total`` and ``vigia_http_request_duration_seconds`` of one service, with
    the labelled children cached (looking them up by labels costs more than observing)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                                              HTTP_LATENCY.labels(self.service, method, route))
        children[0].inc()
        children[1].observe(seconds)


class HttpMetricsMiddleware:
    """Counts and times every HTTP request under its route template (never the raw path, whose
    ids would make one time series per frame). A pure ASGI middleware: no per-request task."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.metrics = RouteMetrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], path, status, time.perf_counter() - started)
