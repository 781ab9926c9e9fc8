"""The tables the automation runtime writes with plain SQL (no Django): its upserts work on the
primary keys the migrations created, and deleting a pipeline takes its state, counters and runs."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from vigia.control.pipelines.models import Pipeline, PipelineNodeCounters, PipelineNodeState, PipelineRun

UPSERT_STATE = """
INSERT INTO pipeline_node_state (org_id, pipeline_id, node, key, value) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (pipeline_id, node, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"""
ADD_COUNTERS = """
INSERT INTO pipeline_node_counters (org_id, pipeline_id, node, inputs, outputs) VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (pipeline_id, node) DO UPDATE SET inputs = pipeline_node_counters.inputs + EXCLUDED.inputs,
    outputs = pipeline_node_counters.outputs + EXCLUDED.outputs, updated_at = now()"""


def test_runtime_upserts_replace_state_and_add_counters(org: Any) -> None:
    pipeline = Pipeline.objects.create(org=org, name="p")
    with connection.cursor() as cur:
        for value in ('{"since": 1}', '{"since": 2}'):
            cur.execute(UPSERT_STATE, (org.id, pipeline.id, "dwell", "track-7", value))
        for inputs, outputs in ((3, 1), (4, 0)):
            cur.execute(ADD_COUNTERS, (org.id, pipeline.id, "dwell", inputs, outputs))
    state = PipelineNodeState.objects.get(pipeline=pipeline)
    assert (state.node, state.key, state.value) == ("dwell", "track-7", {"since": 2})
    counters = PipelineNodeCounters.objects.get(pipeline=pipeline)
    assert (counters.inputs, counters.outputs, counters.errors) == (7, 1, 0)


def test_deleting_a_pipeline_deletes_its_state_counters_and_runs(org: Any) -> None:
    pipeline, kept = Pipeline.objects.create(org=org, name="gone"), Pipeline.objects.create(org=org, name="kept")
    for p in (pipeline, kept):
        PipelineNodeState.objects.create(org=org, pipeline=p, node="n", key="k", value=1)
        PipelineNodeCounters.objects.create(org=org, pipeline=p, node="n")
        PipelineRun.objects.create(id=uuid.uuid4(), org=org, pipeline=p, time="2026-12-05T12:00:00Z",
                                   trigger={}, nodes=[], fired=False)
    pipeline.delete()
    for model in (PipelineNodeState, PipelineNodeCounters, PipelineRun):
        assert list(model.objects.values_list("pipeline_id", flat=True)) == [kept.id]
