"""Pipeline endpoints: CRUD, the node catalogue (``node-types``) and ``execute`` / ``stop``.

The engine that runs graphs lives in the correlator; here ``execute`` and ``stop`` change the
state and announce ``pipeline.started`` / ``pipeline.stopped`` through the outbox.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from vigia.control.core.api.views import OrgScopedViewSet
from vigia.control.core.schema import error_response
from vigia.control.outbox.changes import ChangeEventsMixin, announce_change
from vigia.control.pipelines.api.serializers import NodeTypeSerializer, PipelineSerializer
from vigia.control.pipelines.filtersets import PipelineFilterSet
from vigia.control.pipelines.graph import GraphInvalid, runnable_problems, validate_graph
from vigia.control.pipelines.models import Pipeline, PipelineState
from vigia.control.pipelines.nodes import catalogue


class StateConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "the pipeline is not in a state that allows this"


class PipelineViewSet(ChangeEventsMixin, OrgScopedViewSet):
    queryset = Pipeline.objects.all()
    serializer_class = PipelineSerializer
    filterset_class = PipelineFilterSet

    @extend_schema(responses={200: NodeTypeSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="node-types", pagination_class=None, filterset_class=None)
    def node_types(self, request: Request) -> Response:
        """The node catalogue: every node type with its ports and configuration schema."""
        return Response(catalogue())

    @extend_schema(request=None, responses={200: PipelineSerializer, 400: error_response(
        "The pipeline's graph cannot run: `error.fields` names each problem.")})
    @action(detail=True, methods=["post"])
    def execute(self, request: Request, pk: str | None = None) -> Response:
        """Start running the pipeline (400 if its graph cannot run, 409 if it already runs)."""
        pipeline: Pipeline = self.get_object()
        if pipeline.state == PipelineState.RUNNING:
            raise StateConflict("the pipeline is already running")
        try:
            graph = validate_graph(pipeline.graph)  # the catalogue may have changed since it was saved
        except GraphInvalid as exc:
            raise exceptions.ValidationError(exc.problems) from None
        problems = runnable_problems(graph)
        if problems:
            raise exceptions.ValidationError(problems)
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
        pipeline.save(update_fields=["state", "version", "updated_at"])
        announce_change(pipeline, verb)
        return Response(self.get_serializer(pipeline).data)
