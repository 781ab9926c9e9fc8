"""The OpenAPI contract, derived from what the views do: every operation documents each error status
it can answer, with the one error body (:mod:`vigia.control.core.errors`), and create operations
link to the operations of what they created.

:class:`ErrorDocumentingAutoSchema` is ``DEFAULT_SCHEMA_CLASS``, so a new view is covered without a
decorator: a view only declares the statuses its own code raises (``@extend_schema(responses={...,
503: ERROR})``); the ones its shape implies are added here:

==========  =====================================================================================
status      when
==========  =====================================================================================
400         the operation takes a JSON body or query parameters (validation, filters, malformed JSON)
401         an access token is required (authentication classes and a permission beyond AllowAny)
403         a permission beyond AllowAny (role, platform operator) decides
404         a path parameter names an object (another organization's is not found either), or a
            cursor-paginated list (an unknown cursor)
409         a write on a model (a uniqueness or reference race, :func:`errors.exception_handler`)
413         a body (``BodySizeLimitMiddleware``, VIGIA_MAX_BODY_BYTES)
415         a body sent as anything but JSON
429         the view has throttles
==========  =====================================================================================

:func:`link_created_resources` is a postprocessing hook: each ``201`` of a create operation gets an
OpenAPI link per operation on the created object (``id`` from the response body into the detail
path), which clients and the contract fuzzer (tests/contract) follow.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

STANDARD_ERRORS: dict[int, str] = {
    400: "Invalid input: `error.fields` names each offending field (body, query parameter or filter).",
    401: "Missing, malformed, expired or revoked access token (see WWW-Authenticate).",
    403: "The caller's role does not allow this operation.",
    404: "No such object in the caller's organization (or an unknown page cursor).",
    409: "The change conflicts with the current state or with existing data.",
    413: "The request body exceeds VIGIA_MAX_BODY_BYTES.",
    415: "The request body is not JSON (Content-Type: application/json).",
    429: "Too many requests; retry after the delay in Retry-After.",
}


class ErrorDetailSerializer(serializers.Serializer):
    """What went wrong: a stable machine ``code``, a human ``message`` and the offending fields."""

    code = serializers.CharField(help_text="Machine-readable reason, e.g. invalid, not_found, conflict.")
    message = serializers.CharField(help_text="Human-readable explanation, naming the first field at fault.")
    # DRF's metaclass pops declared fields from the class, so Serializer.fields stays intact; the
    # stubs cannot see that.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Each offending field (dotted for nested ones) with its problems; absent when the error "
                  "is not about fields.")


class ErrorSerializer(serializers.Serializer):
    """The one error body of every Vigia HTTP API."""

    error = ErrorDetailSerializer()


def error_response(description: str) -> OpenApiResponse:
    """An error answer with the shared body, for ``@extend_schema(responses={status: ...})``."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema plus the error statuses each operation can answer (table above)."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status, description in self.error_statuses().items():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(error_response(description), str(status),
                                                                     direction=direction)
        return dict(sorted(responses.items()))

    def error_statuses(self) -> dict[int, str]:
        """The standard error statuses of this operation, from its view's shape."""
        view = self.view
        has_body = bool(self._get_request_body())
        has_query = any(p.get("in") == "query" for p in self._get_parameters())
        permissions = view.get_permissions()
        guarded = any(not isinstance(p, AllowAny) for p in permissions)
        statuses: set[int] = set()
        if has_body or has_query:
            statuses.add(400)
        if guarded and view.get_authenticators():
            statuses.add(401)
        if guarded:
            statuses.add(403)
        if "{" in self.path or (self._is_list_view() and isinstance(self._get_paginator(), CursorPagination)):
            statuses.add(404)
        if self.method in WRITE_METHODS and getattr(view, "queryset", None) is not None:
            statuses.add(409)
        if has_body:
            statuses.update((413, 415))
        if view.get_throttles():
            statuses.add(429)
        return {status: STANDARD_ERRORS[status] for status in sorted(statuses)}


_PATH_PARAM = re.compile(r"\{([^}]+)\}")


def link_created_resources(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: OpenAPI links from each create operation's 201 to the
    operations on the created object (``{"path.<id>": "$response.body#/id"}``, the collection's own
    path parameters passed on from the request)."""
    schemas = result.get("components", {}).get("schemas", {})
    paths: dict[str, dict[str, Any]] = result.get("paths", {})
    for collection, operations in paths.items():
        create = operations.get("post")
        created = (create or {}).get("responses", {}).get("201")
        if not created or not _has_id(created, schemas):
            continue
        inherited = {f"path.{name}": f"$request.path.{name}" for name in _PATH_PARAM.findall(collection)}
        links: dict[str, Any] = {}
        for path, targets in paths.items():
            # The created object's own routes: one more path parameter, then no other.
            match = re.fullmatch(re.escape(collection) + r"\{([^}]+)\}(/[^{}]*)?", path)
            if not match:
                continue
            for method, target in targets.items():
                if method in ("get", "put", "patch", "delete", "post") and "operationId" in target:
                    links[target["operationId"]] = {
                        "operationId": target["operationId"],
                        "parameters": {**inherited, f"path.{match.group(1)}": "$response.body#/id"},
                    }
        if links:
            created.setdefault("links", {}).update(dict(sorted(links.items())))
    return result


def _has_id(response: dict[str, Any], schemas: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = schemas.get(ref.rsplit("/", 1)[1], {})
    return "id" in schema.get("properties", {})
