"""What every client can rely on: a valid OpenAPI 3 document, Swagger UI, health endpoints and one
JSON error shape for bad input (unknown routes, oversized and malformed bodies)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client


def test_openapi_schema_generates_valid_without_warnings(tmp_path: Any) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", file=str(target), validate=True, fail_on_warn=True)
    text = target.read_text()
    assert text.startswith("openapi: 3.")
    for path in ("/api/v1/auth/login", "/api/v1/cameras/", "/api/v1/devices/summary",
                 "/api/v1/pipelines/{id}/execute", "/api/v1/detections/search", "/api/v1/events/{id}/acknowledge",
                 "/api/v1/dashboard/analytics", "/api/v1/audit/"):
        assert f"  {path}" in text or f"  {path}/" in text, f"{path} missing from the schema"


@pytest.mark.django_db
def test_swagger_ui_and_schema_are_served(client: Client) -> None:
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_health_and_metrics_endpoints(client: Client) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] is True
    client.get("/api/v1/auth/me")
    metrics = client.get("/metrics").content.decode()
    assert "vigia_http_requests_total" in metrics and "vigia_http_request_duration_seconds" in metrics


@pytest.mark.django_db
def test_unknown_route_answers_json_404(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_oversized_body_is_refused_with_413_before_it_is_read(client: Client, settings: Any) -> None:
    body = b"{" + b" " * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b"}"
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large" and "body" in error["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"{not json", b"[1, 2", b"\xff\xfe"])
def test_malformed_json_is_a_400_with_the_error_shape(client: Client, body: bytes) -> None:
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"
