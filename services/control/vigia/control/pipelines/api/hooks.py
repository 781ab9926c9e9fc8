"""``POST /api/v1/hooks/{pipeline}/{node}``: external systems feed a pipeline's ``api_webhook`` node.

No access token: the request is authenticated by its signature (:mod:`vigia.control.pipelines.webhooks`).
Checks, in order: 413 body over 64 KiB (by Content-Length before reading, then by size), 404
unknown pipeline or node (or a node that is not an api_webhook), 401 missing or wrong signature,
429 over the node's rate limit (Retry-After), 400 a body that is not a JSON object, 409 the
pipeline is not running. Accepted: ``pipeline.hook`` (routing ``pipeline.hook.<org>.<pipeline>``)
in the outbox, in this request's transaction, then 202.
"""

from __future__ import annotations

from typing import Any

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vigia.common.messages import PipelineHook
from vigia.control.core import crypto
from vigia.control.core.schema import error_response
from vigia.control.outbox.enqueue import announce
from vigia.control.pipelines import hook_limits, webhooks
from vigia.control.pipelines.models import Pipeline, PipelineState, PipelineWebhook


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = f"the body exceeds {webhooks.MAX_BODY_BYTES} bytes"


class BadSignature(exceptions.APIException):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "bad_signature"
    default_detail = (f"missing or wrong {webhooks.SIGNATURE_HEADER}: expected sha256=<hex HMAC-SHA256 of the "
                      "body with the node's secret>")


class NotRunning(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_running"
    default_detail = "the pipeline is not running"


class PipelineHookView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    parser_classes = ()  # the raw body is what the signature covers: read as bytes, parsed here

    @extend_schema(
        operation_id="hooks_create",
        request={"application/json": {"type": "object", "additionalProperties": True}},
        parameters=[
            OpenApiParameter("pipeline", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter("node", OpenApiTypes.STR, OpenApiParameter.PATH, description="An api_webhook node id."),
            OpenApiParameter(webhooks.SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="sha256=<hex HMAC-SHA256(node secret, raw body)>."),
        ],
        responses={
            202: inline_serializer("PipelineHookAccepted", {
                "message_id": serializers.UUIDField(help_text="Id of the pipeline.hook message."),
                "pipeline": serializers.UUIDField(), "node": serializers.CharField()}),
            401: error_response("Missing or wrong X-Vigia-Signature."),
            404: error_response("No such pipeline, or no api_webhook node of that id in it."),
            409: error_response("The pipeline is not running."),
            413: error_response("The body exceeds 64 KiB."),
            429: OpenApiResponse(description="Over the node's rate limit; retry after Retry-After seconds.",
                                 response=error_response("").response),
            503: error_response("Redis, which counts the node's rate limit, is unavailable; retry after "
                                "Retry-After."),
        },
    )
    def post(self, request: Request, pipeline: str, node: str) -> Response:
        """Feed a JSON object to a running pipeline's api_webhook node, signed with the node's secret."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # BodySizeLimitMiddleware answers a malformed Content-Length before this view
        if length > webhooks.MAX_BODY_BYTES:
            raise PayloadTooLarge()
        body: bytes = request.body
        if len(body) > webhooks.MAX_BODY_BYTES:
            raise PayloadTooLarge()
        target = (Pipeline.objects.filter(pk=pipeline).values("id", "org_id", "state", "graph").first())
        webhook = PipelineWebhook.objects.filter(pipeline_id=pipeline, node=node).first() if target else None
        if target is None or webhook is None or node not in webhooks.webhook_nodes(target["graph"]):
            raise exceptions.NotFound("no such pipeline webhook")
        if not webhooks.signature_matches(crypto.decrypt(webhook.secret_encrypted), body,
                                          request.headers.get(webhooks.SIGNATURE_HEADER)):
            raise BadSignature()
        wait = hook_limits.throttle(target["id"], node)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail=f"over this webhook's limit; retry in {wait} s")
        data = _json_object(body)
        if target["state"] != PipelineState.RUNNING:
            raise NotRunning()
        row = announce("pipeline.hook", target["org_id"], PipelineHook(pipeline=target["id"], node=node, body=data))
        return Response({"message_id": str(row.id), "pipeline": str(target["id"]), "node": node},
                        status=status.HTTP_202_ACCEPTED)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise exceptions.ValidationError({"body": [f"not JSON: {exc}"]}) from None
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"body": ["must be a JSON object"]})
    return data
