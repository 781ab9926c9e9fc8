"""The automation runtime against the real broker, PostgreSQL and Redis, as a subprocess: what it
runs, hot reload, stop/execute, kill -9 mid-dwell, redelivery, and sharding by organization."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from services.automation.tests.support import (
    DOOR,
    GUARD_S,
    Runtime,
    Tap,
    detection_graph,
    future,
    loitering_graph,
    new_camera,
    new_org,
    new_pipeline,
    person,
    rows,
)
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import make


async def _until(check: Callable[[], bool], within: float = GUARD_S) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def _change(org: uuid.UUID, pipeline: uuid.UUID, verb: str, state: str, graph: dict[str, Any], version: int = 1
            ) -> Any:
    return make(f"pipeline.{verb}", org, "control", {"pipeline": pipeline, "name": f"p-{pipeline.hex[:8]}",
                                                     "state": state, "graph": graph, "version": version})


async def test_runs_the_running_pipelines_and_ignores_draft_and_stopped_ones(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org), uuid.uuid4()
    running = new_pipeline(db, org, detection_graph(camera, channel))
    for state in ("draft", "stopped"):
        new_pipeline(db, org, detection_graph(camera, channel), state=state)
    runtime = runtimes("a").start()
    await runtime.holding(2)
    await broker.publish_many([person(org, camera, future(), track="t1"), person(org, camera, future(), track="t2")])

    await tap.wait(lambda t: len(t.of("action.")) >= 2)
    await asyncio.sleep(1.0)  # nothing else comes
    actions = tap.of("action.")
    assert [a.type for a in actions] == ["action.webhook", "action.webhook"]
    assert {a.data.pipeline for a in actions} == {running}  # type: ignore[attr-defined]
    assert sorted(a.data.payload["track"] for a in actions) == ["t1", "t2"]  # type: ignore[attr-defined]
    assert {a.data.channel for a in actions} == {channel}  # type: ignore[attr-defined]
    # Counters and runs are committed after the actions are confirmed.
    await _until(lambda: rows(db, "SELECT inputs, outputs FROM pipeline_node_counters WHERE pipeline_id = %s "
                                  "AND node = 'alert'", running) == [(2, 2)])
    assert len(rows(db, "SELECT 1 FROM pipeline_runs WHERE pipeline_id = %s", running)) == 2
    assert rows(db, "SELECT count(*) FROM pipeline_node_counters WHERE org_id = %s", org) == [(4,)]
    assert runtime.stop() == 0  # SIGTERM: the batch in flight finishes, the shards are handed over


async def test_stop_takes_effect_at_once_and_execute_starts_again(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org), uuid.uuid4()
    graph = detection_graph(camera, channel)
    pipeline = new_pipeline(db, org, graph)
    runtimes("a").start()
    at = future()
    await broker.publish_many([
        person(org, camera, at, track="before"),
        _change(org, pipeline, "stopped", "stopped", graph),
        person(org, camera, at + 1, track="while-stopped"),
        _change(org, pipeline, "started", "running", graph),
        person(org, camera, at + 2, track="after"),
    ])

    await tap.wait(lambda t: len(t.of("action.")) >= 2 and len(t.of("pipeline.status")) >= 2)
    await asyncio.sleep(1.0)
    assert [a.data.payload["track"] for a in tap.of("action.")] == ["before", "after"]  # type: ignore[attr-defined]
    statuses = [(s.data.pipeline, s.data.state) for s in tap.of("pipeline.status")]  # type: ignore[attr-defined]
    assert [s for s in statuses if s[1] != "fired"] == [(pipeline, "stopped"), (pipeline, "started")]


async def test_hot_reload_keeps_the_state_of_nodes_whose_id_and_type_are_unchanged(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org, zones=[DOOR]), uuid.uuid4()
    pipeline = new_pipeline(db, org, loitering_graph(camera, channel, seconds=30))
    runtimes("a").start()
    t0 = future()
    await broker.publish_many([person(org, camera, t0), person(org, camera, t0 + 10)])
    await _until(lambda: bool(rows(db, "SELECT 1 FROM pipeline_node_state WHERE pipeline_id = %s "
                                       "AND node = 'loiter'", pipeline)))
    # The WhatsApp node becomes a Telegram node; the loitering node (same id, same type) keeps its dwell.
    changed = loitering_graph(camera, channel, seconds=30, output="telegram", output_id="tg")
    await broker.publish_many([_change(org, pipeline, "updated", "running", changed, version=2),
                               person(org, camera, t0 + 20), person(org, camera, t0 + 35)])

    await tap.wait(lambda t: bool(t.of("action.")))
    await asyncio.sleep(1.0)
    (action,) = tap.of("action.")
    assert action.type == "action.telegram" and action.data.node == "tg"  # type: ignore[attr-defined]
    assert action.data.payload["dwell_s"] == 35.0  # type: ignore[attr-defined]  # counted from t0, not the reload


async def test_kill_9_mid_dwell_and_restart_fires_the_loitering_rule_exactly_once(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org, zones=[DOOR]), uuid.uuid4()
    pipeline = new_pipeline(db, org, loitering_graph(camera, channel, seconds=30))
    runtime = runtimes("a").start()
    t0 = future()
    await broker.publish_many([person(org, camera, t0 + k * 5) for k in range(3)])
    await _until(lambda: bool(rows(db, "SELECT 1 FROM pipeline_node_state WHERE pipeline_id = %s "
                                       "AND node = 'loiter'", pipeline)))
    runtime.kill()
    await broker.publish_many([person(org, camera, t0 + k * 5) for k in range(3, 12)])  # up to t0 + 55
    runtime.start()  # same replica name: it takes its shards back at once

    await tap.wait(lambda t: bool(t.of("action.")))
    await asyncio.sleep(1.5)
    (action,) = tap.of("action.")
    assert action.type == "action.whatsapp" and action.data.recipients == ["+5511999990000"]  # type: ignore[attr-defined]
    assert action.data.payload["dwell_s"] == 30.0  # type: ignore[attr-defined]


async def test_a_redelivered_detection_asks_for_the_same_action(
        db: psycopg.Connection[Any], database_url: str, broker: AsyncPublisher, tap: Tap,
        runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org), uuid.uuid4()
    pipeline = new_pipeline(db, org, detection_graph(camera, channel))
    runtime = runtimes("a").start()
    await runtime.holding(2)
    db.execute("INSERT INTO pipeline_node_counters (org_id, pipeline_id, node) VALUES (%s, %s, 'alert')",
               (org, pipeline))
    with psycopg.connect(database_url) as blocker:
        # The runtime publishes the action, then blocks committing the batch: kill it there. Only
        # this node's row is locked: ticks of every organization loaded commit counters every second,
        # and one of them blocked first would hold the detection back.
        blocker.execute("SELECT 1 FROM pipeline_node_counters WHERE pipeline_id = %s AND node = 'alert' FOR UPDATE",
                        (pipeline,))
        await broker.publish(person(org, camera, future()))
        await tap.wait(lambda t: len(t.of("action.")) == 1)
        runtime.kill()
        blocker.rollback()
    runtime.start()

    await tap.wait(lambda t: len(t.of("action.")) == 2)
    first, again = tap.of("action.")
    assert first.id == again.id and first.data == again.data
    await _until(lambda: rows(db, "SELECT inputs FROM pipeline_node_counters WHERE pipeline_id = %s "
                                  "AND node = 'alert'", pipeline) == [(1,)])
    assert len(rows(db, "SELECT 1 FROM pipeline_runs WHERE pipeline_id = %s", pipeline)) == 1


async def test_two_runtimes_share_the_organizations_and_evaluate_each_input_once(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    orgs = [new_org(db) for _ in range(8)]
    cameras = {org: new_camera(db, org) for org in orgs}
    pipelines = {org: new_pipeline(db, org, detection_graph(cameras[org], uuid.uuid4())) for org in orgs}
    first, second = runtimes("a").start(), runtimes("b").start()
    await first.holding(1)
    await second.holding(1)
    at = future()
    await broker.publish_many([person(org, cameras[org], at + k, track=f"t{k}") for org in orgs for k in range(3)])

    await tap.wait(lambda t: len(t.of("action.")) >= 24)
    await asyncio.sleep(1.0)
    actions = tap.of("action.")
    assert len(actions) == 24 and len({a.id for a in actions}) == 24
    assert sorted((a.data.pipeline, a.data.payload["track"]) for a in actions) == sorted(  # type: ignore[attr-defined]
        (pipelines[org], f"t{k}") for org in orgs for k in range(3))


async def test_an_event_left_unacknowledged_escalates_once_and_a_dashboard_event_is_raised(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    """No message of the organization ever reaches the runtime: the probe at start loads it, the
    ticks query the events table, and the one event nobody acknowledged escalates exactly once
    (the acknowledged one never does); the dashboard node raises an event of its own."""
    org, channel = new_org(db), uuid.uuid4()
    left, seen = uuid.uuid4(), uuid.uuid4()
    for event, acknowledged in ((left, None), (seen, "now()")):
        db.execute("INSERT INTO events (id, org_id, time, event_type, severity, score, site, sources, description, "
                   "status, classification, notes, acknowledged_at, updated_at) VALUES (%s, %s, "
                   f"now() - interval '1 minute', 'intrusion', 'high', 1.5, 'gate', '[]', '', 'open', "
                   f"'unclassified', '', {acknowledged or 'NULL'}, now())", (event, org))
    pipeline = new_pipeline(db, org, {"nodes": [
        {"id": "late", "type": "event", "config": {"mode": "unacknowledged", "unacknowledged_for": 30}},
        {"id": "wa", "type": "whatsapp", "config": {"channel": str(channel), "recipients": ["+5511999990000"]}},
        {"id": "board", "type": "dashboard", "config": {"title": "Nobody answered", "severity": "critical"}},
    ], "edges": [
        {"source": "late", "source_port": "events", "target": "wa", "target_port": "events"},
        {"source": "late", "source_port": "events", "target": "board", "target_port": "data"},
    ]})
    runtimes("a").start()

    await tap.wait(lambda t: bool(t.of("action.")) and bool(t.of("event.created")))
    await asyncio.sleep(2.0)  # several more ticks: no second escalation
    (action,) = tap.of("action.")
    assert action.data.event == left and action.data.pipeline == pipeline  # type: ignore[attr-defined]
    (raised,) = tap.of("event.created")
    assert raised.data.severity == "critical" and raised.data.description.startswith("Nobody answered")  # type: ignore[attr-defined]
    assert [s.model_dump() for s in raised.data.sources] == [  # type: ignore[attr-defined]
        {"kind": "pipeline", "ref": f"{pipeline}/board", "device": None, "camera": None, "weight": 0}]


async def test_a_camera_zone_drawn_later_is_used_at_once(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org = new_org(db)
    camera, channel = new_camera(db, org), uuid.uuid4()  # no zones yet: nobody is "in the door zone"
    new_pipeline(db, org, loitering_graph(camera, channel, seconds=30))
    runtimes("a").start()
    t0 = future()
    drawn = make("camera.updated", org, "control", {"camera": camera, "name": "gate", "fps": 1, "zones": [DOOR]})
    await broker.publish_many([person(org, camera, t0), person(org, camera, t0 + 35), drawn,
                               person(org, camera, t0 + 40), person(org, camera, t0 + 75)])

    await tap.wait(lambda t: bool(t.of("action.")))
    await asyncio.sleep(1.0)
    (action,) = tap.of("action.")
    assert action.data.payload["dwell_s"] == 35.0  # type: ignore[attr-defined]  # counted from t0 + 40


async def test_a_watch_list_change_is_used_at_once(
        db: psycopg.Connection[Any], broker: AsyncPublisher, tap: Tap, runtimes: Callable[[str], Runtime]) -> None:
    org, channel = new_org(db), uuid.uuid4()
    camera, watchlist = new_camera(db, org), uuid.uuid4()
    db.execute("INSERT INTO plate_watchlists (id, created_at, updated_at, name, kind, description, version, org_id) "
               "VALUES (%s, now(), now(), 'stolen', 'deny', '', 1, %s)", (watchlist, org))
    pipeline = new_pipeline(db, org, {"nodes": [
        {"id": "plates", "type": "plate", "config": {"camera": str(camera)}},
        {"id": "match", "type": "plate_match", "config": {"watchlists": ["stolen"], "look_alikes": False}},
        {"id": "alert", "type": "http_post", "config": {"channel": str(channel)}},
    ], "edges": [
        {"source": "plates", "source_port": "plates", "target": "match", "target_port": "plates"},
        {"source": "match", "source_port": "plates", "target": "alert", "target_port": "data"},
    ]})
    runtimes("a").start()

    def plate(text: str) -> Any:
        at = int(future() * 1e9)
        return make("plate.read", org, "vision-test", {"camera": camera, "visit": uuid.uuid4().hex,
                                                       "plate_text": text, "confidence": 0.9, "votes": 3,
                                                       "first_seen": at, "last_seen": at})

    await broker.publish(plate("XYZ9Z99"))  # not listed yet: a run that fires nothing
    await _until(lambda: bool(rows(db, "SELECT 1 FROM pipeline_runs WHERE pipeline_id = %s", pipeline)))
    db.execute("INSERT INTO plate_watchlist_entries (id, created_at, updated_at, plate, label, org_id, watchlist_id) "
               "VALUES (%s, now(), now(), 'XYZ9Z99', 'stolen car', %s, %s)", (uuid.uuid4(), org, watchlist))
    await broker.publish_many([make("watchlist.updated", org, "control", {"watchlist": watchlist, "name": "stolen",
                                                                         "kind": "deny", "version": 2}),
                               plate("XYZ9Z99")])

    await tap.wait(lambda t: bool(t.of("action.")))
    await asyncio.sleep(1.0)
    (action,) = tap.of("action.")
    assert action.data.payload["plate_text"] == "XYZ9Z99"  # type: ignore[attr-defined]
