"""The pipeline engine alone, in one process: detections evaluated per second of CPU.

    python tests/bench/bench_automation_engine.py [--detections 20000] [--rounds 5] [--profile]

10 organizations x 10 pipelines each, every pipeline of an organization reading all of its cameras
(so each detection passes 10 pipelines), each pipeline 5 nodes: camera_rtsp -> object_detection
(person, confidence) -> zone_analysis (enter, per track) -> conditional (zone == "restricted") ->
an output (whatsapp / telegram / email / http_post / dashboard in turn). Synthetic detections:
per camera, five people and a car walking across the frame (tracked), in and out of two zones, so zone
entries -- and emissions -- happen as they would. The loop is what the runtime does per item:
the organization's plans, ``accepts``, ``run`` with the plan's MemoryState.

Reported: detections/s per core (CPU time of this process, median round), node evaluations/s
(node calls per detection counted in one traced pass over the same items), pipeline runs/s,
the same with ``trace=True`` (what a runtime recording per-node counters and runs pays),
emissions per round, and the ratio to issue 11's goal (10,000 detections/s per core).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from vigia.common.ids import uuid7_of
from vigia.common.pipelines import Item, MemoryState, Plan

GOAL = 10_000
ORGS, PIPELINES, CAMERAS, OBJECTS = 10, 10, 4, 6
OUTPUTS = ("whatsapp", "telegram", "email", "http_post", "dashboard")
ZONES = [
    {"name": "restricted", "points": [[0.55, 0.45], [0.95, 0.45], [0.95, 0.95], [0.55, 0.95]]},
    {"name": "parking", "points": [[0.05, 0.5], [0.4, 0.55], [0.35, 0.95], [0.05, 0.9]]},
]


def output_node(kind: str) -> dict[str, object]:
    channel = str(uuid.UUID(int=7))
    config: dict[str, object] = {
        "whatsapp": {"channel": channel, "recipients": ["+5511999990000"]},
        "telegram": {"channel": channel, "recipients": ["-1001234567"]},
        "email": {"channel": channel, "recipients": ["security@example.com"]},
        "http_post": {"channel": channel},
        "dashboard": {"title": "Intrusion", "severity": "high"},
    }[kind]
    return {"id": "out", "type": kind, "config": config}


def graph(cameras: list[str], output: str) -> dict[str, object]:
    return {
        "nodes": [
            {"id": "cam", "type": "camera_rtsp", "config": {"cameras": cameras}},
            {"id": "det", "type": "object_detection", "config": {"classes": ["person"], "confidence": 0.5}},
            {"id": "zone", "type": "zone_analysis", "config": {"trigger": "enter"}},
            {"id": "if", "type": "conditional", "config": {"field": "zone", "value": "restricted"}},
            output_node(output),
        ],
        "edges": [
            {"source": "cam", "target": "det"},
            {"source": "det", "target": "zone"},
            {"source": "zone", "target": "if"},
            {"source": "if", "source_port": "true", "target": "out"},
        ],
    }


def organizations() -> list[tuple[uuid.UUID, list[str], list[tuple[Plan, MemoryState]]]]:
    out = []
    for o in range(ORGS):
        org = uuid.UUID(int=1000 + o)
        cameras = [str(uuid.UUID(int=100_000 + o * 100 + c)) for c in range(CAMERAS)]
        zones = {camera: {"zones": ZONES, "lines": [], "width": 1280, "height": 720} for camera in cameras}
        plans = [(Plan.compile(uuid.UUID(int=o * 1000 + p), org, 1, graph(cameras, OUTPUTS[p % len(OUTPUTS)]),
                               zones=zones), MemoryState()) for p in range(PIPELINES)]
        out.append((org, cameras, plans))
    return out


def detections(orgs: list[tuple[uuid.UUID, list[str], list[tuple[Plan, MemoryState]]]], n: int,
               seed: int = 11) -> list[Item]:
    """``n`` detections round-robin over every camera of every organization, 1 fps per object."""
    rng = random.Random(seed)
    start = datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    walkers = {}
    for org, cameras, _ in orgs:
        for camera in cameras:
            for k in range(OBJECTS):
                walkers[(org, camera, k)] = [rng.uniform(0, 1280), rng.uniform(100, 720),
                                             rng.uniform(-60, 60), rng.uniform(-30, 30),
                                             "car" if k == OBJECTS - 1 else "person"]
    keys = list(walkers)
    items = []
    for i in range(n):
        org, camera, k = keys[i % len(keys)]
        w = walkers[(org, camera, k)]
        w[0] = min(max(w[0] + w[2], 25.0), 1255.0)
        w[1] = min(max(w[1] + w[3], 80.0), 719.0)
        if w[0] in (25.0, 1255.0):
            w[2] = -w[2]
        if w[1] in (80.0, 719.0):
            w[3] = -w[3]
        time_ = start + timedelta(seconds=i // len(keys))
        data = {"camera": camera, "frame": str(uuid.UUID(int=i)), "captured_at": time_.isoformat(),
                "label": w[4], "confidence": round(rng.uniform(0.4, 0.99), 3),
                "box": {"x1": w[0] - 25, "y1": w[1] - 80, "x2": w[0] + 25, "y2": w[1]},
                "track": f"{k}", "snapshot_key": None}
        items.append(Item("detection", org, time_, camera, data, uuid7_of(int(time_.timestamp() * 1e9), str(i))))
    return items


def evaluate(plans_by_org: dict[uuid.UUID, list[tuple[Plan, MemoryState]]], items: list[Item],
             trace: bool = False) -> int:
    emissions = 0
    for item in items:
        for plan, state in plans_by_org[item.org]:
            if plan.accepts(item):
                emissions += len(plan.run(item, state, trace=trace).emissions)
    return emissions


def node_calls_per_detection(orgs: list[tuple[uuid.UUID, list[str], list[tuple[Plan, MemoryState]]]],
                             items: list[Item]) -> float:
    """Node evaluations (an input node's accept, every record a node receives) per detection, counted
    with tracing on a fresh copy of the plans' state."""
    calls = 0
    fresh = {org: [(plan, MemoryState()) for plan, _ in plans] for org, _, plans in orgs}
    for item in items:
        for plan, state in fresh[item.org]:
            if plan.accepts(item):
                for trace in plan.run(item, state, trace=True).trace:
                    calls += len(trace.inputs)
    return calls / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detections", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one round to stderr")
    args = parser.parse_args()
    orgs = organizations()
    items = detections(orgs, args.detections)
    per_detection = node_calls_per_detection(orgs, items[: min(len(items), 5000)])
    rates, walls, traced, emitted = [], [], [], []
    for _ in range(args.rounds):
        for trace in (False, True):
            plans_by_org = {org: [(plan, MemoryState()) for plan, _ in plans] for org, _, plans in orgs}
            cpu, wall = time.process_time(), time.perf_counter()
            emitted.append(evaluate(plans_by_org, items, trace))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if trace:
                traced.append(len(items) / cpu)
            else:
                rates.append(len(items) / cpu)
                walls.append(len(items) / wall)
    if args.profile:
        plans_by_org = {org: [(plan, MemoryState()) for plan, _ in plans] for org, _, plans in orgs}
        profiler = cProfile.Profile()
        profiler.runcall(evaluate, plans_by_org, items)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    rate = statistics.median(rates)
    print(orjson.dumps({
        "bench": "automation_engine",
        "organizations": ORGS, "pipelines_per_org": PIPELINES, "nodes_per_pipeline": 5,
        "cameras_per_org": CAMERAS, "detections": len(items), "rounds": args.rounds,
        "detections_per_s_per_core": round(rate),
        "detections_per_s_wall": round(statistics.median(walls)),
        "detections_per_s_per_core_traced": round(statistics.median(traced)),
        "pipeline_runs_per_s": round(rate * PIPELINES),
        "node_evaluations_per_detection": round(per_detection, 2),
        "node_evaluations_per_s": round(rate * per_detection),
        "emissions_per_round": emitted[0],
        "goal_detections_per_s": GOAL,
        "ratio_to_goal": round(rate / GOAL, 3),
    }).decode())


if __name__ == "__main__":
    main()
