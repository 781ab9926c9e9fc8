"""The catalogue lists exactly what runs: every type has a config model and a behaviour, refused types
say why, and graph validation names the node and field of each problem."""

from __future__ import annotations

import inspect

import pytest

from services.common.tests.pipelines.support import CHANNEL, chain, node
from vigia.common.pipelines import NODE_TYPES, REFUSED, Category, GraphError, catalogue, validate_graph
from vigia.common.pipelines import nodes as node_modules
from vigia.common.pipelines.registry import Node

ISSUE_11 = {
    Category.INPUT: {"camera_rtsp", "sensor_data", "api_webhook", "plate", "event", "status"},
    Category.PROCESSING: {"object_detection", "zone_analysis", "loitering", "data_transform", "analytics",
                          "line_crossing", "counting", "plate_match", "face_recognition"},
    Category.LOGIC: {"conditional", "timer", "loop", "data_storage", "debounce", "cooldown", "suppressed"},
    Category.OUTPUT: {"whatsapp", "telegram", "email", "plc_control", "http_post", "dashboard"},
}


def test_the_catalogue_is_issue_11s_by_category() -> None:
    by_category: dict[Category, set[str]] = {}
    for spec in NODE_TYPES.values():
        by_category.setdefault(spec.category, set()).add(spec.type)
    assert by_category == ISSUE_11
    assert [entry["type"] for entry in catalogue()][:6] == sorted(ISSUE_11[Category.INPUT])


def test_every_catalogue_type_has_behaviour_and_every_behaviour_is_catalogued() -> None:
    for spec in NODE_TYPES.values():
        runtime = spec.runtime
        if spec.category is Category.INPUT:
            assert runtime.accept is not Node.accept, spec.type
        else:
            assert runtime.receive is not Node.receive, spec.type
        assert spec.description, spec.type
    behaviours = {cls for module in (node_modules.inputs, node_modules.processing, node_modules.logic,
                                     node_modules.outputs)
                  for _, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, Node) and cls.__module__ == module.__name__ and not cls.__name__.startswith("_")}
    assert behaviours == {spec.runtime for spec in NODE_TYPES.values()}


def test_refused_types_are_not_in_the_catalogue_and_validation_says_why() -> None:
    assert set(REFUSED) == {"webcam", "file_input", "computer_vision", "ai_model"}
    assert not set(REFUSED) & set(NODE_TYPES)
    with pytest.raises(GraphError) as excinfo:
        validate_graph({"nodes": [node("w", "webcam"), node("c", "computer_vision")], "edges": []})
    assert excinfo.value.problems == {
        "graph.nodes.0.type": [f"node 'w': node type 'webcam' {REFUSED['webcam']}"],
        "graph.nodes.1.type": [f"node 'c': node type 'computer_vision' {REFUSED['computer_vision']}"],
    }


@pytest.mark.parametrize(("bad", "field", "words"), [
    (node("o", "whatsapp", channel=CHANNEL, recipients=["5511"]), "graph.nodes.0.config.recipients",
     "not an E.164 phone number"),
    (node("o", "email", channel="nope", recipients=["a@b.co"]), "graph.nodes.0.config.channel", "node 'o'"),
    (node("o", "plc_control", channel=CHANNEL), "graph.nodes.0.config.address", "node 'o'"),
    (node("o", "timer", windows=[{"start": "25:00", "end": "06:00"}]), "graph.nodes.0.config.windows.0.start",
     "node 'o'"),
    (node("o", "timer", cron="61 * * * *"), "graph.nodes.0.config.cron", "out of range"),
    (node("o", "timer", interval_s=5, time_zone="Mars/Olympus"), "graph.nodes.0.config.time_zone",
     "unknown time zone"),
    (node("o", "analytics", metric="average"), "graph.nodes.0.config", "needs a field"),
    (node("o", "conditional", field="label", operator="in", value="person"), "graph.nodes.0.config",
     "needs a list"),
    (node("o", "plate_match", watchlists=[]), "graph.nodes.0.config.watchlists", "node 'o'"),
])
def test_bad_configs_are_refused_naming_node_and_field(bad: dict, field: str, words: str) -> None:
    with pytest.raises(GraphError) as excinfo:
        validate_graph({"nodes": [bad], "edges": []})
    assert field in excinfo.value.problems, excinfo.value.problems
    assert any(words in message for message in excinfo.value.problems[field])


def test_validation_fills_defaults_and_port_names() -> None:
    graph = validate_graph(chain(node("cam", "camera_rtsp"), node("if", "conditional", field="label"),
                                 node("o", "dashboard"), ports={"if": "true"}))
    assert graph["nodes"][2]["config"] == {"title": "", "event_type": "pipeline", "severity": None,
                                           "description": ""}
    assert graph["edges"][0] == {"source": "cam", "source_port": "detections", "target": "if", "target_port": "in"}
