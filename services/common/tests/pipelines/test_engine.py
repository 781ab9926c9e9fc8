"""The engine: compiled once, items walk the graph in topological order, state only through State,
time only from the item, deterministic emission ids, errors contained to their branch."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from services.common.tests.pipelines.support import (
    CAMERA,
    CHANNEL,
    NIGHT,
    ORG,
    PIPELINE,
    ZONES,
    Runner,
    chain,
    compile_plan,
    detection,
    node,
    seconds,
    sink,
    tick,
)
from vigia.common.pipelines import GraphError, Item, MemoryState, Plan

INTRUSION = chain(node("cam", "camera_rtsp", cameras=[CAMERA]), node("det", "object_detection", classes=["person"]),
                  node("zone", "zone_analysis", zones=["patio"]),
                  node("wa", "whatsapp", channel=CHANNEL, recipients=["+5511999990000"]))


class DictState:
    """A State that is not MemoryState: the engine must need nothing else."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}

    def get(self, node: str, key: str, default: Any = None) -> Any:
        return self.values.get((node, key), default)

    def set(self, node: str, key: str, value: Any) -> None:
        self.values[(node, key)] = value

    def delete(self, node: str, key: str) -> None:
        self.values.pop((node, key), None)

    def items(self, node: str) -> Iterable[tuple[str, Any]]:
        return [(k, v) for (n, k), v in list(self.values.items()) if n == node]


def test_nodes_run_in_topological_order_whatever_the_listing_order() -> None:
    graph = {"nodes": list(reversed(INTRUSION["nodes"])), "edges": INTRUSION["edges"]}
    plan = compile_plan(graph)
    assert plan.node_ids == ("cam", "det", "zone", "wa")
    result = plan.run(detection(700, 700), MemoryState(), trace=True)
    assert [t.node for t in result.trace] == ["cam", "det", "zone", "wa"]
    assert [e.node for e in result.emissions] == ["wa"]


def test_a_redelivered_item_gets_the_same_emission_ids_and_another_item_others() -> None:
    first = detection(700, 700)
    one = compile_plan(INTRUSION).run(first, MemoryState()).emissions
    again = compile_plan(INTRUSION).run(first, MemoryState()).emissions
    other = compile_plan(INTRUSION).run(detection(700, 700), MemoryState()).emissions
    assert [e.id for e in one] == [e.id for e in again] and one[0].id != other[0].id
    assert one[0].id.version == 7
    elsewhere = Plan.compile(uuid.uuid4(), ORG, 1, INTRUSION, zones=ZONES).run(first, MemoryState()).emissions
    assert elsewhere[0].id != one[0].id  # the same item in another pipeline


def test_two_emissions_of_one_node_in_one_run_get_distinct_ids() -> None:
    graph = chain(node("cam", "camera_rtsp"), node("zone", "zone_analysis", trigger="inside"),
                  node("d", "dashboard"))
    zones = {CAMERA: {"zones": [{"name": "a", "points": [[0, 0], [1, 0], [1, 1]]},
                                {"name": "b", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}], "width": 1000,
                      "height": 1000}}
    emissions = compile_plan(graph, zones=zones).run(detection(900, 500), MemoryState()).emissions
    assert [e.payload["zone"] for e in emissions] == ["a", "b"] and len({e.id for e in emissions}) == 2


def test_traced_and_untraced_runs_agree() -> None:
    items = [detection(100 + 60 * i, 700, NIGHT + seconds(i)) for i in range(15)]
    plain, traced = Runner(INTRUSION), Runner(INTRUSION)
    assert [e.id for i in items for e in plain.run(i).emissions] == \
           [e.id for i in items for e in traced.run(i, trace=True).emissions]
    assert plain.state.snapshot() == traced.state.snapshot()


def test_state_goes_only_through_the_state_protocol() -> None:
    plan, state = compile_plan(INTRUSION), DictState()
    assert len(plan.run(detection(700, 700, NIGHT), state).emissions) == 1
    assert plan.run(detection(710, 700, NIGHT + seconds(1)), state).emissions == []
    assert state.values, "zone membership is kept in the given state"


def test_memory_state_tracks_what_changed() -> None:
    state = MemoryState()
    compile_plan(INTRUSION).run(detection(700, 700), state)
    assert state.dirty() == {("zone", f"{CAMERA}|1")}
    state.clear_dirty()
    compile_plan(INTRUSION).run(detection(100, 100, NIGHT + seconds(1)), state)  # left the patio
    assert state.dirty() == {("zone", f"{CAMERA}|1")} and state.snapshot() == {}


def test_accepts_is_the_input_nodes_choice_and_ticks_only_when_needed() -> None:
    plan = compile_plan(INTRUSION)
    assert plan.accepts(detection(1, 1))
    assert not plan.accepts(detection(1, 1, camera=str(uuid.uuid4())))
    assert not plan.accepts(Item("plate", ORG, NIGHT, CAMERA, {}, uuid.uuid4()))
    assert plan.needs_ticks() and plan.accepts(tick(NIGHT))  # zone_analysis forgets lost tracks
    stateless = compile_plan(chain(node("cam", "camera_rtsp"), sink()))
    assert not stateless.needs_ticks() and not stateless.accepts(tick(NIGHT))


def test_a_failing_node_is_reported_and_other_branches_still_run() -> None:
    graph = {"nodes": [node("cam", "camera_rtsp"), node("zone", "zone_analysis"), node("d", "dashboard")],
             "edges": [{"source": "cam", "target": "zone"}, {"source": "cam", "target": "d"}]}
    broken = Item("detection", ORG, NIGHT, CAMERA, {"camera": CAMERA, "label": "person", "box": {"x": 1}},
                  uuid.uuid4())
    for trace in (False, True):
        result = compile_plan(graph).run(broken, MemoryState(), trace=trace)
        assert result.error is not None and result.error.startswith("node 'zone': KeyError")
        assert [e.node for e in result.emissions] == ["d"] and result.fired
    traced = compile_plan(graph).run(broken, MemoryState(), trace=True)
    assert {t.node: t.error is not None for t in traced.trace} == {"cam": False, "zone": True, "d": False}


def test_a_dry_run_of_one_node_evaluates_it_alone() -> None:
    plan = compile_plan(INTRUSION)
    one = detection(700, 700)
    result = plan.run(one, MemoryState(), node="zone")
    assert [t.node for t in result.trace] == ["zone"] and not result.fired
    assert [o["value"]["zone_event"] for o in result.trace[0].outputs] == ["enter"]
    output = plan.run(one, MemoryState(), node="wa")
    assert [e.kind for e in output.emissions] == ["whatsapp"]
    with pytest.raises(KeyError):
        plan.run(one, MemoryState(), node="nope")


def test_compile_refuses_what_cannot_run() -> None:
    with pytest.raises(GraphError) as excinfo:
        compile_plan(chain(node("p", "plate"), node("m", "plate_match", watchlists=["ghosts"])))
    assert excinfo.value.problems == {"graph.nodes.1.config": ["node 'm': watch-list 'ghosts' does not exist"]}
    with pytest.raises(GraphError, match="unknown time zone"):
        compile_plan(INTRUSION, time_zone="Nowhere/Land")
    with pytest.raises(GraphError, match="node 'x'"):
        compile_plan({"nodes": [node("x", "ai_model")], "edges": []})


def test_the_plan_knows_its_pipeline() -> None:
    plan = compile_plan(INTRUSION)
    assert (plan.pipeline, plan.org, plan.version) == (PIPELINE, ORG, 1)
    assert plan.node_types == {"cam": "camera_rtsp", "det": "object_detection", "zone": "zone_analysis",
                               "wa": "whatsapp"}


def test_a_trace_is_json_with_every_nodes_inputs_and_outputs() -> None:
    import orjson

    result = compile_plan(INTRUSION).run(detection(700, 700), MemoryState(), trace=True)
    nodes = orjson.loads(orjson.dumps([vars(t) for t in result.trace]))
    assert [(n["node"], len(n["inputs"]), len(n["outputs"])) for n in nodes] == [
        ("cam", 1, 1), ("det", 1, 1), ("zone", 1, 1), ("wa", 1, 1)]
    assert nodes[0]["inputs"][0]["kind"] == "detection" and nodes[2]["outputs"][0]["value"]["zone"] == "patio"
    assert nodes[3]["outputs"][0] == {"emission": str(result.emissions[0].id), "kind": "whatsapp",
                                      "recipients": ["+5511999990000"]}
