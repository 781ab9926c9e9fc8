"""Pipeline representations; the graph is validated against the node catalogue."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from vigia.control.cameras.models import Camera
from vigia.control.core.serializers import StrictModelSerializer
from vigia.control.pipelines.graph import GraphInvalid, validate_graph
from vigia.control.pipelines.models import Pipeline


class PipelineSerializer(StrictModelSerializer):
    """A pipeline: a named graph of typed nodes and its run state (changed by execute/stop)."""

    graph = serializers.JSONField(required=False, help_text="{nodes: [{id, type, config, position?}], "
                                  "edges: [{source, source_port, target, target_port}]}")

    class Meta:
        model = Pipeline
        fields = ("id", "name", "description", "graph", "state", "version", "created_at", "updated_at")
        read_only_fields = ("id", "state", "version", "created_at", "updated_at")
        extra_kwargs = {"description": {"max_length": 2000}}

    def validate_name(self, value: str) -> str:
        org_id = self.context["request"].user.org_id
        taken = Pipeline.objects.filter(org_id=org_id, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("a pipeline with this name already exists")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "graph" in attrs or self.instance is None:
            try:
                attrs["graph"] = validate_graph(attrs.get("graph", {"nodes": [], "edges": []}))
            except GraphInvalid as exc:
                raise serializers.ValidationError(exc.problems) from None
            self._check_cameras(attrs["graph"])
        return attrs

    def _check_cameras(self, graph: dict[str, Any]) -> None:
        """Camera nodes must name cameras of the caller's organization."""
        wanted = {i: n["config"]["camera"] for i, n in enumerate(graph["nodes"])
                  if n["type"] == "camera_rtsp" and n["config"].get("camera")}
        if not wanted:
            return
        org_id = self.context["request"].user.org_id
        existing = {str(c) for c in Camera.objects.filter(org_id=org_id, id__in=set(wanted.values()))
                    .values_list("id", flat=True)}
        problems = {f"graph.nodes.{i}.config.camera":
                    [f"node {graph['nodes'][i]['id']!r}: camera {camera} does not exist"]
                    for i, camera in wanted.items() if camera not in existing}
        if problems:
            raise serializers.ValidationError(problems)


class PortSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()


class NodeTypeSerializer(serializers.Serializer):
    """One entry of the node catalogue (config described by a JSON Schema)."""

    type = serializers.CharField()
    category = serializers.CharField()
    # SerializerMetaclass moves declared fields off the class, so this does not shadow Field.label.
    label = serializers.CharField()  # type: ignore[assignment]
    description = serializers.CharField()
    inputs = PortSerializer(many=True)
    outputs = PortSerializer(many=True)
    config_schema = serializers.JSONField()
