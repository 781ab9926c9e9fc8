"""The gateways' OpenAPI helpers: the one error body documented, no 422 that never comes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query

from vigia.common.http_errors import DEVICE_TOKEN_SECURITY, error_responses, gateway_openapi


def test_gateway_document_has_the_error_body_the_security_scheme_and_no_422() -> None:
    app = FastAPI()

    @app.post("/things", responses=error_responses({400: "bad", 401: "who"}),
              openapi_extra={"security": DEVICE_TOKEN_SECURITY})
    async def things(limit: int = Query(1)) -> dict[str, Any]:
        return {}

    document = gateway_openapi(app.openapi())
    responses = document["paths"]["/things"]["post"]["responses"]
    assert set(responses) == {"200", "400", "401"}  # FastAPI's automatic 422 removed: a 400 comes instead
    assert responses["400"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    detail = schemas["ErrorDetailOut"]
    assert detail["required"] == ["code", "message"]
    assert detail["properties"]["fields"]["type"] == "object"  # absent when unused, never null
    assert document["components"]["securitySchemes"]["deviceToken"]["scheme"] == "bearer"
