"""The runtime's side of the clock rule (ADR 0004), in process: items carry the wall-clock time
they were taken, and a pipeline whose state was loaded gets a ``resumed`` first tick, so the time
the runtime was away does not make it lose the objects whose detections are still queued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from vigia.automation.inputs import item_of, tick_item
from vigia.automation.organization import OrgPipelines
from vigia.automation.repository import Organization, PipelineRecord
from vigia.automation.shard import Batch, ShardWorker
from vigia.common.messages import make

ORG, CAMERA, PIPELINE = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SEEN = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
GRAPH = {"nodes": [
    {"id": "cam", "type": "camera_rtsp", "config": {"camera": str(CAMERA)}},
    {"id": "zone", "type": "zone_analysis", "config": {"zones": ["door"], "trigger": "exit", "lost_after_s": 10}},
    {"id": "board", "type": "dashboard", "config": {"title": "left"}},
], "edges": [
    {"source": "cam", "source_port": "detections", "target": "zone", "target_port": "detections"},
    {"source": "zone", "source_port": "events", "target": "board", "target_port": "data"},
]}
#: A person in the door zone, last seen at SEEN, that record taken 10 s later (the state a runtime
#: killed then left behind in PostgreSQL).
STORED = {"zone": {f"{CAMERA}|t1": {"in": ["door"], "seen": SEEN.timestamp(), "wall": SEEN.timestamp() + 10,
                                    "object": {"camera": str(CAMERA), "label": "person", "track": "t1"}}}}


def test_a_data_item_carries_the_time_the_runtime_took_it() -> None:
    taken = SEEN + timedelta(seconds=9.5)
    envelope = make("detection.created", ORG, "vision-test", {
        "camera": CAMERA, "frame": uuid.uuid4(), "captured_at": int(SEEN.timestamp() * 1e9), "label": "person",
        "confidence": 0.9, "track": "t1", "box": {"x1": 0, "y1": 0, "x2": 10, "y2": 10}})
    item = item_of(envelope, taken)
    assert item is not None and (item.time, item.received) == (SEEN, taken)
    assert tick_item(ORG, taken).data == {} and tick_item(ORG, taken, resumed=True).data == {"resumed": True}


def exits(worker: ShardWorker, org: OrgPipelines, at: datetime) -> list[Any]:
    batch = Batch(3, 20)
    worker._evaluate(org, tick_item(ORG, at), False, batch, None)
    return [e for e in batch.envelopes if e.type == "event.created"]


def test_the_first_tick_after_the_state_was_loaded_does_not_age_its_keys_by_the_time_away() -> None:
    worker = ShardWorker(0, "automation.0", None, None, None)  # type: ignore[arg-type]  # no I/O here
    org = OrgPipelines(Organization(ORG, "UTC", 300.0), {str(CAMERA): {"zones": [
        {"name": "door", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}]}}, {})
    running = org.install(PipelineRecord(PIPELINE, ORG, "p", "running", 1, GRAPH), STORED)
    back = SEEN + timedelta(minutes=5)  # the runtime was away for five minutes
    assert running.resumed and exits(worker, org, back) == []
    assert not running.resumed
    assert exits(worker, org, back + timedelta(seconds=10)) == []  # its detections may still be queued
    assert len(exits(worker, org, back + timedelta(seconds=11))) == 1  # lost: it left the zone, once
    assert exits(worker, org, back + timedelta(seconds=12)) == []
    # A hot reload keeps the state in memory: nothing was away, nothing to resume.
    assert not org.install(PipelineRecord(PIPELINE, ORG, "p", "running", 2, GRAPH), None).resumed
