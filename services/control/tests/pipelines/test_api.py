"""Pipelines API: the shared matrix plus graph validation, the catalogue and execute/stop."""

from __future__ import annotations

from typing import Any

import orjson

from services.control.tests.api_matrix import APIMatrix, unique_name
from services.control.tests.cameras.test_api import make_camera
from vigia.control.core import crypto
from vigia.control.notifications.models import NotificationChannel
from vigia.control.outbox.models import OutboxMessage
from vigia.control.pipelines.models import Pipeline

GRAPH = {
    "nodes": [
        {"id": "t", "type": "timer", "config": {"interval_s": 60}},
        {"id": "board", "type": "dashboard", "config": {"title": "every minute"}},
    ],
    "edges": [{"source": "t", "source_port": "out", "target": "board", "target_port": "data"}],
}


class TestPipelineAPI(APIMatrix):
    url = "/api/v1/pipelines/"
    model = Pipeline
    create_data = {"name": "alerts", "graph": GRAPH}
    update_data = {"description": "mail the on-call team"}

    def make_object(self, org: Any) -> Pipeline:
        return Pipeline.objects.create(org=org, name=unique_name("pipe"), graph=GRAPH)


def test_invalid_graph_is_a_400_naming_the_node_and_saves_nothing(api: Any, operator: Any) -> None:
    graph = {
        "nodes": [*GRAPH["nodes"], {"id": "n4", "type": "warp_drive", "config": {}}],
        "edges": GRAPH["edges"],
    }
    response = api(operator).post("/api/v1/pipelines/", {"name": "p", "graph": graph}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {"graph.nodes.2.type": ["node 'n4': unknown node type 'warp_drive'"]}
    assert "n4" in error["message"]
    assert Pipeline.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_camera_nodes_must_name_a_camera_of_the_callers_org(
    api: Any, operator: Any, org: Any, other_org: Any
) -> None:
    mine, theirs = make_camera(org), make_camera(other_org)

    def graph(camera: Any) -> dict[str, Any]:
        return {
            "nodes": [{"id": "c", "type": "camera_rtsp", "config": {"camera": str(camera.pk)}}],
            "edges": [],
        }

    bad = api(operator).post("/api/v1/pipelines/", {"name": "p1", "graph": graph(theirs)}, format="json")
    assert bad.status_code == 400 and "graph.nodes.0.config.camera" in bad.json()["error"]["fields"]
    ok = api(operator).post("/api/v1/pipelines/", {"name": "p2", "graph": graph(mine)}, format="json")
    assert ok.status_code == 201, ok.content


def test_node_types_lists_the_catalogue(api: Any, viewer: Any) -> None:
    response = api(viewer).get("/api/v1/pipelines/node-types")
    assert response.status_code == 200
    by_type = {t["type"]: t for t in response.json()}
    assert len(by_type) == 28  # issue 11's 26, face_recognition and suppressed (#14)
    assert by_type["object_detection"]["inputs"] == [{"name": "detections", "type": "detections"}]
    assert by_type["object_detection"]["category"] == "processing"
    assert "confidence" in by_type["object_detection"]["config_schema"]["properties"]


def test_execute_and_stop_change_state_and_announce_it(
    api: Any, operator: Any, viewer: Any, org: Any
) -> None:
    pipeline = Pipeline.objects.create(org=org, name="p", graph=GRAPH)
    base = f"/api/v1/pipelines/{pipeline.pk}"
    assert api(viewer).post(f"{base}/execute").status_code == 403
    started = api(operator).post(f"{base}/execute")
    assert started.status_code == 200 and started.json()["state"] == "running"
    again = api(operator).post(f"{base}/execute")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    stopped = api(operator).post(f"{base}/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    assert api(operator).post(f"{base}/stop").status_code == 409
    messages = [(m.type, orjson.loads(bytes(m.body))["data"]) for m in OutboxMessage.objects.order_by("id")]
    assert [(t, d["state"], d["version"]) for t, d in messages] == [
        ("pipeline.started", "running", 2),
        ("pipeline.stopped", "stopped", 3),
    ]


def test_a_graph_with_unwired_inputs_cannot_execute(api: Any, operator: Any, org: Any) -> None:
    graph = {"nodes": [{"id": "det", "type": "object_detection", "config": {}}], "edges": []}
    pipeline = Pipeline.objects.create(org=org, name="half", graph=graph)
    response = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/execute")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "graph.nodes.0": ["node 'det': input 'detections' is not connected"]
    }
    pipeline.refresh_from_db()
    assert pipeline.state == "draft" and not OutboxMessage.objects.exists()


def test_output_nodes_must_name_a_channel_of_the_callers_org_and_of_their_kind(
    api: Any, operator: Any, org: Any, other_org: Any
) -> None:
    def channel(owner: Any, kind: str) -> NotificationChannel:
        return NotificationChannel.objects.create(org=owner, kind=kind, name=unique_name(kind),
                                                  config_encrypted=crypto.encrypt("{}"))

    mine, theirs, telegram = channel(org, "email"), channel(other_org, "email"), channel(org, "telegram")

    def graph(chosen: Any) -> dict[str, Any]:
        mail = {"id": "mail", "type": "email", "config": {"channel": str(chosen.pk), "recipients": ["a@b.example"]}}
        return {"nodes": [GRAPH["nodes"][0], mail],
                "edges": [{"source": "t", "source_port": "out", "target": "mail", "target_port": "events"}]}

    client = api(operator)
    for chosen, why in ((theirs, "does not exist"), (telegram, "is a telegram channel")):
        bad = client.post("/api/v1/pipelines/", {"name": unique_name("p"), "graph": graph(chosen)}, format="json")
        assert bad.status_code == 400, bad.content
        assert bad.json()["error"]["fields"] == {
            "graph.nodes.1.config.channel": [f"node 'mail': email channel {chosen.pk} {why}"]}
    ok = client.post("/api/v1/pipelines/", {"name": unique_name("p"), "graph": graph(mine)}, format="json")
    assert ok.status_code == 201, ok.content
    mine.delete()  # gone since it was saved: execute refuses the graph
    refused = client.post(f"/api/v1/pipelines/{ok.json()['id']}/execute")
    assert refused.status_code == 400 and "graph.nodes.1.config.channel" in refused.json()["error"]["fields"]
