"""What the runtime counted and recorded, through the API: per-node counters (every node of the
graph, zero until counted) and the last runs with each node's inputs and outputs; 404 across
organizations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from vigia.control.pipelines.models import Pipeline, PipelineNodeCounters, PipelineRun

GRAPH = {
    "nodes": [
        {"id": "in", "type": "api_webhook", "config": {}},
        {"id": "alert", "type": "dashboard", "config": {}},
    ],
    "edges": [{"source": "in", "source_port": "data", "target": "alert", "target_port": "data"}],
}
T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_counters_list_every_node_of_the_graph_then_the_counted_nodes_gone_from_it(
    api: Any, viewer: Any, org: Any
) -> None:
    pipeline = Pipeline.objects.create(org=org, name="p", graph=GRAPH)
    PipelineNodeCounters.objects.create(org=org, pipeline=pipeline, node="alert", inputs=7, outputs=7, errors=1,
                                        last_fired_at=T0)
    PipelineNodeCounters.objects.create(org=org, pipeline=pipeline, node="old", inputs=3)
    response = api(viewer).get(f"/api/v1/pipelines/{pipeline.pk}/counters/")
    assert response.status_code == 200, response.content
    rows = response.json()
    assert [(r["node"], r["type"], r["inputs"], r["outputs"], r["errors"]) for r in rows] == [
        ("in", "api_webhook", 0, 0, 0), ("alert", "dashboard", 7, 7, 1), ("old", None, 3, 0, 0)]
    assert rows[0]["last_fired_at"] is None and rows[0]["updated_at"] is None
    assert rows[1]["last_fired_at"] == "2026-12-05T12:00:00Z"
    assert [r["status"] for r in rows] == ["idle", "fired", "active"]


def test_a_nodes_status_is_error_while_its_latest_error_is_newer_than_its_latest_firing(
    api: Any, viewer: Any, org: Any
) -> None:
    pipeline = Pipeline.objects.create(org=org, name="p", graph=GRAPH)
    counted = PipelineNodeCounters.objects.create(
        org=org, pipeline=pipeline, node="alert", inputs=2, outputs=1, errors=1, last_fired_at=T0,
        last_error="ValueError: no title", last_error_at=T0 + timedelta(seconds=1))
    url = f"/api/v1/pipelines/{pipeline.pk}/counters/"
    alert = api(viewer).get(url).json()[1]
    assert (alert["status"], alert["last_error"], alert["last_error_at"]) == (
        "error", "ValueError: no title", "2026-12-05T12:00:01Z")
    counted.last_fired_at = T0 + timedelta(seconds=2)  # it fired again since
    counted.save()
    assert api(viewer).get(url).json()[1]["status"] == "fired"


def test_runs_are_the_newest_first_filtered_and_limited(api: Any, viewer: Any, org: Any) -> None:
    pipeline = Pipeline.objects.create(org=org, name="p", graph=GRAPH)
    other = Pipeline.objects.create(org=org, name="q", graph=GRAPH)
    for minute in range(5):
        PipelineRun.objects.create(id=uuid.uuid4(), org=org, pipeline=pipeline, time=T0 + timedelta(minutes=minute),
                                   trigger={"kind": "webhook", "data": {"n": minute}},
                                   nodes=[{"node": "in", "inputs": [], "outputs": [], "error": None}],
                                   fired=minute % 2 == 0, error=None)
    PipelineRun.objects.create(id=uuid.uuid4(), org=org, pipeline=other, time=T0, trigger={}, nodes=[], fired=True)
    client = api(viewer)
    runs = client.get(f"/api/v1/pipelines/{pipeline.pk}/runs/").json()
    assert [r["trigger"]["data"]["n"] for r in runs] == [4, 3, 2, 1, 0]
    assert runs[0]["nodes"] == [{"node": "in", "inputs": [], "outputs": [], "error": None}]
    fired = client.get(f"/api/v1/pipelines/{pipeline.pk}/runs/?fired=true&limit=2").json()
    assert [r["trigger"]["data"]["n"] for r in fired] == [4, 2]
    quiet = client.get(f"/api/v1/pipelines/{pipeline.pk}/runs/?fired=false").json()
    assert [r["trigger"]["data"]["n"] for r in quiet] == [3, 1]
    for bad in ("?limit=0", "?limit=101", "?fired=maybe"):
        response = client.get(f"/api/v1/pipelines/{pipeline.pk}/runs/{bad}")
        assert response.status_code == 400 and response.json()["error"]["fields"], bad


def test_counters_and_runs_of_another_org_are_404(api: Any, outsider: Any, org: Any) -> None:
    pipeline = Pipeline.objects.create(org=org, name="p", graph=GRAPH)
    PipelineNodeCounters.objects.create(org=org, pipeline=pipeline, node="in", inputs=1)
    client = api(outsider)
    assert client.get(f"/api/v1/pipelines/{pipeline.pk}/counters/").status_code == 404
    assert client.get(f"/api/v1/pipelines/{pipeline.pk}/runs/").status_code == 404
    assert api().get(f"/api/v1/pipelines/{pipeline.pk}/runs/").status_code == 401
