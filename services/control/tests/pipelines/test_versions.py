"""Pipeline versions: every save that changes the graph keeps a numbered version (who, when, the
graph), execute marks the one it started, and both are read back through the API."""

from __future__ import annotations

from typing import Any

from vigia.control.pipelines.models import Pipeline, PipelineVersion

TIMER = {"id": "t", "type": "timer", "config": {"interval_s": 60}}
BOARD = {"id": "board", "type": "dashboard", "config": {"title": "every minute"}}
EDGE = {"source": "t", "source_port": "out", "target": "board", "target_port": "data"}
GRAPH = {"nodes": [TIMER, BOARD], "edges": [EDGE]}


def test_every_save_that_changes_the_graph_keeps_a_numbered_version(api: Any, operator: Any, admin: Any) -> None:
    created = api(operator).post("/api/v1/pipelines/", {"name": "p", "graph": {"nodes": [TIMER], "edges": []}},
                                 format="json")
    assert created.status_code == 201, created.content
    base = f"/api/v1/pipelines/{created.json()['id']}"
    assert api(admin).patch(base, {"graph": GRAPH}, format="json").status_code == 200
    assert api(admin).patch(base, {"description": "no graph change"}, format="json").status_code == 200
    assert api(admin).patch(base, {"graph": GRAPH}, format="json").status_code == 200  # same graph again

    listed = api(operator).get(f"{base}/versions/")
    assert listed.status_code == 200
    assert [(v["number"], v["saved_by"], v["nodes"], v["edges"]) for v in listed.json()] == [
        (2, admin.email, 2, 1), (1, operator.email, 1, 0)]
    assert "graph" not in listed.json()[0] and listed.json()[0]["saved_at"]

    first = api(operator).get(f"{base}/versions/1/")
    assert first.status_code == 200
    assert [(n["id"], n["config"]["interval_s"]) for n in first.json()["graph"]["nodes"]] == [("t", 60.0)]
    second = api(operator).get(f"{base}/versions/2")
    assert [n["id"] for n in second.json()["graph"]["nodes"]] == ["t", "board"]
    assert api(operator).get(f"{base}/versions/3/").status_code == 404


def test_execute_marks_the_version_it_started_and_a_save_while_running_deploys_at_once(
    api: Any, operator: Any, org: Any
) -> None:
    created = api(operator).post("/api/v1/pipelines/", {"name": "p", "graph": GRAPH}, format="json").json()
    assert created["deployed_version"] is None
    base = f"/api/v1/pipelines/{created['id']}"
    started = api(operator).post(f"{base}/execute")
    assert started.status_code == 200 and started.json()["deployed_version"] == 1
    board = {**BOARD, "config": {"title": "changed"}}
    saved = api(operator).patch(base, {"graph": {"nodes": [TIMER, board], "edges": [EDGE]}}, format="json")
    assert saved.status_code == 200 and saved.json()["deployed_version"] == 2
    api(operator).post(f"{base}/stop")
    stopped_save = api(operator).patch(base, {"graph": GRAPH}, format="json")
    assert stopped_save.json()["deployed_version"] == 2  # a stopped pipeline's save is only a draft
    assert api(operator).post(f"{base}/execute").json()["deployed_version"] == 3


def test_a_pipeline_without_versions_gets_its_first_when_executed(api: Any, operator: Any, org: Any) -> None:
    pipeline = Pipeline.objects.create(org=org, name="made elsewhere", graph=GRAPH)
    response = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/execute")
    assert response.status_code == 200 and response.json()["deployed_version"] == 1
    version = PipelineVersion.objects.get(pipeline=pipeline)
    assert version.number == 1 and version.saved_by_email == operator.email


def test_versions_of_another_organizations_pipeline_are_not_found(
    api: Any, operator: Any, outsider: Any
) -> None:
    created = api(operator).post("/api/v1/pipelines/", {"name": "p", "graph": GRAPH}, format="json").json()
    assert api(outsider).get(f"/api/v1/pipelines/{created['id']}/versions/").status_code == 404
    assert api(outsider).get(f"/api/v1/pipelines/{created['id']}/versions/1/").status_code == 404


def test_viewers_read_versions(api: Any, operator: Any, viewer: Any) -> None:
    created = api(operator).post("/api/v1/pipelines/", {"name": "p", "graph": GRAPH}, format="json").json()
    assert api(viewer).get(f"/api/v1/pipelines/{created['id']}/versions/").status_code == 200
