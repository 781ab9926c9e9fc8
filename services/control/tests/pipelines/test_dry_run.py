"""Dry runs: the engine (vigia.common.pipelines) in-process on one captured input, with the
organization's watch-lists and time zone; emissions and a per-node trace come back, nothing is
published or written; a bad graph, item or node is a 400 naming the field; another org's pipeline
is a 404."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.control.tests.cameras.test_api import make_camera
from services.control.tests.watchlists.test_api import make_watchlist
from vigia.common.pipelines import Item, MemoryState
from vigia.control.outbox.models import OutboxMessage
from vigia.control.pipelines.environment import compile_plan
from vigia.control.pipelines.models import Pipeline, PipelineNodeCounters, PipelineNodeState, PipelineRun
from vigia.control.watchlists.models import PlateWatchlistEntry

MESSAGE_ID = "0190a8c2-7c6f-7d3e-9a1b-2c3d4e5f6a7b"


def plate_graph(camera: Any, watchlist: str = "stolen") -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "reads", "type": "plate", "config": {"camera": str(camera.pk)}},
            {"id": "match", "type": "plate_match", "config": {"watchlists": [watchlist]}},
            {"id": "alert", "type": "dashboard", "config": {"title": "Stolen vehicle", "severity": "high"}},
        ],
        "edges": [
            {"source": "reads", "source_port": "plates", "target": "match", "target_port": "plates"},
            {"source": "match", "source_port": "plates", "target": "alert", "target_port": "data"},
        ],
    }


def plate_item(camera: Any, text: str) -> dict[str, Any]:
    return {"kind": "plate", "time": "2026-12-05T22:30:00Z", "source": str(camera.pk), "message_id": MESSAGE_ID,
            "data": {"camera": str(camera.pk), "visit": "v1", "plate_text": text, "confidence": 0.93, "votes": 4,
                     "first_seen": "2026-12-05T22:29:58Z", "last_seen": "2026-12-05T22:30:00Z"}}


@pytest.fixture
def stolen(org: Any) -> Any:
    watchlist = make_watchlist(org, name="stolen")
    PlateWatchlistEntry.objects.create(org=org, watchlist=watchlist, plate="BRA2E19", label="reported 04/12")
    return watchlist


def _nothing_written() -> None:
    assert not OutboxMessage.objects.exists()
    for model in (PipelineNodeState, PipelineNodeCounters, PipelineRun):
        assert not model.objects.exists()


def test_a_saved_pipeline_fires_on_a_listed_plate_and_shows_each_nodes_work(
    api: Any, operator: Any, org: Any, stolen: Any
) -> None:
    camera = make_camera(org)
    pipeline = Pipeline.objects.create(org=org, name="stolen cars", graph=plate_graph(camera))
    response = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/",
                                  {"item": plate_item(camera, "bra-2e19")}, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["fired"] is True and result["error"] is None
    [emission] = result["emissions"]
    assert (emission["kind"], emission["node"], emission["pipeline"]) == ("dashboard", "alert", str(pipeline.pk))
    assert emission["payload"]["watchlist"] == "stolen" and emission["payload"]["listed_label"] == "reported 04/12"
    assert emission["payload"]["severity"] == "high"
    trace = {t["node"]: t for t in result["trace"]}
    assert list(trace) == ["reads", "match", "alert"]
    assert trace["match"]["inputs"][0]["value"]["plate_text"] == "bra-2e19"
    assert trace["alert"]["outputs"] == [{"emission": emission["id"], "kind": "dashboard", "recipients": []}]
    again = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/",
                               {"item": plate_item(camera, "bra-2e19")}, format="json")
    assert again.json()["emissions"][0]["id"] == emission["id"]  # same input, same emission id
    _nothing_written()


def test_an_unlisted_plate_does_not_fire_and_the_trace_says_where_it_stopped(
    api: Any, operator: Any, org: Any, stolen: Any
) -> None:
    camera = make_camera(org)
    pipeline = Pipeline.objects.create(org=org, name="stolen cars", graph=plate_graph(camera))
    result = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/",
                                {"item": plate_item(camera, "XYZ9876")}, format="json").json()
    assert result["fired"] is False and result["emissions"] == []
    trace = {t["node"]: t for t in result["trace"]}
    assert trace["match"]["outputs"] == [] and "alert" not in trace


def test_an_unsaved_graph_and_a_single_node_can_be_dry_run(api: Any, operator: Any, org: Any, stolen: Any) -> None:
    camera = make_camera(org)
    client = api(operator)
    whole = client.post("/api/v1/pipelines/dry-run/", {"graph": plate_graph(camera),
                                                       "item": plate_item(camera, "BRA2E19")}, format="json")
    assert whole.status_code == 200 and whole.json()["fired"] is True, whole.content
    one = client.post("/api/v1/pipelines/dry-run/", {"graph": plate_graph(camera), "node": "match",
                                                     "item": plate_item(camera, "BRA2E19")}, format="json")
    assert one.status_code == 200, one.content
    assert [t["node"] for t in one.json()["trace"]] == ["match"] and one.json()["emissions"] == []
    assert one.json()["trace"][0]["outputs"][0]["value"]["watchlist"] == "stolen"
    _nothing_written()


def test_saved_state_is_read_but_never_written(api: Any, operator: Any, org: Any) -> None:
    graph = {"nodes": [{"id": "in", "type": "api_webhook", "config": {}},
                       {"id": "quiet", "type": "cooldown", "config": {"seconds": 600}},
                       {"id": "alert", "type": "dashboard", "config": {}}],
             "edges": [{"source": "in", "source_port": "data", "target": "quiet", "target_port": "in"},
                       {"source": "quiet", "source_port": "out", "target": "alert", "target_port": "data"}]}
    pipeline = Pipeline.objects.create(org=org, name="door", graph=graph)
    item = {"kind": "webhook", "source": "in", "time": "2026-12-05T12:00:00Z", "data": {"door": "open"}}
    client = api(operator)
    first = client.post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/", {"item": item}, format="json").json()
    assert first["fired"] is True
    saved = client.post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/", {"item": item, "saved_state": True},
                        format="json").json()
    assert saved["fired"] is True  # nothing saved yet: the cooldown is open
    # What a runtime stores after the pipeline fired a minute before (the cooldown's own keys).
    plan = compile_plan(pipeline.pk, org, 1, graph)
    state = MemoryState()
    plan.run(Item("webhook", org.pk, datetime(2026, 12, 5, 11, 59, tzinfo=UTC), "in", {}, uuid.uuid4()), state)
    assert state.snapshot()
    for node, values in state.snapshot().items():
        for key, value in values.items():
            PipelineNodeState.objects.create(org=org, pipeline=pipeline, node=node, key=key, value=value)
    blocked = client.post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/", {"item": item, "saved_state": True},
                          format="json").json()
    assert blocked["fired"] is False
    assert PipelineNodeState.objects.count() == sum(len(v) for v in state.snapshot().values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"item": {"kind": "telepathy"}}, "item.kind"),
        ({"item": {"kind": "plate", "time": "yesterday"}}, "item.time"),
        ({"item": {"kind": "plate", "data": [1, 2]}}, "item.data"),
        ({"item": {"kind": "plate", "colour": "red"}}, "item.colour"),
        ({}, "item"),
        ({"item": {"kind": "plate"}, "node": "nowhere"}, "node"),
        ({"item": {"kind": "plate"}, "graph": {"nodes": [{"id": "x", "type": "warp_drive", "config": {}}],
                                               "edges": []}}, "graph.nodes.0.type"),
        ({"item": {"kind": "plate"}, "graph": "not a graph"}, "graph"),
        ({"item": {"kind": "plate"}, "graph": {"nodes": [
            {"id": "m", "type": "plate_match", "config": {"watchlists": ["nope"]}}], "edges": []}},
         "graph.nodes.0.config.watchlists"),
    ],
)
def test_a_bad_dry_run_is_a_400_naming_the_field(
    api: Any, operator: Any, org: Any, body: dict[str, Any], field: str
) -> None:
    camera = make_camera(org)
    make_watchlist(org, name="anything")
    pipeline = Pipeline.objects.create(org=org, name="p", graph=plate_graph(camera, "anything"))
    response = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()


def test_a_saved_graph_naming_a_missing_watchlist_is_a_400_at_dry_run(api: Any, operator: Any, org: Any) -> None:
    camera = make_camera(org)
    pipeline = Pipeline.objects.create(org=org, name="p", graph=plate_graph(camera, "gone"))
    response = api(operator).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/",
                                  {"item": plate_item(camera, "BRA2E19")}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "graph.nodes.1.config.watchlists": ["node 'match': watch-list 'gone' does not exist"]}


def test_dry_runs_of_another_org_are_404_and_need_an_operator(
    api: Any, outsider: Any, viewer: Any, org: Any, other_org: Any
) -> None:
    camera = make_camera(org)
    make_watchlist(other_org, name="stolen")  # the outsider's list of the same name changes nothing
    pipeline = Pipeline.objects.create(org=org, name="p", graph=plate_graph(camera))
    body = {"item": plate_item(camera, "BRA2E19")}
    assert api(outsider).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/", body, format="json").status_code == 404
    theirs = api(outsider).post("/api/v1/pipelines/dry-run/", {**body, "graph": plate_graph(camera)}, format="json")
    assert theirs.status_code == 400  # the camera is not theirs
    assert "graph.nodes.0.config.camera" in theirs.json()["error"]["fields"]
    assert api(viewer).post(f"/api/v1/pipelines/{pipeline.pk}/dry-run/", body, format="json").status_code == 403
