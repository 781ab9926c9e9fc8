"""Liveness, readiness and metrics endpoints of the control plane, and JSON 404/500 pages."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vigia.common.observability import health
from vigia.control.core.errors import error_response


def _database_ready() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


health.add("database", _database_ready)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "alive"})


def readyz(request: HttpRequest) -> JsonResponse:
    ok, results = health.ready()
    return JsonResponse({"status": "ready" if ok else "not ready", "checks": results},
                        status=200 if ok else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def not_found(request: HttpRequest, exception: Any = None) -> JsonResponse:
    return error_response(404, "not_found", f"no route for {request.path}")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "server_error", "internal error")
