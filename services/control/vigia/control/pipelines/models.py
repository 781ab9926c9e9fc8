"""Pipelines: automation graphs operators draw (camera → detection → condition → WhatsApp)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models.functions import Now

from vigia.common.ids import uuid7
from vigia.common.messages import PipelineChanged, PipelineDeleted, Strict
from vigia.control.core.models import OrgScopedModel


class PipelineState(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    ERROR = "error", "Error"


class Pipeline(OrgScopedModel):
    """A validated graph of typed nodes and edges. The correlator runs it while it is ``running``."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    graph = models.JSONField(default=dict, help_text="{nodes: [{id, type, config, position}], "
                             "edges: [{source, source_port, target, target_port}]}")
    state = models.CharField(max_length=16, choices=PipelineState.choices, default=PipelineState.DRAFT)
    version = models.PositiveIntegerField(default=1)
    deployed_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="Number of the graph version last started (execute, or a save while "
        "running): what the automation runtime runs, or ran before it was stopped. Null: never started.")

    class Meta:
        db_table = "pipelines"
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=("org", "name"), name="pipelines_unique_name_per_org")]

    message_prefix: ClassVar[str] = "pipeline"

    def __str__(self) -> str:
        return self.name

    def change_data(self, verb: str) -> Strict:
        """What the correlator (which runs pipelines) hears about this one."""
        if verb == "deleted":
            return PipelineDeleted(pipeline=self.id)
        return PipelineChanged(pipeline=self.id, name=self.name, state=self.state,
                               graph=self.graph, version=self.version)


class PipelineVersion(models.Model):
    """One saved graph of a pipeline, numbered from 1: every save that changes the graph keeps the
    new one with who saved it and when, so an operator can see what a deploy changes and go back."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Unindexed: every read goes by pipeline, which the unique constraint's index leads with.
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+", db_index=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions", db_index=False)
    number = models.PositiveIntegerField(help_text="1 for the graph the pipeline was created with, then +1 a save.")
    graph = models.JSONField(help_text="The graph as saved (normalised by validation).")
    saved_by = models.ForeignKey("tenancy.User", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="Null when the user was deleted since.")
    saved_by_email = models.EmailField(blank=True, help_text="Kept when the user is deleted.")
    saved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "pipeline_versions"
        ordering = ("-number",)
        constraints = [models.UniqueConstraint(fields=("pipeline", "number"), name="pipeline_versions_unique_number")]

    def __str__(self) -> str:
        return f"{self.pipeline_id} v{self.number}"


class PipelineNodeState(models.Model):
    """What one node of a running pipeline remembers between inputs (open dwell timers, counts,
    cooldowns, stored values), so a restarted automation runtime carries on where it stopped.
    Written by the automation runtime (psycopg, upserts on the primary key); values are JSON."""

    pk = models.CompositePrimaryKey("pipeline", "node", "key")
    # Unindexed: every read and write goes by pipeline, which the primary key / index leads with.
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+", db_index=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+", db_index=False)
    node = models.TextField(help_text="Node id in the pipeline's graph.")
    key = models.TextField(help_text="The node's own name for the value (e.g. a track id).")
    value = models.JSONField(help_text="A JSON value.")
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "pipeline_node_state"

    def __str__(self) -> str:
        return f"{self.pipeline_id}/{self.node}/{self.key}"


class PipelineNodeCounters(models.Model):
    """How much one node of a pipeline has seen and done since the pipeline was created: inputs
    evaluated, outputs produced, errors, when it last fired and its latest error. The automation
    runtime adds its increments (``INSERT … ON CONFLICT (pipeline_id, node) DO UPDATE SET inputs =
    inputs + …``)."""

    pk = models.CompositePrimaryKey("pipeline", "node")
    # Unindexed: every read and write goes by pipeline, which the primary key / index leads with.
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+", db_index=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+", db_index=False)
    node = models.TextField(help_text="Node id in the pipeline's graph.")
    inputs = models.BigIntegerField(db_default=0)
    outputs = models.BigIntegerField(db_default=0)
    errors = models.BigIntegerField(db_default=0)
    last_fired_at = models.DateTimeField(null=True, blank=True,
                                         help_text="When the node last produced an output.")
    last_error = models.TextField(null=True, blank=True, help_text="The node's latest error, as the engine "
                                  "reported it.")
    last_error_at = models.DateTimeField(null=True, blank=True,
                                         help_text="Observation time of the input the node last failed on.")
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "pipeline_node_counters"

    def __str__(self) -> str:
        return f"{self.pipeline_id}/{self.node}"


class PipelineRun(models.Model):
    """One evaluation of a pipeline on one input, with what each node received and produced: the
    answer to "why did (or didn't) this fire". The automation runtime writes them and keeps the
    last 100 per pipeline."""

    id = models.UUIDField(primary_key=True, editable=False,
                          help_text="UUIDv7 chosen by the runtime (time-ordered).")
    # Unindexed: every read and write goes by pipeline, which the primary key / index leads with.
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+", db_index=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+", db_index=False)
    time = models.DateTimeField(help_text="The input's observation time.")
    trigger = models.JSONField(help_text="The input item: {kind, time, source, data, message_id}.")
    nodes = models.JSONField(help_text="The trace: [{node, inputs, outputs, error}].")
    fired = models.BooleanField(help_text="Whether an output node emitted something.")
    error = models.TextField(null=True, blank=True)

    class Meta:
        db_table = "pipeline_runs"
        ordering = ("-time", "-id")
        indexes = [models.Index(fields=("pipeline", "-time"), name="pipeline_runs_recent")]

    def __str__(self) -> str:
        return f"{self.pipeline_id} {self.time.isoformat()}"


class PipelineWebhook(models.Model):
    """The secret of one ``api_webhook`` node: an external system signs what it posts to
    ``/api/v1/hooks/{pipeline}/{node}`` with it (HMAC-SHA256). Generated when the node is saved,
    shown once in that answer (or by a rotation), stored encrypted (MultiFernet, like camera URLs)
    because checking a signature needs the secret itself."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+", db_index=False)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="+", db_index=False)
    node = models.TextField(help_text="Node id of the api_webhook node in the pipeline's graph.")
    secret_encrypted = models.TextField(help_text="MultiFernet token of the signing secret.")
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True, help_text="When the secret was last replaced.")

    class Meta:
        db_table = "pipeline_webhooks"
        constraints = [models.UniqueConstraint(fields=("pipeline", "node"), name="pipeline_webhooks_unique_node")]

    def __str__(self) -> str:
        return f"{self.pipeline_id}/{self.node}"
