"""Logs, metrics and health for every service.

* Logs: one JSON object per line, carrying the trace id of the message or request being handled
  (:data:`trace_context`, set by the consumer runner and HTTP middlewares).
* Metrics: prometheus-client; :func:`serve_metrics` exposes ``/metrics`` (plus ``/healthz`` and
  ``/readyz``) for workers that have no HTTP server of their own.
* Health: a :class:`HealthRegistry` of named readiness checks (is the broker reachable, the
  database, Redis...). ``/healthz`` answers while the process is alive; ``/readyz`` only when
  every check passes.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

trace_context: contextvars.ContextVar[str | None] = contextvars.ContextVar("vigia_trace", default=None)

_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}
_SECRET_KEYS = ("password", "secret", "token", "rtsp_url", "authorization")
# Everything before the last '@' of a URL's authority: passwords may hold a raw '@'.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#]*@")


def redact(value: Any) -> Any:
    """``value`` with secret-named fields (at any depth) replaced by ``***`` and the user:password
    part of URLs in strings masked (``rtsp://***@host``), so no log line carries credentials."""
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(r"\1***@", value)
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and any(s in k.lower() for s in _SECRET_KEYS) else redact(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def trace_id(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a W3C traceparent."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 4 else None


@contextmanager
def traced(traceparent: str | None) -> Iterator[None]:
    token = trace_context.set(traceparent)
    try:
        yield
    finally:
        trace_context.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON line per record: time, level, logger, message, trace id and any ``extra`` fields.

    Extra fields whose names look like secrets are replaced with ``***``, at any depth, and
    credentials inside URLs are masked in the message, the extra fields and the traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        trace = trace_id(trace_context.get())
        if trace:
            payload["trace_id"] = trace
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_"):
                continue
            payload[key] = "***" if any(s in key.lower() for s in _SECRET_KEYS) else redact(value)
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(payload, default=str).decode()


def configure_logging(level: str = "INFO", json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if json_lines else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries that log every request or frame at INFO (httpx: each management API poll).
    for noisy in ("aiormq", "aio_pika", "pika", "urllib3", "botocore", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


Check = Callable[[], bool]


class HealthRegistry:
    """Named readiness checks; each returns True when its dependency answers."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self.details: dict[str, Any] = {}
        self.started = time.monotonic()

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def describe(self, name: str, value: Any) -> None:
        """A fact /readyz shows beside the checks, under ``details`` (e.g. which detector runs and
        why): what an operator needs to tell a degraded-but-ready service from a healthy one."""
        self.details[name] = value

    def run(self) -> dict[str, bool]:
        results: dict[str, bool] = {}
        for name, check in self._checks.items():
            try:
                results[name] = bool(check())
            except Exception:
                logging.getLogger(__name__).warning("readiness check failed", extra={"check": name},
                                                    exc_info=True)
                results[name] = False
        return results

    def ready(self) -> tuple[bool, dict[str, bool]]:
        results = self.run()
        return all(results.values()), results


health = HealthRegistry()


def serve_metrics(port: int, host: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY,  # noqa: S104
                  checks: HealthRegistry = health) -> ThreadingHTTPServer:
    """Serve /metrics, /healthz and /readyz on a daemon thread; returns the server (port 0 picks one)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._send(200, b'{"status":"alive"}', "application/json")
            elif self.path == "/readyz":
                ok, results = checks.ready()
                answer: dict[str, Any] = {"status": "ready" if ok else "not ready", "checks": results}
                if checks.details:
                    answer["details"] = checks.details
                body = orjson.dumps(answer)
                self._send(200 if ok else 503, body, "application/json")
            else:
                self._send(404, b'{"error":{"code":"not_found","message":"no such path"}}',
                           "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


# Shared HTTP metrics: every HTTP service records these with its own ``service`` label.
HTTP_REQUESTS = Counter("vigia_http_requests_total", "HTTP requests answered",
                        ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("vigia_http_request_duration_seconds", "HTTP request latency",
                         ["service", "method", "route"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10))



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
    """ASGI middleware counting and timing every HTTP request under its route template (never the
    raw path, whose ids would make one time series per camera or frame; ``unmatched`` for a 404
    outside every route). Pure ASGI, no per-request task; WebSocket traffic passes untouched."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.metrics = RouteMetrics(service)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: dict[str, Any]) -> None:
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

class CleanExitOnSignal:
    """Mixin for a ``uvicorn.Server`` subclass: after a graceful shutdown on SIGTERM or SIGINT the
    process exits 0, like the other services, instead of uvicorn re-raising the signal it already
    handled (which makes the exit status 143). Put it before ``uvicorn.Server`` in the bases."""

    _captured_signals: list[int]

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():  # type: ignore[misc]
            try:
                yield
            finally:
                self._captured_signals.clear()
