"""Pipeline representations; the graph is validated against the node catalogue
(:mod:`vigia.common.pipelines`), and the cameras and watch-lists its nodes name must be the
caller's organization's."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from vigia.common.pipelines import ITEM_KINDS, NODE_TYPES, GraphError, validate_graph
from vigia.control.cameras.models import Camera
from vigia.control.core.serializers import StrictModelSerializer, StrictSerializer
from vigia.control.notifications.models import NotificationChannel
from vigia.control.pipelines.models import Pipeline, PipelineRun, PipelineVersion
from vigia.control.watchlists.models import PlateWatchlist

CAMERA_NODE_TYPES = frozenset({"camera_rtsp", "plate"})


def checked_graph(graph: Any) -> dict[str, Any]:
    """The normalised graph, or a ValidationError naming each problem (``graph.nodes.2.type``)."""
    try:
        return validate_graph(graph)
    except GraphError as exc:
        raise serializers.ValidationError(exc.problems) from None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _action_kind(node_type: str) -> str | None:
    """The channel kind an output node acts through (``plc_control`` -> ``modbus``), None otherwise."""
    spec = NODE_TYPES.get(node_type)
    if spec is None or spec.category != "output":
        return None
    return getattr(spec.runtime, "kind", None) or None


def check_references(graph: dict[str, Any], org_id: uuid.UUID) -> None:
    """Cameras (camera_rtsp, plate), watch-lists (plate_match) and notifier channels (output nodes,
    of the node's kind) named by nodes must exist in the organization; a ValidationError names the
    node's config field otherwise."""
    cameras: dict[int, list[str]] = {}
    watchlists: dict[int, list[str]] = {}
    channels: dict[int, tuple[str, str]] = {}
    for i, node in enumerate(graph["nodes"]):
        config = node.get("config") or {}
        if node["type"] in CAMERA_NODE_TYPES:
            chosen = ([config["camera"]] if config.get("camera") else []) + list(config.get("cameras") or [])
            cameras[i] = [str(c) for c in chosen]
        elif node["type"] == "plate_match":
            watchlists[i] = [str(w) for w in config.get("watchlists") or []]
        kind = _action_kind(node["type"])
        if kind is not None and config.get("channel"):
            channels[i] = (str(config["channel"]), kind)
    problems: dict[str, list[str]] = {}
    if channels:
        kinds = {str(c): k for c, k in NotificationChannel.objects.filter(
            org_id=org_id, id__in={c for c, _ in channels.values()}).values_list("id", "kind")}
        for i, (channel, kind) in channels.items():
            if kinds.get(channel) != kind:
                why = f"is a {kinds[channel]} channel" if channel in kinds else "does not exist"
                problems.setdefault(f"graph.nodes.{i}.config.channel", []).append(
                    f"node {graph['nodes'][i]['id']!r}: {kind} channel {channel} {why}")
    wanted = {c for chosen in cameras.values() for c in chosen}
    if wanted:
        existing = {str(c) for c in Camera.objects.filter(org_id=org_id, id__in=wanted).values_list("id", flat=True)}
        for i, chosen in cameras.items():
            for camera in chosen:
                if camera not in existing:
                    field = "camera" if camera == str(graph["nodes"][i]["config"].get("camera")) else "cameras"
                    problems.setdefault(f"graph.nodes.{i}.config.{field}", []).append(
                        f"node {graph['nodes'][i]['id']!r}: camera {camera} does not exist")
    names = {w for chosen in watchlists.values() for w in chosen}
    if names:
        ids = {u for u in map(_uuid, names) if u is not None}
        found = PlateWatchlist.objects.filter(Q(name__in=names) | Q(id__in=ids), org_id=org_id)
        known = {w for row in found.values_list("id", "name") for w in (str(row[0]), row[1])}
        for i, chosen in watchlists.items():
            for name in chosen:
                if name not in known:
                    problems.setdefault(f"graph.nodes.{i}.config.watchlists", []).append(
                        f"node {graph['nodes'][i]['id']!r}: watch-list {name!r} does not exist")
    if problems:
        raise serializers.ValidationError(problems)


class PipelineSerializer(StrictModelSerializer):
    """A pipeline: a named graph of typed nodes and its run state (changed by execute/stop)."""

    graph = serializers.JSONField(required=False, help_text="{nodes: [{id, type, config, position?, label?}], "
                                  "edges: [{source, source_port, target, target_port}]}")
    webhook_secrets = serializers.SerializerMethodField(
        help_text="Secrets of the api_webhook nodes this save gave one to (node id -> secret), shown this "
        "once: sign posts to /api/v1/hooks/{pipeline}/{node} with them. Empty otherwise.")

    class Meta:
        model = Pipeline
        fields = ("id", "name", "description", "graph", "state", "version", "deployed_version", "webhook_secrets",
                  "created_at", "updated_at")
        read_only_fields = ("id", "state", "version", "deployed_version", "created_at", "updated_at")
        extra_kwargs = {"description": {"max_length": 2000}}

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_webhook_secrets(self, pipeline: Pipeline) -> dict[str, str]:
        return dict(getattr(pipeline, "new_webhook_secrets", {}))

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
            attrs["graph"] = checked_graph(attrs.get("graph", {"nodes": [], "edges": []}))
            check_references(attrs["graph"], self.context["request"].user.org_id)
        return attrs


class PipelineVersionSummarySerializer(serializers.ModelSerializer):
    """A saved version of a pipeline's graph: its number, who saved it and when, and its size."""

    saved_by = serializers.CharField(source="saved_by_email", help_text="Email of who saved it (empty: "
                                      "saved by the system).")
    nodes = serializers.SerializerMethodField(help_text="How many nodes the graph has.")
    edges = serializers.SerializerMethodField(help_text="How many edges the graph has.")

    class Meta:
        model = PipelineVersion
        fields: tuple[str, ...] = ("number", "saved_by", "saved_at", "nodes", "edges")

    def get_nodes(self, version: PipelineVersion) -> int:
        return len(version.graph.get("nodes") or [])

    def get_edges(self, version: PipelineVersion) -> int:
        return len(version.graph.get("edges") or [])


class PipelineVersionSerializer(PipelineVersionSummarySerializer):
    """A saved version of a pipeline's graph, with the graph."""

    graph = serializers.JSONField(help_text="{nodes: [{id, type, config, position?, label?}], edges: [{source, "
                                  "source_port, target, target_port}]}")

    class Meta(PipelineVersionSummarySerializer.Meta):
        fields = (*PipelineVersionSummarySerializer.Meta.fields, "graph")


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


class NodeCountersSerializer(serializers.Serializer):
    """How much one node has seen and done since the pipeline was created (the runtime counts)."""

    node = serializers.CharField()
    type = serializers.CharField(allow_null=True, help_text="The node's type in the current graph; null "
                                 "for a node no longer in it.")
    inputs = serializers.IntegerField()
    outputs = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
    last_fired_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True, help_text="The node's latest error; null: none.")
    last_error_at = serializers.DateTimeField(allow_null=True, help_text="Observation time of the input it "
                                              "last failed on.")
    status = serializers.ChoiceField(choices=["idle", "active", "fired", "error"], help_text=(
        "The node's latest outcome: error (failed after it last fired), fired (produced an output), active "
        "(took inputs), idle (none yet)."))
    updated_at = serializers.DateTimeField(allow_null=True, help_text="Last counted; null: never.")


class PipelineRunSerializer(serializers.ModelSerializer):
    """One evaluation of the pipeline: the input item, each node's inputs and outputs, whether it
    fired and the error of a node that failed."""

    class Meta:
        model = PipelineRun
        fields = ("id", "time", "trigger", "nodes", "fired", "error")


class DryRunItemSerializer(StrictSerializer):
    """An input like the ones the runtime evaluates (a captured detection, plate read, event...)."""

    kind = serializers.ChoiceField(choices=sorted(ITEM_KINDS))
    time = serializers.DateTimeField(required=False, help_text="Observation time; default: now.")
    # The metaclass moves declared fields off the class: these shadow neither Field.source nor .data.
    source = serializers.CharField(  # type: ignore[assignment]
        required=False, allow_blank=True, default="", max_length=200,
        help_text="Camera id, device id, webhook node id; empty for a tick.")
    data = serializers.DictField(required=False, default=dict,  # type: ignore[assignment]
                                 help_text="The message's data.")
    message_id = serializers.UUIDField(required=False, help_text="Envelope id; default: a new one.")


class DryRunSerializer(StrictSerializer):
    """A dry run: the pipeline's graph (or the given one) on one input, with empty node state (or
    the state the runtime saved), nothing published and nothing written."""

    graph = serializers.JSONField(required=False, help_text="Default: the saved graph.")
    item = DryRunItemSerializer()
    node = serializers.CharField(required=False, max_length=64,
                                 help_text="Evaluate this node alone: an input node gets the item, another "
                                 "node the item's data on its first input port.")
    saved_state = serializers.BooleanField(default=False, help_text="Start from the node state the runtime "
                                           "saved (read, never written); default: empty state.")


class EmissionSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    pipeline = serializers.UUIDField()
    node = serializers.CharField()
    kind = serializers.CharField(help_text="whatsapp, telegram, email, modbus, webhook or dashboard.")
    channel = serializers.UUIDField(allow_null=True)
    recipients = serializers.ListField(child=serializers.CharField())
    template = serializers.CharField(allow_null=True)
    payload = serializers.DictField()


class NodeTraceSerializer(serializers.Serializer):
    node = serializers.CharField()
    inputs = serializers.ListField(child=serializers.JSONField())
    outputs = serializers.ListField(child=serializers.JSONField())
    error = serializers.CharField(allow_null=True)


class DryRunResultSerializer(serializers.Serializer):
    """What the pipeline would have done: emissions (nothing is sent), the trace, the node errors."""

    emissions = EmissionSerializer(many=True)
    trace = NodeTraceSerializer(many=True)
    fired = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)


class WebhookSecretSerializer(serializers.Serializer):
    """A new secret of an api_webhook node, shown this once."""

    node = serializers.CharField()
    url = serializers.CharField(help_text="Path to post to.")
    secret = serializers.CharField()
