"""The gateway's metrics: items accepted and refused, ack latency, connections, HTTP requests."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vigia.common.observability import HTTP_LATENCY, HTTP_REQUESTS

PACKETS_ACCEPTED = Counter("vigia_sensor_packets_accepted_total", "Sensor packets ingest-sensors "
                           "published to the broker (confirmed)", ["transport"])
PACKETS_REJECTED = Counter(
    "vigia_sensor_packets_rejected_total", "Sensor items (packets, audio chunks, frames) ingest-sensors "
    "refused, by reason (invalid, timestamp, seq, device_id, audio, rate_limited, too_large)", ["reason"])
AUDIO_CHUNKS_ACCEPTED = Counter("vigia_sensor_audio_chunks_accepted_total", "Audio chunks ingest-sensors "
                                "published to the broker (confirmed)")
BATCHES_PUBLISHED = Counter("vigia_sensor_batches_published_total", "sensor.batch messages ingest-sensors "
                            "published (confirmed)")
ACK_LATENCY = Histogram(
    "vigia_sensor_ack_latency_seconds", "From the arrival of the first item of a broker message to the "
    "ack covering it (WebSocket) or the response (HTTP)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CONNECTIONS = Gauge("vigia_sensor_connections", "Authenticated sensor WebSockets open on this process")
CLOSES = Counter("vigia_sensor_connections_closed_total", "Sensor WebSockets closed, by close code",
                 ["code"])


class HttpMetricsMiddleware:
    """Counts and times every HTTP request under its route template (never the raw path). A pure
    ASGI middleware; WebSocket traffic passes through untouched."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

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
            key = (scope["method"], path, status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)),
                    HTTP_LATENCY.labels(self.service, scope["method"], path))
            children[0].inc()
            children[1].observe(time.perf_counter() - started)
