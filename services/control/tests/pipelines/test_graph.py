"""Graph validation against the node catalogue: every refusal names the node and the field."""

from __future__ import annotations

from typing import Any

import pytest

from vigia.control.pipelines.graph import GraphInvalid, runnable_problems, validate_graph
from vigia.control.pipelines.nodes import NODE_TYPES, Category

# Issue 11's catalogue: seed 004's node types that run on what the engine sees, and the new ones (#14:
# suppressed, face_recognition).
CATALOGUE = {
    "camera_rtsp", "sensor_data", "api_webhook", "plate", "event", "status",
    "object_detection", "zone_analysis", "loitering", "data_transform", "analytics", "line_crossing", "counting",
    "plate_match", "face_recognition",
    "conditional", "timer", "loop", "data_storage", "debounce", "cooldown", "suppressed",
    "whatsapp", "telegram", "email", "plc_control", "http_post", "dashboard",
}
CHANNEL = "0190a8c2-7c6f-7d3e-9a1b-2c3d4e5f6a7b"


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "config": config}


def edge(
    source: str, target: str, source_port: str | None = None, target_port: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"source": source, "target": target}
    if source_port:
        out["source_port"] = source_port
    if target_port:
        out["target_port"] = target_port
    return out


GOOD = {
    "nodes": [
        node("cam", "camera_rtsp"),
        node("det", "object_detection", classes=["person"]),
        node("if", "conditional", field="label", value="person"),
        node("wa", "whatsapp", channel=CHANNEL, recipients=["+5511999990000"]),
    ],
    "edges": [edge("cam", "det"), edge("det", "if"), edge("if", "wa", source_port="true")],
}


def problems_of(graph: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(GraphInvalid) as excinfo:
        validate_graph(graph)
    return excinfo.value.problems


def test_catalogue_is_issue_11s_with_typed_ports() -> None:
    assert set(NODE_TYPES) == CATALOGUE
    assert {t.category for t in NODE_TYPES.values()} == set(Category)
    assert NODE_TYPES["camera_rtsp"].inputs == {} and NODE_TYPES["whatsapp"].outputs == {}


def test_a_valid_graph_is_normalized_with_defaults_and_ports() -> None:
    graph = validate_graph(GOOD)
    assert graph["nodes"][1]["config"]["confidence"] == 0.5
    assert graph["edges"][0] == {
        "source": "cam",
        "source_port": "detections",
        "target": "det",
        "target_port": "detections",
    }
    assert runnable_problems(graph) == {}


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (
            lambda g: g["nodes"].append(node("n4", "teleporter")),
            "graph.nodes.4.type",
            "node 'n4': unknown node type",
        ),
        (
            lambda g: g["nodes"][1]["config"].update(confidence=2),
            "graph.nodes.1.config.confidence",
            "node 'det'",
        ),
        (
            lambda g: g["nodes"][3]["config"].update(recipients=["12345"]),
            "graph.nodes.3.config.recipients",
            "node 'wa'",
        ),
        (lambda g: g["nodes"][1]["config"].update(colour="red"), "graph.nodes.1.config.colour", "node 'det'"),
        (lambda g: g["nodes"].append(node("cam", "webcam")), "graph.nodes.4.id", "node 'cam': duplicate id"),
        (lambda g: g["edges"].append(edge("det", "ghost")), "graph.edges.3.target", "'ghost' does not exist"),
        (
            lambda g: g["edges"].append(edge("if", "wa", source_port="maybe")),
            "graph.edges.3.source_port",
            "node 'if': has no output port 'maybe'",
        ),
        (
            lambda g: g["edges"].append(edge("if", "wa")),
            "graph.edges.3.source_port",
            "node 'if': name the output",
        ),
        (
            lambda g: (
                g["nodes"].append(node("pm", "plate_match", watchlists=["vip"])),
                g["edges"].append(edge("det", "pm")),
            ),
            "graph.edges.3.target_port",
            "node 'pm': input 'plates' takes plates, but node 'det' output 'detections' gives detections",
        ),
        (lambda g: g["edges"].append(edge("cam", "wa")), "", None),  # a detection can trigger a message
        (
            lambda g: g["nodes"].append(node("cv", "computer_vision")),
            "graph.nodes.4.type",
            "node 'cv': node type 'computer_vision' needs raw frames",
        ),
        (lambda g: g["edges"].append(edge("if", "if", source_port="true")), "graph.edges.3", "cycle"),
    ],
)
def test_invalid_graphs_are_refused_naming_the_node(mutate: Any, field: str, words: str | None) -> None:
    graph = {
        "nodes": [dict(n, config=dict(n["config"])) for n in GOOD["nodes"]],
        "edges": list(GOOD["edges"]),
    }
    mutate(graph)
    if words is None:  # allowed: no error expected here
        validate_graph(graph)
        return
    problems = problems_of(graph)
    assert field in problems, problems
    assert any(words in message for message in problems[field]), problems


def test_a_longer_cycle_is_reported_with_its_path() -> None:
    graph = {
        "nodes": [node("a", "data_transform"), node("b", "loop"), node("c", "data_storage")],
        "edges": [edge("a", "b"), edge("b", "c"), edge("c", "a")],
    }
    problems = problems_of(graph)
    assert problems == {"graph.edges.2": ["node 'a': edge closes a cycle (a -> b -> c -> a)"]}


def test_malformed_graph_shapes_are_refused() -> None:
    assert "graph" in problems_of([])  # type: ignore[arg-type]
    assert "graph.nodes" in problems_of({"nodes": "x", "edges": []})
    assert "graph.extra" in problems_of({"nodes": [], "edges": [], "extra": 1})
    assert "graph.nodes.0.id" in problems_of({"nodes": [{"id": "has space", "type": "timer"}], "edges": []})


def test_unwired_inputs_keep_a_graph_from_running() -> None:
    graph = validate_graph({"nodes": [node("det", "object_detection")], "edges": []})
    assert runnable_problems(graph) == {"graph.nodes.0": ["node 'det': input 'detections' is not connected"]}
    assert runnable_problems({"nodes": [], "edges": []}) == {
        "graph.nodes": ["a pipeline needs at least one node to run"]
    }


@pytest.mark.parametrize("kind", ["webcam", "file_input", "computer_vision", "ai_model"])
def test_node_types_needing_frames_are_refused_with_the_reason(kind: str) -> None:
    problems = problems_of({"nodes": [node("x", kind)], "edges": []})
    (message,) = problems["graph.nodes.0.type"]
    assert message.startswith(f"node 'x': node type {kind!r} ")
    assert "never sees" in message


def test_face_recognition_runs_on_a_cameras_detections() -> None:
    graph = validate_graph({"nodes": [node("cam", "camera_rtsp"), node("faces", "face_recognition", match="unknown"),
                                      node("out", "dashboard", title="t")],
                            "edges": [{"source": "cam", "target": "faces"}, {"source": "faces", "target": "out"}]})
    assert runnable_problems(graph) == {}
    problems = problems_of({"nodes": [node("f", "face_recognition", match="any",
                                           people=["0190a8c2-0000-7000-8000-000000000001"])], "edges": []})
    assert "people can only be chosen with match: known" in problems["graph.nodes.0.config"][0]


def test_a_timer_runs_unwired_as_a_schedule() -> None:
    graph = validate_graph({
        "nodes": [node("t", "timer", interval_s=60),
                  node("mail", "email", channel=CHANNEL, recipients=["ops@example.com"])],
        "edges": [edge("t", "mail")],
    })
    assert runnable_problems(graph) == {}
    assert "graph.nodes.0.config" in problems_of({"nodes": [node("t", "timer")], "edges": []})
