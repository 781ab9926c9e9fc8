"""Pipelines: automation graphs operators draw (camera → detection → condition → WhatsApp)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

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
