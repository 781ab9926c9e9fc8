"""The ASGI application: routes, error shape, metrics middleware and the gateway's lifespan.

``create_app(settings)`` builds it; ``main_app()`` is the factory uvicorn's workers import
(``uvicorn vigia.ingest_frames.app:main_app --factory``): it reads settings from the environment
and configures logging first. The lifespan opens the :class:`Gateway` (database engine, Redis,
broker connection in the background, drop meter) and closes it after uvicorn has drained the
requests in flight.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from vigia.common.client_address import ClientAddressMiddleware
from vigia.common.http_errors import gateway_openapi
from vigia.common.observability import HttpMetricsMiddleware, RouteMetrics, configure_logging
from vigia.ingest_frames.api import frames, ops
from vigia.ingest_frames.errors import install_error_handlers
from vigia.ingest_frames.gateway import Gateway
from vigia.ingest_frames.settings import IngestFramesSettings

SERVICE = "ingest-frames"


class GatewayApp(FastAPI):
    """FastAPI, except that ``POST /api/v1/frames`` goes straight to
    :class:`~vigia.ingest_frames.api.frames.FrameEndpoint`: the one route that runs thousands of
    times a second skips the middleware stack, routing and dependency solving (the route is still
    declared to FastAPI, so the OpenAPI document describes it). Everything else is plain FastAPI."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frame_endpoint = frames.FrameEndpoint(RouteMetrics(SERVICE))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == frames.FRAMES_PATH and scope["method"] == "POST":
            await self.frame_endpoint(getattr(self.state, "gateway", None), scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: IngestFramesSettings | None = None) -> FastAPI:
    """The gateway application for ``settings`` (default: from the environment)."""
    resolved = settings or IngestFramesSettings(service_name=SERVICE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway.open(resolved)
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.close()

    app = GatewayApp(title="Vigia ingest-frames", version="1", lifespan=lifespan,
                     docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json",
                     description="Cameras and streamers push frames; each is published with publisher "
                     "confirms to vigia.frames before the 202.")
    install_error_handlers(app)
    app.openapi = lambda: app.openapi_schema or _exact_openapi(app)  # type: ignore[method-assign]
    app.include_router(frames.router)
    app.include_router(ops.router)
    app.add_middleware(HttpMetricsMiddleware, service=SERVICE)
    # The frame fast path reads no client address (limits are per camera); every other route sees the
    # client behind our proxies, as control and the other gateways do.
    app.add_middleware(ClientAddressMiddleware, trusted=resolved.trusted_proxy_networks)
    return app


def _exact_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, completed once by :func:`vigia.common.http_errors.gateway_openapi`."""
    app.openapi_schema = gateway_openapi(FastAPI.openapi(app))
    return app.openapi_schema


def main_app() -> FastAPI:
    """uvicorn's factory: settings from the environment, JSON logs."""
    settings = IngestFramesSettings(service_name=SERVICE)
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
