"""The one JSON error shape of Vigia's HTTP gateways, without tying vigia.common to a web framework.

``{"error": {"code": ..., "message": ..., "fields": {"<field>": ["<why>"]}}}`` — the same shape the
control API answers with. The gateways raise :class:`ApiError` and turn it into a response with
:func:`error_body` in their framework's handler, and document it in their OpenAPI with
:func:`error_responses` (the :class:`ErrorOut` model) and :func:`gateway_openapi`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> bytes:
    """The JSON bytes of an error answer (``fields`` only when some field is named)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return orjson.dumps({"error": body})


class ApiError(Exception):
    """A refusal raised by an HTTP layer; ``reason`` labels the gateway's rejection metric (None:
    not counted)."""

    def __init__(self, status: int, code: str, message: str, *, reason: str | None = None,
                 fields: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.reason = reason
        self.fields = fields
        self.headers = headers


def invalid(field: str, message: str) -> ApiError:
    """400 naming one field."""
    return ApiError(400, "invalid", f"{field}: {message}", reason="invalid", fields={field: [message]})


class ErrorDetailOut(BaseModel):
    """What went wrong: a stable machine ``code``, a human ``message`` and the offending fields."""

    code: str = Field(description="Machine-readable reason, e.g. invalid, not_authenticated, throttled")
    message: str = Field(description="Human-readable explanation, naming the first field at fault")
    # Absent (never null) when the error is not about fields: SkipJsonSchema keeps null out of the schema.
    fields: dict[str, list[str]] | SkipJsonSchema[None] = Field(
        None, description="Each offending field (dotted for nested ones) with its problems")


class ErrorOut(BaseModel):
    """The one error body of every Vigia HTTP API."""

    error: ErrorDetailOut


def error_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route (FastAPI's ``responses=`` format) for these error statuses,
    each with the :class:`ErrorOut` body and its description."""
    return {status: {"model": ErrorOut, "description": text} for status, text in sorted(descriptions.items())}


DEVICE_TOKEN = "deviceToken"
DEVICE_TOKEN_SECURITY: list[dict[str, list[str]]] = [{DEVICE_TOKEN: []}]


def gateway_openapi(openapi: dict[str, Any]) -> dict[str, Any]:
    """A gateway's OpenAPI document as FastAPI generated it, made exact: the device-token security
    scheme that routes name with ``openapi_extra={"security": DEVICE_TOKEN_SECURITY}``, and no
    automatic ``422`` answers (the gateways turn request validation errors into a documented ``400``
    with :class:`ErrorOut`, so a 422 never comes)."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation.get("responses", {}).pop("422", None)
    components = openapi.setdefault("components", {})
    schemas = components.get("schemas", {})
    text = orjson.dumps(openapi.get("paths", {})).decode()
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}" not in text:
            schemas.pop(name, None)
    components.setdefault("securitySchemes", {})[DEVICE_TOKEN] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "vdt_...",
        "description": "A device token issued by the control plane (POST /api/v1/devices/, .../credentials/)"}
    return openapi
