"""The ASGI application: routes, error shape, metrics middleware and the gateway's lifespan.

``create_app(settings)`` builds it; ``main_app()`` is the factory for ``uvicorn --factory``. The
lifespan opens the :class:`Gateway` (database engine, Redis, broker connection in the background,
last_seen writer) and closes it after the sockets were drained (see :mod:`.server`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from vigia.common.client_address import ClientAddressMiddleware
from vigia.common.http_errors import gateway_openapi
from vigia.common.observability import HttpMetricsMiddleware, configure_logging
from vigia.ingest_sensors.api import batch, ops, ws
from vigia.ingest_sensors.errors import install_error_handlers
from vigia.ingest_sensors.gateway import Gateway
from vigia.ingest_sensors.settings import IngestSensorsSettings

SERVICE = "ingest-sensors"


def create_app(settings: IngestSensorsSettings | None = None) -> FastAPI:
    """The gateway application for ``settings`` (default: from the environment)."""
    resolved = settings or IngestSensorsSettings(service_name=SERVICE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = Gateway.open(resolved)
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.drain(resolved.shutdown_grace_s)  # no-op when the server drained already
            await gateway.close()

    app = FastAPI(title="Vigia ingest-sensors", version="1", lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json",
                  description="Phones stream sensor packets and audio over WS /api/v1/sensors/ws (or POST "
                  "/api/v1/sensors:batch); items are acknowledged only after the broker confirmed them.")
    app.state.settings = resolved
    install_error_handlers(app)
    app.openapi = lambda: app.openapi_schema or _exact_openapi(app)  # type: ignore[method-assign]
    app.include_router(ws.router)
    app.include_router(batch.router)
    app.include_router(ops.router)
    app.add_middleware(HttpMetricsMiddleware, service=SERVICE)
    # Outermost: uvicorn's WebSocket log lines and every route see the client behind our proxies.
    app.add_middleware(ClientAddressMiddleware, trusted=resolved.trusted_proxy_networks)
    return app


def _exact_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, completed once by :func:`vigia.common.http_errors.gateway_openapi`."""
    app.openapi_schema = gateway_openapi(FastAPI.openapi(app))
    return app.openapi_schema


def main_app() -> FastAPI:
    """uvicorn's factory: settings from the environment, JSON logs."""
    settings = IngestSensorsSettings(service_name=SERVICE)
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
