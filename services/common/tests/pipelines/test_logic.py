"""Logic and time: conditions, schedules in the organization's time zone, cooldown, debounce, loops,
stored values, loitering dwell and windowed counts. Time comes only from the items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.common.tests.pipelines.support import (
    CAMERA,
    NIGHT,
    Runner,
    chain,
    detection,
    item,
    node,
    seconds,
    sink,
    tick,
)
from vigia.common.pipelines import GraphError, validate_graph
from vigia.common.pipelines.clock import LATE_S


def through(*nodes: dict[str, Any], ports: dict[str, str] | None = None, **kwargs: Any) -> Runner:
    return Runner(chain(node("hook", "api_webhook"), *nodes, sink(), ports=ports), **kwargs)


def post(data: dict[str, Any], at: datetime = NIGHT) -> Any:
    return item("webhook", data, at, source="hook")


@pytest.mark.parametrize(("field", "operator", "value", "record", "passes"), [
    ("label", "eq", "person", {"label": "person"}, True),
    ("label", "ne", "person", {"label": "car"}, True),
    ("label", "ne", "person", {}, True),
    ("confidence", "gt", 0.5, {"confidence": 0.7}, True),
    ("confidence", "gt", 0.5, {"confidence": "high"}, False),
    ("count", "lte", 3, {"count": 3}, True),
    ("label", "in", ["car", "truck"], {"label": "truck"}, True),
    ("label", "not_in", ["car", "truck"], {"label": "person"}, True),
    ("plate_text", "contains", "ABC", {"plate_text": "ABC1D23"}, True),
    ("label", "exists", None, {"label": None}, False),
    ("zone", "eq", "patio", {"zone": {"name": "patio"}}, False),
    ("zone", "eq", "patio", {}, False),
])
def test_conditional_routes_true_and_false(field: str, operator: str, value: Any, record: dict[str, Any],
                                           passes: bool) -> None:
    graph = {"nodes": [node("hook", "api_webhook"), node("if", "conditional", field=field, operator=operator,
                                                         value=value),
                       node("yes", "dashboard"), node("no", "dashboard")],
             "edges": [{"source": "hook", "target": "if"}, {"source": "if", "source_port": "true", "target": "yes"},
                       {"source": "if", "source_port": "false", "target": "no"}]}
    assert Runner(graph).feed(post(record)) == (["yes"] if passes else ["no"])


def test_conditional_reads_dotted_paths() -> None:
    runner = through(node("if", "conditional", field="box.y2", operator="gte", value=500), ports={"if": "true"})
    assert runner.feed(post({"box": {"y2": 600}}), post({"box": {"y2": 100}}), post({"box": None})) == ["out"]


NIGHT_WINDOW = {"start": "22:00", "end": "06:00"}


def test_timer_window_overnight_in_sao_paulo() -> None:
    runner = through(node("t", "timer", windows=[NIGHT_WINDOW]))
    # 01:00 UTC = 22:00 São Paulo (in); 00:59 UTC = 21:59 (out); 08:59 UTC = 05:59 (in); 09:00 UTC = 06:00 (out).
    at = [datetime(2026, 12, 6, h, m, tzinfo=UTC) for h, m in ((1, 0), (0, 59), (8, 59), (9, 0))]
    assert [bool(runner.feed(post({}, t))) for t in at] == [True, False, True, False]


def test_timer_weekdays_sunday_versus_monday_in_sao_paulo() -> None:
    weekdays_only = through(node("t", "timer", windows=[{"start": "08:00", "end": "18:00",
                                                          "weekdays": ["mon", "tue", "wed", "thu", "fri"]}]))
    sunday = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)  # Sunday 10:00 in São Paulo
    monday = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # Monday 10:00
    late_sunday_utc = datetime(2026, 12, 8, 2, 30, tzinfo=UTC)  # Monday 23:30 in São Paulo, Tuesday in UTC
    assert weekdays_only.feed(post({}, sunday)) == [] and weekdays_only.feed(post({}, monday)) == ["out"]
    assert weekdays_only.feed(post({}, late_sunday_utc)) == []  # 23:30 is after 18:00
    # An overnight window belongs to the day it starts: Sunday 22:00 -> Monday 06:00 only.
    sunday_night = through(node("t", "timer", windows=[{**NIGHT_WINDOW, "weekdays": ["sun"]}]))
    monday_0300 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday 03:00 São Paulo: Sunday's night
    tuesday_0300 = datetime(2026, 12, 8, 6, 0, tzinfo=UTC)  # Tuesday 03:00: Monday's night
    assert sunday_night.feed(post({}, monday_0300)) == ["out"]
    assert sunday_night.feed(post({}, tuesday_0300)) == []


def test_timer_uses_the_organizations_time_zone_or_its_own() -> None:
    at = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)  # 20:30 São Paulo, 23:30 UTC
    assert through(node("t", "timer", windows=[NIGHT_WINDOW])).feed(post({}, at)) == []
    assert through(node("t", "timer", windows=[NIGHT_WINDOW]), time_zone="UTC").feed(post({}, at)) == ["out"]
    assert through(node("t", "timer", windows=[NIGHT_WINDOW], time_zone="Europe/Lisbon")).feed(post({}, at)) == ["out"]


def test_timer_interval_fires_once_per_interval_on_ticks_and_only_in_its_window() -> None:
    runner = Runner(chain(node("t", "timer", interval_s=60, windows=[NIGHT_WINDOW]), sink()))
    start = datetime(2026, 12, 6, 0, 58, 30, tzinfo=UTC)  # 21:58:30 São Paulo
    fired = [bool(runner.feed(tick(start + seconds(s)))) for s in range(0, 200, 10)]
    # Minutes start at 21:59 (outside), 22:00, 22:01 (inside): one tick of each of the last two fires.
    assert sum(fired) == 2 and fired.index(True) == 9  # 21:58:30 + 90 s = 22:00:00


def test_timer_cron_fires_on_matching_minutes_once() -> None:
    runner = Runner(chain(node("t", "timer", cron="*/15 22-23 * * 1-5"), sink()))
    monday_2200 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # Monday 22:00 São Paulo
    sunday_2200 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Sunday 22:00
    assert len(runner.feed(*(tick(monday_2200 + seconds(s)) for s in range(0, 60, 5)))) == 1
    assert runner.feed(tick(monday_2200 + seconds(60))) == []  # 22:01
    assert len(runner.feed(tick(monday_2200 + seconds(15 * 60 + 1)))) == 1  # 22:15
    assert runner.feed(tick(sunday_2200)) == []


def test_a_cooldown_suppresses_the_second_within_its_time() -> None:
    runner = through(node("c", "cooldown", seconds=60))
    fired = [bool(runner.feed(post({}, NIGHT + seconds(s)))) for s in (0, 30, 59, 60, 61)]
    assert fired == [True, False, False, True, False]


def test_a_cooldown_per_key_keeps_keys_apart_and_forgets_them_on_ticks() -> None:
    runner = through(node("c", "cooldown", seconds=60, key="zone"))
    assert runner.feed(post({"zone": "a"}), post({"zone": "b"}), post({"zone": "a"})) == ["out", "out"]
    runner.feed(tick(NIGHT + seconds(61)))
    assert len(runner.state.snapshot()["c"]) == 2  # records observed that long ago may still come
    runner.feed(tick(NIGHT + seconds(60 + LATE_S)))
    assert runner.state.snapshot() == {}


def test_a_cooldown_holds_back_records_that_lag_behind_the_ticks() -> None:
    # Detections reach the runtime 20 s after their frames (a slow vision worker) while ticks carry
    # the wall clock: one walk through a zone, two frames a second apart, must still alert once.
    runner = through(node("c", "cooldown", seconds=8, key="zone"))
    assert runner.feed(post({"zone": "patio"}, NIGHT)) == ["out"]
    assert runner.feed(tick(NIGHT + seconds(20))) == []
    assert runner.feed(post({"zone": "patio"}, NIGHT + seconds(1))) == []
    assert runner.feed(post({"zone": "patio"}, NIGHT + seconds(9))) == ["out"]  # the next walk


def test_debounce_hands_on_the_last_of_a_burst_once_it_is_quiet() -> None:
    runner = through(node("d", "debounce", seconds=5))
    assert runner.feed(*(post({"n": n}, NIGHT + seconds(n)) for n in range(4))) == []
    assert runner.feed(tick(NIGHT + seconds(7))) == []  # last at 3 s: due at 8 s
    assert [p["n"] for p in runner.payloads(tick(NIGHT + seconds(8)))] == [3]
    assert runner.feed(tick(NIGHT + seconds(20))) == []


def test_loop_hands_on_each_element() -> None:
    runner = through(node("l", "loop", field="plates", max_items=2))
    got = runner.payloads(post({"plates": ["A", "B", "C"], "site": "x"}))
    assert [(p["item"], p["index"], p["site"]) for p in got] == [("A", 0, "x"), ("B", 1, "x")]
    assert "plates" not in got[0]


def test_data_storage_hands_on_the_previous_record_until_it_expires() -> None:
    runner = through(node("s", "data_storage", key="device", ttl_s=60))
    first, second = runner.payloads(post({"device": "d1", "v": 1}), post({"device": "d1", "v": 2}))
    assert first["previous"] is None and second["previous"] == {"device": "d1", "v": 1}
    assert runner.payloads(post({"device": "d1", "v": 3}, NIGHT + seconds(61)))[0]["previous"] is None
    persistent = through(node("s", "data_storage", mode="persist", ttl_s=1))
    persistent.feed(post({"v": 1}))
    assert persistent.payloads(post({"v": 2}, NIGHT + seconds(3600)))[0]["previous"] == {"v": 1}


def test_data_transform_keeps_renames_sets_and_converts() -> None:
    runner = through(node("t", "data_transform", keep=["a", "b", "c"], rename={"a": "alpha"}, set={"site": "x"},
                          convert={"b": "int", "c": "float"}))
    (payload,) = runner.payloads(post({"a": 1, "b": "7.9", "c": "nope", "d": 4}))
    assert {k: payload[k] for k in ("alpha", "b", "c", "site")} == {"alpha": 1, "b": 7, "c": None, "site": "x"}
    assert "d" not in payload and "a" not in payload


def loitering(seconds_: float = 30, **config: Any) -> Runner:
    return Runner(chain(node("cam", "camera_rtsp"), node("loit", "loitering", seconds=seconds_, **config), sink()))


def test_loitering_fires_once_per_track_after_the_dwell() -> None:
    runner = loitering(30, zones=["patio"])
    stay = [detection(700, 700, NIGHT + seconds(s)) for s in range(0, 60, 5)]
    got = runner.payloads(*stay)
    assert [(p["zone"], p["dwell_s"], p["track"]) for p in got] == [("patio", 30.0, "1")]
    assert runner.payloads(*(tick(NIGHT + seconds(s)) for s in (61, 62))) == []
    other = runner.payloads(*(detection(710, 700, NIGHT + seconds(s), track="2") for s in (0, 31)))
    assert [p["track"] for p in other] == ["2"]


def test_loitering_counts_dwell_between_sparse_detections_on_ticks() -> None:
    runner = loitering(10, lost_after_s=30)
    runner.feed(detection(100, 100, NIGHT))
    assert runner.feed(tick(NIGHT + seconds(9))) == []
    assert runner.feed(tick(NIGHT + seconds(10))) == ["out"]
    assert runner.feed(tick(NIGHT + seconds(11)), detection(100, 100, NIGHT + seconds(12))) == []


def test_leaving_the_zone_restarts_the_dwell() -> None:
    runner = loitering(30, zones=["patio"])
    assert runner.feed(detection(700, 700, NIGHT), detection(700, 700, NIGHT + seconds(20)),
                       detection(100, 100, NIGHT + seconds(25)), detection(700, 700, NIGHT + seconds(40)),
                       detection(700, 700, NIGHT + seconds(65))) == []
    assert runner.feed(detection(700, 700, NIGHT + seconds(70))) == ["out"]


def test_counting_reports_each_zone_per_window() -> None:
    graph = chain(node("cam", "camera_rtsp"), node("zone", "zone_analysis", trigger="enter"),
                  node("n", "counting", window_s=60), sink())
    runner = Runner(graph)
    window = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
    entries = [detection(700, 700, window + seconds(i), track=f"p{i}") for i in range(3)]
    entries.append(detection(100, 100, window + seconds(5), track="g"))
    assert runner.feed(*entries) == []
    got = runner.payloads(tick(window + seconds(60)))
    assert [(p["group"], p["count"], p["window_start"]) for p in got] == [
        ("gate", 1, window.timestamp()), ("patio", 3, window.timestamp())]
    assert runner.feed(tick(window + seconds(120))) == []


def test_analytics_aggregates_a_field_per_window() -> None:
    runner = through(node("a", "analytics", metric="average", field="value", window_s=10, group_by="device"))
    runner.feed(*(post({"device": d, "value": v}, NIGHT + seconds(i))
                  for i, (d, v) in enumerate([("a", 1), ("a", 3), ("b", 10), ("a", "x")])))
    got = runner.payloads(post({"device": "a", "value": 100}, NIGHT + seconds(10)))
    assert [(p["group"], p["value"], p["count"]) for p in got] == [("a", 2.0, 2), ("b", 10.0, 1)]
    rate = through(node("a", "analytics", metric="rate", window_s=10))
    rate.feed(*(post({}, NIGHT + seconds(i)) for i in range(5)))
    assert [p["value"] for p in rate.payloads(tick(NIGHT + seconds(10)))] == [0.5]


def test_camera_input_reads_only_its_cameras() -> None:
    runner = Runner(chain(node("cam", "camera_rtsp", camera=CAMERA), sink()))
    assert runner.feed(detection(1, 1), detection(1, 1, camera="0190a8c2-0000-7000-8000-00000000ca02")) == ["out"]


def scored(event_id: str, **fields: Any) -> Any:
    data = {"event": event_id, "event_type": "correlated_anomaly", "severity": "high", "score": 0.9,
            "started_at": NIGHT.isoformat(), "site": "hq", **fields}
    return item("event", data, NIGHT)


def test_suppressed_holds_events_the_correlator_marked_likely_false_alarms() -> None:
    graph = {"nodes": [node("e", "event"), node("s", "suppressed"), node("held", "dashboard", title="t"),
                       node("notify", "dashboard", title="t")],
             "edges": [{"source": "e", "target": "s"}, {"source": "s", "source_port": "true", "target": "held"},
                       {"source": "s", "source_port": "false", "target": "notify"}]}
    runner = Runner(graph)
    assert runner.feed(scored("e1", false_alarm_score=0.93, likely_false_alarm=True)) == ["held"]
    assert runner.feed(scored("e2", false_alarm_score=0.93, likely_false_alarm=False)) == ["notify"]
    assert runner.feed(scored("e3")) == ["notify"]  # unscored: never held


def test_suppressed_with_min_score_holds_high_scores_whatever_the_policy() -> None:
    runner = through(node("s", "suppressed", min_score=0.8), ports={"s": "true"})
    assert runner.feed(post({"false_alarm_score": 0.85}), post({"false_alarm_score": 0.5}),
                       post({"false_alarm_score": True}), post({"likely_false_alarm": True})) == ["out", "out"]


def test_suppressed_refuses_a_min_score_outside_0_1() -> None:
    with pytest.raises(GraphError) as caught:
        validate_graph(chain(node("e", "event"), node("s", "suppressed", min_score=1.5), sink(), ports={"s": "true"}))
    assert any(field.endswith("config.min_score") for field in caught.value.problems), caught.value.problems
