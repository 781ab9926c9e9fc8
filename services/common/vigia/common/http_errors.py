"""The one JSON error shape of Vigia's HTTP gateways, without tying vigia.common to a web framework.

``{"error": {"code": ..., "message": ..., "fields": {"<field>": ["<why>"]}}}`` — the same shape the
control API answers with. The gateways raise :class:`ApiError` and turn it into a response with
:func:`error_body` in their framework's handler.
"""

from __future__ import annotations

from typing import Any

import orjson


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
