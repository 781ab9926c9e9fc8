"""Translation of envelopes into feed messages, and the ?types= filter."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest

from vigia.common.messages import make
from vigia.live.wire import FEED_TYPES, feed_message, parse_types

ORG, CAM = uuid.uuid4(), uuid.uuid4()


def test_event_update_is_a_new_event_message_marked_updated() -> None:
    event = uuid.uuid4()
    env = make("event.updated", ORG, "correlator", {"event": str(event), "event_type": "intrusion",
                                                     "severity": "high", "score": 0.7,
                                                     "started_at": time.time_ns()})
    feed_type, text = feed_message(env) or ("", "")
    body = orjson.loads(text)
    assert feed_type == "new_event"
    assert body["change"] == "updated" and body["event"]["id"] == str(event)
    assert "event" not in body["event"]  # the id is under "id", as in seed 001


def test_camera_health_carries_the_transition_and_the_last_frame_time() -> None:
    last = 1_767_225_600_123_456_789
    env = make("camera.health", ORG, "watchdog", {"camera": str(CAM), "status": "online",
                                                  "previous": "provisioning", "last_frame_at": last,
                                                  "detail": "frames arriving"})
    feed_type, text = feed_message(env) or ("", "")
    assert feed_type == "camera_health"
    assert orjson.loads(text) == {
        "type": "camera_health", "id": str(env.id), "time": env.model_dump(mode="json")["time"],
        "camera_id": str(CAM), "status": "online", "previous": "provisioning",
        "last_frame_at": "2026-01-01T00:00:00.123456789Z", "detail": "frames arriving"}


def test_types_the_feed_does_not_carry_are_not_translated() -> None:
    env = make("camera.restart", ORG, "watchdog", {"camera": str(CAM)})
    assert feed_message(env) is None


def test_types_filter_accepts_known_types_and_names_unknown_ones() -> None:
    assert parse_types(None) is None and parse_types(" ") is None
    assert parse_types("new_detection, camera_health") == {"new_detection", "camera_health"}
    with pytest.raises(ValueError, match=r"^types: unknown type\(s\) nope"):
        parse_types("new_detection,nope")
    assert "plate_read" in FEED_TYPES


def test_a_triage_is_an_event_triaged_message_with_the_decision_and_who_made_it() -> None:
    event, ana = uuid.uuid4(), uuid.uuid4()
    env = make("event.triaged", ORG, "control", {
        "event": str(event), "change": "acknowledged", "event_type": "intrusion", "severity": "high",
        "status": "acknowledged", "classification": "unclassified", "acknowledged_by": str(ana),
        "acknowledged_by_email": "ana@example.com", "acknowledged_at": 1_767_225_600_123_456_789,
        "acknowledgement_note": "on my way", "updated_at": 1_767_225_600_123_456_789})
    feed_type, text = feed_message(env) or ("", "")
    assert feed_type == "event_triaged" and "event_triaged" in FEED_TYPES
    assert orjson.loads(text) == {
        "type": "event_triaged", "id": str(env.id), "time": env.model_dump(mode="json")["time"],
        "change": "acknowledged",
        "event": {"id": str(event), "event_type": "intrusion", "severity": "high", "status": "acknowledged",
                  "classification": "unclassified", "notes": "", "acknowledged_by": str(ana),
                  "acknowledged_by_email": "ana@example.com", "acknowledged_at": "2026-01-01T00:00:00.123456789Z",
                  "acknowledgement_note": "on my way", "resolved_by": None, "resolved_by_email": None,
                  "resolved_at": None, "resolution_note": "", "updated_at": "2026-01-01T00:00:00.123456789Z"}}


def test_a_stored_forecast_is_a_forecast_updated_message_with_its_anomalies() -> None:
    device, anomaly = uuid.uuid4(), uuid.uuid4()
    t = 1_767_225_600_000_000_000
    env = make("forecast.updated", ORG, "forecast", {
        "device": str(device), "metric": "mag_magnitude", "model": "auto_ets", "made_at": t, "start": t,
        "step_s": 60, "horizon": 96, "anomalies": [{"id": str(anomaly), "observed_at": t - 60 * 10**9,
                                                     "value": 80.0, "lower": 49.0, "upper": 51.0,
                                                     "severity": "critical"}]})
    feed_type, text = feed_message(env) or ("", "")
    body = orjson.loads(text)
    assert feed_type == "forecast_updated" and "forecast_updated" in FEED_TYPES
    assert body["forecast"]["device"] == str(device) and body["forecast"]["fallback"] is None
    assert body["forecast"]["anomalies"][0]["id"] == str(anomaly)
