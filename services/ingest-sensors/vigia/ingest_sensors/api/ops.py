"""Operational endpoints: liveness, readiness (broker, Redis, database) and Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.responses import Response

from vigia.ingest_sensors.api.deps import GatewayDep
from vigia.ingest_sensors.api.models import ReadinessOut

router = APIRouter()


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> Response:
    return Response(b'{"status":"alive"}', media_type="application/json")


@router.get("/readyz", response_model=ReadinessOut, responses={503: {"model": ReadinessOut}},
            summary="Readiness: broker, Redis and database all answer (and not draining)")
async def readyz(gateway: GatewayDep) -> Response:
    checks = await gateway.readiness()
    ok = all(checks.values())
    return Response(orjson.dumps({"status": "ready" if ok else "not ready", "checks": checks}),
                    status_code=200 if ok else 503, media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics of this process", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
