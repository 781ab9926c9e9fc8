"""Input nodes take their kinds of item from their sources; events escalate when nobody acknowledges
them in time; plate reads meet the watch-lists, look-alike characters and all."""

from __future__ import annotations

import uuid
from typing import Any

from services.common.tests.pipelines.support import CAMERA, NIGHT, Runner, chain, item, node, seconds, sink, tick

DEVICE, OTHER = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def anomaly(device: str, kind: str = "magnetic", severity: str = "high") -> Any:
    return item("anomaly", {"device": device, "kind": kind, "severity": severity, "score": 5.0}, source=device)


def test_sensor_data_filters_devices_kinds_and_severity() -> None:
    runner = Runner(chain(node("s", "sensor_data", devices=[DEVICE], anomaly_kinds=["magnetic"],
                               min_severity="medium"), sink()))
    assert runner.feed(anomaly(DEVICE), anomaly(OTHER), anomaly(DEVICE, "imu"), anomaly(DEVICE, severity="low")) \
        == ["out"]
    telemetry = item("telemetry", {"device": DEVICE, "metric": "temperature", "value": 21.5}, source=DEVICE)
    assert runner.feed(telemetry) == []
    with_telemetry = Runner(chain(node("s", "sensor_data", streams=["telemetry"]), sink()))
    assert with_telemetry.feed(telemetry, anomaly(DEVICE)) == ["out"]


def test_a_webhook_post_reaches_only_the_node_it_names() -> None:
    graph = {"nodes": [node("h1", "api_webhook"), node("h2", "api_webhook"), node("o1", "dashboard"),
                       node("o2", "dashboard")],
             "edges": [{"source": "h1", "target": "o1"}, {"source": "h2", "target": "o2"}]}
    assert Runner(graph).feed(item("webhook", {"door": "open"}, source="h2")) == ["o2"]


def test_plate_input_by_camera_and_confidence() -> None:
    runner = Runner(chain(node("p", "plate", cameras=[CAMERA], min_confidence=0.8), sink()))
    read = {"camera": CAMERA, "plate_text": "ABC1D23", "visit": "v1", "votes": 3}
    assert runner.feed(item("plate", {**read, "confidence": 0.9}, source=CAMERA),
                       item("plate", {**read, "confidence": 0.5}, source=CAMERA),
                       item("plate", {**read, "confidence": 0.9}, source=OTHER)) == ["out"]


def test_status_reads_device_and_camera_status_by_kind_source_and_status() -> None:
    runner = Runner(chain(node("s", "status", devices=[DEVICE], statuses=["OFF", "offline"]), sink()))
    device_off = item("device_status", {"device": DEVICE, "status": "OFF"}, source=DEVICE)
    other_off = item("device_status", {"device": OTHER, "status": "OFF"}, source=OTHER)
    camera_offline = item("camera_health", {"camera": CAMERA, "status": "offline"}, source=CAMERA)
    device_on = item("device_status", {"device": DEVICE, "status": "ON"}, source=DEVICE)
    assert [p["kind"] for p in runner.payloads(device_off, other_off, camera_offline, device_on)] == \
        ["device_status", "camera_health"]


def event(event_id: str, at: Any = NIGHT, **fields: Any) -> Any:
    data = {"event": event_id, "event_type": "intrusion", "severity": "high", "score": 0.9,
            "started_at": at.isoformat(), "site": "hq", **fields}
    return item("event", data, at)


def test_event_input_hands_on_changes_by_type_site_and_severity() -> None:
    runner = Runner(chain(node("e", "event", event_types=["intrusion"], min_severity="high", sites=["hq"]), sink()))
    assert runner.feed(event("e1"), event("e2", severity="medium"), event("e3", site="branch"),
                       event("e4", event_type="noise")) == ["out"]


def test_an_event_unacknowledged_for_its_delay_escalates_once() -> None:
    runner = Runner(chain(node("e", "event", mode="unacknowledged", unacknowledged_for=300), sink()))
    assert runner.plan.needs_ticks()
    assert runner.feed(event("e1"), event("e2"), tick(NIGHT + seconds(299))) == []
    runner.feed(event("e2", NIGHT + seconds(100), acknowledged_at=(NIGHT + seconds(100)).isoformat()))
    escalated = runner.payloads(tick(NIGHT + seconds(300)))
    assert [(p["event"], p["unacknowledged_for_s"]) for p in escalated] == [("e1", 300.0)]
    assert runner.feed(tick(NIGHT + seconds(301)), event("e1", NIGHT + seconds(302))) == []
    runner.feed(event("e1", NIGHT + seconds(400), resolved_at=(NIGHT + seconds(400)).isoformat()))
    assert runner.state.snapshot() == {}


def test_an_escalated_event_nobody_handles_is_forgotten_after_a_week() -> None:
    runner = Runner(chain(node("e", "event", mode="unacknowledged", unacknowledged_for=60), sink()))
    runner.feed(event("e1"))
    assert runner.feed(tick(NIGHT + seconds(60))) == ["out"]
    runner.feed(tick(NIGHT + seconds(60 + 7 * 86_400)))
    assert runner.state.snapshot() != {}
    runner.feed(tick(NIGHT + seconds(61 + 7 * 86_400)))
    assert runner.state.snapshot() == {}


def test_the_escalation_delay_defaults_to_the_organizations() -> None:
    runner = Runner(chain(node("e", "event", mode="unacknowledged"), sink()), escalation_delay_s=60)
    runner.feed(event("e1"))
    assert runner.feed(tick(NIGHT + seconds(59))) == [] and runner.feed(tick(NIGHT + seconds(60))) == ["out"]


WATCHLISTS = {
    "stolen": {"kind": "deny", "entries": {"ABC1D23": {"label": "stolen pickup", "expires_at": None},
                                           "QRS5T00": {"label": "expired alert",
                                                       "expires_at": "2026-12-01T00:00:00Z"}}},
    "staff": {"kind": "allow", "entries": {"BRA2E19": {"label": "director", "expires_at": None}}},
}


def plates(**config: Any) -> Runner:
    return Runner(chain(node("p", "plate"), node("m", "plate_match", **config), sink()), watchlists=WATCHLISTS)


def read(text: str) -> Any:
    return item("plate", {"camera": CAMERA, "plate_text": text, "confidence": 0.9}, source=CAMERA)


def test_plate_match_finds_listed_plates_through_look_alike_characters() -> None:
    runner = plates(watchlists=["stolen"])
    exact, lookalike = runner.payloads(read("ABC-1D23"), read("A8C1023"))  # B read as 8, D read as 0
    assert (exact["listed_label"], exact["exact"], exact["watchlist_kind"]) == ("stolen pickup", True, "deny")
    assert (lookalike["listed_plate"], lookalike["exact"]) == ("ABC1D23", False)
    assert runner.feed(read("ABC1D24"), read("XYZ9A99")) == []
    assert plates(watchlists=["stolen"], look_alikes=False).feed(read("A8C1023")) == []


def test_an_expired_watch_list_entry_is_ignored() -> None:
    assert plates(watchlists=["stolen"]).feed(read("QRS5T00")) == []
    before = item("plate", {"camera": CAMERA, "plate_text": "QRS5T00"},
                  at=NIGHT.replace(year=2026, month=11, day=30), source=CAMERA)
    assert plates(watchlists=["stolen"]).feed(before) == ["out"]


def test_unlisted_reads_are_those_on_no_list() -> None:
    runner = plates(watchlists=["staff"], on="unlisted")
    assert [p["plate_text"] for p in runner.payloads(read("BRA2E19"), read("8RA2E19"), read("XYZ9A99"))] == \
        ["XYZ9A99"]


def test_watch_lists_are_found_by_name_or_id() -> None:
    by_id = {"0190": {"id": "0190", "name": "vip", "kind": "allow", "entries": {"ABC1D23": {}}}}
    for ref in ("0190", "vip"):
        runner = Runner(chain(node("p", "plate"), node("m", "plate_match", watchlists=[ref]), sink()),
                        watchlists=by_id)
        assert [p["watchlist"] for p in runner.payloads(read("ABC1D23"))] == ["vip"]


def test_a_dashboard_event_takes_the_severity_of_the_event_it_escalates() -> None:
    runner = Runner(chain(node("e", "event"), node("out", "dashboard", title="Escalated")))
    assert [p["severity"] for p in runner.payloads(event("e1", severity="critical"))] == ["critical"]
