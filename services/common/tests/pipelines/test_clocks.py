"""One clock per node (ADR 0004, :mod:`vigia.common.pipelines.clock`): records carry the time they
were observed and reach the runtime 10 s late (a slow vision worker) while ticks carry the wall
clock every second; every stateful node still acts exactly once per walk, burst or window."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from services.common.tests.pipelines.support import (
    NIGHT,
    Runner,
    chain,
    detection,
    item,
    lagged,
    node,
    seconds,
    sink,
    tick,
)


def through(*nodes: dict[str, Any], **kwargs: Any) -> Runner:
    return Runner(chain(node("hook", "api_webhook"), *nodes, sink()), **kwargs)


def post(data: dict[str, Any], at: float) -> Any:
    return item("webhook", data, NIGHT + seconds(at), source="hook")


def on_camera(*nodes: dict[str, Any], **kwargs: Any) -> Runner:
    return Runner(chain(node("cam", "camera_rtsp"), *nodes, sink()), **kwargs)


def walk_through_the_patio(track: str = "1") -> list[Any]:
    """Outside at 0 s, inside the patio from 1 s to 25 s, out again from 26 s (1 fps)."""
    path = [(200, 300)] + [(700, 700)] * 25 + [(100, 100)] * 3
    return [detection(x, y, NIGHT + seconds(i), track=track) for i, (x, y) in enumerate(path)]


def test_a_lagging_walk_enters_and_exits_the_zone_once() -> None:
    for trigger in ("enter", "exit"):
        runner = on_camera(node("zone", "zone_analysis", zones=["patio"], trigger=trigger))
        got = runner.payloads(*lagged(walk_through_the_patio()))
        assert [(p["zone_event"], p.get("lost")) for p in got] == [(trigger, None)]
        assert got[0]["observed_at"] == (NIGHT + seconds(1 if trigger == "enter" else 26)).isoformat()


def test_an_object_lost_while_its_detections_lag_exits_once_lost_after_its_last_one_was_taken() -> None:
    runner = on_camera(node("zone", "zone_analysis", zones=["patio"], trigger="exit", lost_after_s=10))
    stay = [detection(700, 700, NIGHT + seconds(i)) for i in range(11)]  # taken at 10..20 s
    fed = lagged(stay)
    got = [(one.time, p) for one in fed for p in runner.payloads(one)]
    assert [p["lost"] for _, p in got] == [True]
    assert got[0][0] == NIGHT + seconds(31)  # the first tick more than 10 s after the last one was taken
    assert runner.state.snapshot() == {}


def test_a_runtime_back_after_a_minute_does_not_lose_objects_whose_detections_are_still_queued() -> None:
    runner = on_camera(node("zone", "zone_analysis", zones=["patio"], trigger="exit", lost_after_s=10))
    walk = walk_through_the_patio()
    before = lagged(walk[:6], after=0)  # taken at 10..15 s, then the runtime is down for a minute
    back = NIGHT + seconds(75)
    queued = [r for r in lagged(walk[6:], lag=0) if r.kind != "tick"]
    drained = [dataclasses.replace(r, received=back + seconds(0.1 * k)) for k, r in enumerate(queued)]
    assert runner.feed(*before, tick(back, resumed=True)) == []
    got = runner.payloads(*drained, *(tick(back + seconds(k)) for k in range(1, 30)))
    assert [(p["zone_event"], p.get("lost")) for p in got] == [("exit", None)]
    # Without "resumed" the minute away would have counted as a minute unseen.
    unaware = on_camera(node("zone", "zone_analysis", zones=["patio"], trigger="exit", lost_after_s=10))
    assert [p.get("lost") for p in unaware.payloads(*before, tick(back))] == [True]


def test_a_lagging_loiterer_fires_once_after_the_dwell_in_its_own_time() -> None:
    runner = on_camera(node("loit", "loitering", zones=["patio"], seconds=30))
    stay = [detection(700, 700, NIGHT + seconds(i)) for i in range(41)]
    assert [p["dwell_s"] for p in runner.payloads(*lagged(stay))] == [30.0]


def test_a_sparsely_seen_lagging_loiterer_dwells_from_its_records_not_the_wall_clock() -> None:
    runner = on_camera(node("loit", "loitering", seconds=8, lost_after_s=30))
    fed = lagged([detection(100, 100, NIGHT), detection(100, 100, NIGHT + seconds(5))])
    got = [(one.time, p) for one in fed for p in runner.payloads(one)]
    # Taken at 10 s and 15 s: 8 s of dwell are reached 3 s of wall time after the second was taken.
    assert [(at, p["dwell_s"]) for at, p in got] == [(NIGHT + seconds(18), 8.0)]


def test_a_lagging_walk_crosses_the_line_once() -> None:
    runner = on_camera(node("line", "line_crossing"))
    walk = [detection(x, 500, NIGHT + seconds(i)) for i, x in enumerate(range(150, 1000, 100))]
    assert [p["direction"] for p in runner.payloads(*lagged(walk))] == ["a_to_b"]


def test_a_lagging_burst_is_debounced_once() -> None:
    runner = through(node("d", "debounce", seconds=5))
    bursts = [post({"n": n}, n) for n in range(4)] + [post({"n": n}, n) for n in range(20, 23)]
    assert [p["n"] for p in runner.payloads(*lagged(bursts))] == [3, 22]


def test_a_lagging_cooldown_passes_one_record_per_cooldown() -> None:
    runner = through(node("c", "cooldown", seconds=8, key="zone"))
    walk = [post({"zone": "patio", "n": n}, n) for n in range(20)]
    assert [p["n"] for p in runner.payloads(*lagged(walk))] == [0, 8, 16]


def test_a_lagging_record_still_finds_the_one_stored_before_it_within_the_ttl() -> None:
    runner = through(node("s", "data_storage", key="device", ttl_s=60))
    readings = [post({"device": "d1", "v": v}, at) for v, at in ((1, 0), (2, 55), (3, 130))]
    got = runner.payloads(*lagged(readings))
    assert [(p["v"], (p["previous"] or {}).get("v")) for p in got] == [(1, None), (2, 1), (3, None)]


def test_lagging_entries_are_counted_once_in_their_own_window() -> None:
    graph = chain(node("cam", "camera_rtsp"), node("zone", "zone_analysis", zones=["patio"], trigger="enter"),
                  node("n", "counting", window_s=60), sink())
    runner = Runner(graph)
    entries = [detection(700, 700, NIGHT + seconds(at), track=f"p{at}") for at in (55, 57, 59, 61, 63)]
    got = runner.payloads(*lagged(entries, after=70))
    start = NIGHT.timestamp()
    assert [(p["window_start"], p["count"]) for p in got] == [(start, 3), (start + 60, 2)]


def test_a_lagging_analytics_window_is_reported_once_with_all_its_values() -> None:
    runner = through(node("a", "analytics", metric="average", field="value", window_s=60))
    values = [post({"value": v}, at) for v, at in ((1, 55), (3, 57), (5, 59), (10, 61), (20, 63))]
    got = runner.payloads(*lagged(values, after=70))
    assert [(p["window_start"] - NIGHT.timestamp(), p["value"], p["count"]) for p in got] == [
        (0.0, 3.0, 3), (60.0, 15.0, 2)]


def test_a_lagging_unacknowledged_event_escalates_once() -> None:
    runner = Runner(chain(node("e", "event", mode="unacknowledged", unacknowledged_for=60), sink()))

    def event(at: float) -> Any:
        return item("event", {"event": "e1", "event_type": "intrusion", "severity": "high",
                              "started_at": NIGHT.isoformat(), "status": "open"}, NIGHT + seconds(at))

    fed = lagged([event(0), event(5), event(65)])
    got = [(one.time, p) for one in fed for p in runner.payloads(one)]
    assert [(at, p["event"]) for at, p in got] == [(NIGHT + seconds(60), "e1")]


def test_a_lagging_record_passes_the_schedule_it_was_observed_in() -> None:
    runner = through(node("t", "timer", windows=[{"start": "22:00", "end": "06:00"}]))
    ten_pm = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)  # 22:00 in São Paulo
    posts = [item("webhook", {"n": n}, ten_pm + seconds(n), source="hook") for n in (-5, 1)]
    assert [p["n"] for p in runner.payloads(*lagged(posts))] == [1]
