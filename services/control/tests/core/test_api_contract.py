"""What every client can rely on: a valid OpenAPI 3 document, Swagger UI, health endpoints and one
JSON error shape for bad input (unknown routes, oversized and malformed bodies)."""

from __future__ import annotations

import json
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


def _document() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    return dict(json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True))))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in document["paths"].items()
            for method, op in ops.items() if method in ("get", "post", "put", "patch", "delete")]


def test_every_operation_documents_the_errors_its_view_can_answer() -> None:
    document = _document()
    error = {"$ref": "#/components/schemas/Error"}
    for method, path, op in _operations(document):
        statuses = op["responses"]
        where = f"{method} {path}"
        for status, answer in statuses.items():
            if status >= "400":
                assert answer["content"]["application/json"]["schema"] == error, where
        if {"bearerAuth": []} in op.get("security", []):
            assert {"401", "403"} <= set(statuses), where
        if "{" in path:
            assert "404" in statuses, where
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(statuses), where
    login = document["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"401", "429"} <= set(login)


def test_create_operations_link_to_the_created_objects_routes() -> None:
    links = _document()["paths"]["/api/v1/cameras/"]["post"]["responses"]["201"]["links"]
    assert links["cameras_retrieve"] == {"operationId": "cameras_retrieve",
                                         "parameters": {"path.id": "$response.body#/id"}}
    assert {"cameras_update", "cameras_partial_update", "cameras_destroy"} <= set(links)
    credentials = _document()["paths"]["/api/v1/devices/{id}/credentials/"]["post"]["responses"]["201"]["links"]
    assert credentials["devices_credentials_destroy"]["parameters"] == {
        "path.id": "$request.path.id", "path.credential_id": "$response.body#/id"}


@pytest.mark.django_db
def test_plate_search_and_credentials_answer_the_documented_shapes(client: Client) -> None:
    # Both violated their schema: the search answered an object documented as an array, the
    # credentials a list documented as a page.
    from vigia.control.core.choices import Role
    from vigia.control.devices.models import Device
    from vigia.control.tenancy.models import Organization, User
    from vigia.control.tenancy.tokens import issue_token_pair

    org = Organization.objects.create(slug="contract", name="Contract")
    user = User.objects.create_user("c@contract.test", org=org, password=None, role=Role.ADMIN)
    device = Device.objects.create(org=org, name="phone", kind="phone")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token_pair(user).access}"}
    paths = _document()["paths"]
    search = client.get("/api/v1/detections/search/", {"plate": "ABC1D23"}, **auth)
    assert search.status_code == 200
    documented = paths["/api/v1/detections/search/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert documented["schema"] == {"$ref": "#/components/schemas/PlateSearchResult"}
    assert set(search.json()) == {"query", "threshold", "plates", "results"}
    credentials = client.get(f"/api/v1/devices/{device.id}/credentials/", **auth)
    assert credentials.status_code == 200 and isinstance(credentials.json(), list)
    documented = paths["/api/v1/devices/{id}/credentials/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert documented["schema"]["type"] == "array"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("url", "body"), [("/api/v1/cameras/", {"name": "gate", "rtsp_url": "rtsp://cam/1"}),
                                           ("/api/v1/devices/", {"name": "phone", "kind": "phone"})])
def test_an_unexpected_error_is_a_500_in_the_error_shape_and_writes_nothing(
        api: Any, operator: Any, monkeypatch: Any, url: str, body: dict[str, Any]) -> None:
    from vigia.control.cameras.models import Camera
    from vigia.control.devices.models import Device
    from vigia.control.outbox import changes
    from vigia.control.outbox.models import OutboxMessage

    def broken(instance: Any, verb: str) -> None:
        raise RuntimeError("after the row was saved")

    monkeypatch.setattr(changes, "announce_change", broken)
    client = api(operator)
    client.raise_request_exception = False
    response = client.post(url, body, format="json")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "server_error", "message": "internal error"}}
    assert (Camera.objects.count(), Device.objects.count(), OutboxMessage.objects.count()) == (0, 0, 0)
