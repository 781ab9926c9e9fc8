"""Pipeline endpoints: CRUD, the node catalogue (``node-types``), ``execute`` / ``stop``, what the
runtime counted (``counters``) and recorded (``runs``), dry runs, and webhook secret rotation.

The automation service runs the graphs; ``execute`` and ``stop`` change the state and announce
``pipeline.started`` / ``pipeline.stopped`` (data: the whole pipeline, graph included) through the
outbox in the request's transaction, which the relay publishes as soon as it commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from vigia.common.ids import uuid7
from vigia.common.pipelines import GraphError, Item, MemoryState, catalogue, runnable_problems
from vigia.control.core.api.views import OrgScopedViewSet
from vigia.control.core.permissions import caller_org_id
from vigia.control.core.schema import error_response
from vigia.control.outbox.changes import ChangeEventsMixin, announce_change
from vigia.control.pipelines import webhooks
from vigia.control.pipelines.api.serializers import (
    DryRunResultSerializer,
    DryRunSerializer,
    NodeCountersSerializer,
    NodeTypeSerializer,
    PipelineRunSerializer,
    PipelineSerializer,
    PipelineVersionSerializer,
    PipelineVersionSummarySerializer,
    WebhookSecretSerializer,
    check_references,
    checked_graph,
)
from vigia.control.pipelines.environment import compile_plan
from vigia.control.pipelines.filtersets import PipelineFilterSet
from vigia.control.pipelines.models import (
    Pipeline,
    PipelineNodeCounters,
    PipelineNodeState,
    PipelineRun,
    PipelineState,
    PipelineVersion,
    PipelineWebhook,
)
from vigia.control.pipelines.versions import keep_version
from vigia.control.tenancy.models import Organization

MAX_RUNS = 100
NODE_ID_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"


def node_status(counted: dict[str, Any]) -> str:
    """A node's own latest outcome: ``error`` when it failed after it last fired, else ``fired`` when it
    ever produced an output, ``active`` when it took inputs, ``idle`` before any."""
    failed, fired = counted.get("last_error_at"), counted.get("last_fired_at")
    if failed is not None and (fired is None or failed >= fired):
        return "error"
    if fired is not None:
        return "fired"
    return "active" if counted.get("inputs") else "idle"


class StateConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "the pipeline is not in a state that allows this"


def _jsonable(value: Any) -> Any:
    """Dataclasses, UUIDs and datetimes of the engine's results as plain JSON values."""
    return orjson.loads(orjson.dumps(value, default=str))


RUNS_PARAMS = [
    OpenApiParameter("fired", bool, description="Only runs that fired (true) or did not (false)."),
    OpenApiParameter("limit", int, description=f"At most this many runs (1-{MAX_RUNS}, default {MAX_RUNS})."),
]


class PipelineViewSet(ChangeEventsMixin, OrgScopedViewSet):
    queryset = Pipeline.objects.all()
    serializer_class = PipelineSerializer
    filterset_class = PipelineFilterSet

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_create(serializer)
        pipeline: Pipeline = serializer.instance  # type: ignore[assignment]
        keep_version(pipeline, self.request.user)
        pipeline.new_webhook_secrets = webhooks.sync_secrets(pipeline)  # type: ignore[attr-defined]

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_update(serializer)
        pipeline: Pipeline = serializer.instance  # type: ignore[assignment]
        keep_version(pipeline, self.request.user)
        pipeline.new_webhook_secrets = webhooks.sync_secrets(pipeline)  # type: ignore[attr-defined]

    @extend_schema(responses={200: NodeTypeSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="node-types", pagination_class=None, filterset_class=None)
    def node_types(self, request: Request) -> Response:
        """The node catalogue: every node type the engine runs, with its ports and configuration schema."""
        return Response(catalogue())

    @extend_schema(request=None, responses={200: PipelineSerializer, 400: error_response(
        "The pipeline's graph cannot run: `error.fields` names each problem.")})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        """Start running the pipeline (400 if its graph cannot run, 409 if it already runs)."""
        pipeline: Pipeline = self.get_object()
        if pipeline.state == PipelineState.RUNNING:
            raise StateConflict("the pipeline is already running")
        graph = checked_graph(pipeline.graph)  # the catalogue may have changed since it was saved
        problems = runnable_problems(graph)
        if problems:
            raise exceptions.ValidationError(problems)
        check_references(graph, pipeline.org_id)  # a camera or watch-list may have gone since
        try:
            compile_plan(pipeline.id, Organization.objects.get(pk=pipeline.org_id), pipeline.version, graph)
        except GraphError as exc:
            raise exceptions.ValidationError(exc.problems) from None
        pipeline.deployed_version = keep_version(pipeline, request.user).number
        return self._transition(pipeline, PipelineState.RUNNING, "started")

    @extend_schema(request=None, responses={200: PipelineSerializer})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        """Stop the pipeline (409 if it is not running)."""
        pipeline: Pipeline = self.get_object()
        if pipeline.state != PipelineState.RUNNING:
            raise StateConflict("the pipeline is not running")
        return self._transition(pipeline, PipelineState.STOPPED, "stopped")

    def _transition(self, pipeline: Pipeline, state: str, verb: str) -> Response:
        pipeline.state = state
        pipeline.version += 1
        pipeline.save(update_fields=["state", "version", "deployed_version", "updated_at"])
        announce_change(pipeline, verb)
        return Response(self.get_serializer(pipeline).data)

    @extend_schema(responses={200: NodeCountersSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def counters(self, request: Request, pk: str | None = None) -> Response:
        """Per node of the graph: inputs, outputs, errors, when it last fired, its latest error and its
        status (zero and ``idle`` for a node the runtime has not counted yet), then the counted nodes no
        longer in the graph."""
        pipeline: Pipeline = self.get_object()
        fields = ("node", "inputs", "outputs", "errors", "last_fired_at", "last_error", "last_error_at", "updated_at")
        rows = {row["node"]: row for row in PipelineNodeCounters.objects.filter(pipeline=pipeline).values(*fields)}
        answer = []
        for node in pipeline.graph.get("nodes") or []:
            uncounted = {"node": node["id"], "inputs": 0, "outputs": 0, "errors": 0, "last_fired_at": None,
                         "last_error": None, "last_error_at": None, "updated_at": None}
            answer.append({**rows.pop(node["id"], uncounted), "type": node["type"]})
        answer.extend({**row, "type": None} for _, row in sorted(rows.items()))
        for row in answer:
            row["status"] = node_status(row)
        return Response(NodeCountersSerializer(answer, many=True).data)

    @extend_schema(responses={200: PipelineRunSerializer(many=True)}, parameters=RUNS_PARAMS, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def runs(self, request: Request, pk: str | None = None) -> Response:
        """The pipeline's last runs, newest first: each input with every node's inputs and outputs."""
        pipeline: Pipeline = self.get_object()
        query = _RunsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        runs = PipelineRun.objects.filter(pipeline=pipeline).order_by("-time", "-id")
        if query.validated_data.get("fired") is not None:
            runs = runs.filter(fired=query.validated_data["fired"])
        return Response(PipelineRunSerializer(runs[:query.validated_data["limit"]], many=True).data)

    @extend_schema(responses={200: PipelineVersionSummarySerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def versions(self, request: Request, pk: str | None = None) -> Response:
        """The saved versions of the pipeline's graph, newest first (graphs left out: ask for one)."""
        pipeline: Pipeline = self.get_object()
        versions = PipelineVersion.objects.filter(pipeline=pipeline).order_by("-number")
        return Response(PipelineVersionSummarySerializer(versions, many=True).data)

    @extend_schema(responses={200: PipelineVersionSerializer}, parameters=[
        OpenApiParameter("number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The version's number.")])
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})", pagination_class=None,
            filterset_class=None)
    def version(self, request: Request, pk: str | None = None, number: str = "") -> Response:
        """One saved version of the pipeline's graph, with the graph."""
        pipeline: Pipeline = self.get_object()
        version = get_object_or_404(PipelineVersion, pipeline=pipeline, number=int(number))
        return Response(PipelineVersionSerializer(version).data)

    @extend_schema(operation_id="pipelines_dry_run", request=DryRunSerializer,
                   responses={200: DryRunResultSerializer})
    @action(detail=True, methods=["post"], url_path="dry-run", filterset_class=None)
    def dry_run(self, request: Request, pk: str | None = None) -> Response:
        """Run the saved graph (or the one given) on one input, in-process: what would be emitted and
        what each node received and handed on. Nothing is published or written."""
        return self._dry_run(request, self.get_object())

    @extend_schema(operation_id="pipelines_dry_run_graph", request=DryRunSerializer,
                   responses={200: DryRunResultSerializer})
    @action(detail=False, methods=["post"], url_path="dry-run", filterset_class=None, pagination_class=None)
    def dry_run_graph(self, request: Request) -> Response:
        """Run a graph that is not saved (``graph`` required) on one input, as the detail dry run does."""
        return self._dry_run(request, None)

    def _dry_run(self, request: Request, pipeline: Pipeline | None) -> Response:
        body = DryRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        given = body.validated_data
        if "graph" in given:
            raw = given["graph"]
        elif pipeline is not None:
            raw = pipeline.graph
        else:
            raise exceptions.ValidationError({"graph": ["required to dry-run a pipeline that is not saved"]})
        org = Organization.objects.get(pk=caller_org_id(request))
        graph = checked_graph(raw)
        check_references(graph, org.id)
        node = given.get("node")
        if node is not None and node not in {n["id"] for n in graph["nodes"]}:
            raise exceptions.ValidationError({"node": [f"no node {node!r} in the graph"]})
        pipeline_id = pipeline.id if pipeline is not None else uuid.UUID(int=0)
        try:
            plan = compile_plan(pipeline_id, org, pipeline.version if pipeline else 1, graph)
        except GraphError as exc:
            raise exceptions.ValidationError(exc.problems) from None
        state = MemoryState()
        if given["saved_state"] and pipeline is not None:
            saved: dict[str, dict[str, Any]] = {}
            for node_id, key, value in PipelineNodeState.objects.filter(pipeline=pipeline).values_list(
                    "node", "key", "value"):
                saved.setdefault(node_id, {})[key] = value
            state = MemoryState(saved)
        fields = given["item"]
        moment: datetime = fields.get("time") or timezone.now()
        item = Item(kind=fields["kind"], org=org.id, time=moment, source=fields["source"], data=fields["data"],
                    message_id=fields.get("message_id") or uuid7())
        result = plan.run(item, state, trace=True, node=node)
        return Response(_jsonable(result))

    @extend_schema(request=None, responses={200: WebhookSecretSerializer}, parameters=[
        OpenApiParameter("node", OpenApiTypes.STR, OpenApiParameter.PATH, description="An api_webhook node id.")])
    @action(detail=True, methods=["post"], url_path=rf"webhooks/(?P<node>{NODE_ID_PATTERN})/rotate",
            filterset_class=None)
    def rotate_webhook_secret(self, request: Request, pk: str | None = None, node: str = "") -> Response:
        """Give an api_webhook node a new secret, shown this once; the old one stops working at once."""
        pipeline: Pipeline = self.get_object()
        webhook = get_object_or_404(PipelineWebhook.objects.select_for_update(), pipeline=pipeline, node=node)
        secret = webhooks.rotate_secret(webhook)
        return Response({"node": node, "url": webhooks.hook_path(pipeline.id, node), "secret": secret})


class _RunsQuery(serializers.Serializer):
    fired = serializers.BooleanField(required=False, allow_null=True, default=None)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RUNS, default=MAX_RUNS)
