"""Numbered versions of a pipeline's graph: every save that changes the graph keeps one, and
``deployed_version`` names the one the automation runtime was last given."""

from __future__ import annotations

from typing import Any

from vigia.control.pipelines.models import Pipeline, PipelineState, PipelineVersion


def keep_version(pipeline: Pipeline, user: Any) -> PipelineVersion:
    """The version holding ``pipeline.graph``: the latest one when the graph is unchanged since,
    otherwise a new one numbered after it, saved by ``user``. A running pipeline's save reaches the
    runtime at once (the change message), so that version is then the deployed one."""
    latest = PipelineVersion.objects.filter(pipeline=pipeline).order_by("-number").first()
    if latest is not None and latest.graph == pipeline.graph:
        version = latest
    else:
        email = getattr(user, "email", "") or ""
        version = PipelineVersion.objects.create(
            org_id=pipeline.org_id, pipeline=pipeline, number=latest.number + 1 if latest else 1,
            graph=pipeline.graph, saved_by=user if getattr(user, "pk", None) else None, saved_by_email=email)
    if pipeline.state == PipelineState.RUNNING and pipeline.deployed_version != version.number:
        pipeline.deployed_version = version.number
        pipeline.save(update_fields=["deployed_version"])
    return version
