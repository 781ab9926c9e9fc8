"""Every registered message type round-trips through JSON (and frames through AMQP headers);
bad input is refused naming the field."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from vigia.common.channels import ACTION_KINDS
from vigia.common.ids import uuid7
from vigia.common.messages import (
    MESSAGE_TYPES,
    Envelope,
    FrameCaptured,
    envelope_from_headers,
    envelope_headers,
    format_time_ns,
    make,
    time_ns_to_datetime,
)

ORG = uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057")
CAM, DEV, PIPE, EVT = uuid7(), uuid7(), uuid7(), uuid7()
T = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z

CAMERA = {"camera": str(CAM), "name": "gate", "fps": 5, "site": "hq"}
DEVICE = {"device": str(DEV), "name": "phone-1", "kind": "phone", "site": "hq", "config": {"rate": 50}}
PIPELINE = {"pipeline": str(PIPE), "name": "intrusion", "state": "running",
            "graph": {"nodes": [{"id": "n1", "type": "camera"}], "edges": []}, "version": 3}
ACTION = {"pipeline": str(PIPE), "node": "notify", "event": str(EVT), "channel": str(uuid7()),
          "recipients": ["+5511999990000"], "template": "{{ title }}", "payload": {"title": "intrusion"},
          "locale": "en"}
EVENT = {"event": str(EVT), "event_type": "intrusion", "severity": "high", "score": 0.9, "started_at": T,
         "ended_at": T + 5_000_000_000, "site": "hq", "description": "person at the gate",
         "sources": [{"kind": "person", "ref": str(uuid7()), "camera": str(CAM), "weight": 0.7},
                     {"kind": "magnetic", "ref": "a-1", "device": str(DEV), "weight": 0.3}]}

# One valid data payload per registered type, as a producer would send it (JSON-shaped).
EXAMPLES: dict[str, dict[str, Any]] = {
    "frame.captured": {"camera": str(CAM), "width": 1920, "height": 1080, "seq": 42},
    "detection.created": {"camera": str(CAM), "frame": str(uuid7()), "captured_at": T, "label": "car",
                          "confidence": 0.93, "box": {"x1": 10, "y1": 20, "x2": 110.5, "y2": 220},
                          "plate_text": "ABC1D23", "plate_confidence": 0.8, "track": "t-7",
                          "snapshot_key": "org/cam/2026/01/01/a.jpg", "crop_key": "org/cam/crop.jpg"},
    "plate.read": {"camera": str(CAM), "visit": "v-1", "plate_text": "ABC1D23", "confidence": 0.9, "votes": 5,
                   "first_seen": T, "last_seen": T + 2_000_000_000, "snapshot_key": "k.jpg", "label": "car",
                   "agreeing": 3, "runner_ups": [{"plate_text": "ABC1O23", "readings": 1, "confidence": 0.6}],
                   "crop_key": "k-0.jpg", "final": True},
    "anomaly.detected": {"device": str(DEV), "kind": "magnetic", "severity": "medium", "score": 4.2,
                         "observed_at": T, "value": 93.1, "details": {"baseline": 48.0}},
    "event.created": EVENT,
    "event.updated": {**EVENT, "score": 0.95, "false_alarm_score": 0.91, "false_alarm_model": str(PIPE),
                      "likely_false_alarm": True},
    "event.triaged": {"event": str(EVT), "change": "resolved", "event_type": "intrusion", "severity": "high",
                      "status": "resolved", "classification": "false_positive", "notes": "a cat",
                      "acknowledged_by": str(uuid7()), "acknowledged_by_email": "ana@example.com",
                      "acknowledged_at": T, "acknowledgement_note": "on my way", "resolved_by": str(uuid7()),
                      "resolved_by_email": "bia@example.com", "resolved_at": T + 60_000_000_000,
                      "resolution_note": "cat on the fence", "updated_at": T + 60_000_000_000},
    "device.status": {"device": str(DEV), "status": "WARNING", "previous": "ON", "last_seen": T,
                      "reason": "battery low"},
    "camera.health": {"camera": str(CAM), "status": "offline", "previous": "online", "last_frame_at": T,
                      "detail": "no frame in 30 s"},
    "camera.created": CAMERA,
    "camera.updated": {**CAMERA, "fps": 10, "version": 2},
    "camera.deleted": {"camera": str(CAM)},
    "camera.restart": {"camera": str(CAM), "reason": "frozen"},
    "device.created": DEVICE,
    "device.updated": {**DEVICE, "version": 2},
    "device.deleted": {"device": str(DEV)},
    "pipeline.created": PIPELINE,
    "pipeline.updated": PIPELINE,
    "pipeline.started": PIPELINE,
    "pipeline.stopped": {**PIPELINE, "state": "stopped"},
    "pipeline.deleted": {"pipeline": str(PIPE)},
    "pipeline.status": {"pipeline": str(PIPE), "state": "fired", "node": "notify", "error": None,
                        "time": "2026-01-01T00:00:00.123456789Z"},
    "automation.probe": {"reason": "pipeline_started"},
    "forecast.requested": {"device": str(DEV), "metric": "mag_magnitude"},
    "training.requested": {"run": str(PIPE)},
    "model.activated": {"model": str(PIPE), "version": 2},
    "forecast.updated": {"device": str(DEV), "metric": "mag_magnitude", "model": "seasonal_naive",
                         "fallback": "history of 40 steps, ttm needs 512", "made_at": T, "start": T,
                         "step_s": 60, "horizon": 96,
                         "anomalies": [{"id": str(uuid7()), "observed_at": T, "value": 93.1, "lower": 40.0,
                                        "upper": 60.0, "severity": "high"}]},
    "pipeline.hook": {"pipeline": str(PIPE), "node": "hook", "body": {"door": "open", "count": 2}},
    "watchlist.created": {"watchlist": str(PIPE), "name": "stolen", "kind": "deny"},
    "watchlist.updated": {"watchlist": str(PIPE), "name": "residents", "kind": "allow", "version": 3},
    "watchlist.deleted": {"watchlist": str(PIPE)},
    "sensor.batch": {"device": str(DEV), "packets": [
        {"timestamp": T, "seq": 1, "magnetometer": {"x": 1, "y": 2, "z": 3, "magnitude": 3.7},
         "accelerometer": {"x": 0, "y": 0, "z": 9.8}, "gyroscope": {"x": 0.1, "y": 0, "z": 0},
         "orientation": {"roll": 0, "pitch": 1, "yaw": 2}, "audio_peak": 0.4, "humanoid_detected": True,
         "bluetooth_devices_count": 3},
        {"timestamp": T + 20_000_000, "seq": 2}]},
    "sensor.audio": {"device": str(DEV), "seq": 3, "timestamp": T, "sample_rate": 16000, "samples": 8000},
    **{f"action.{kind}": ACTION for kind in ACTION_KINDS},
}

# For each type, one field made invalid, and the path the error must name.
INVALID: dict[str, tuple[str, Any]] = {
    "frame.captured": ("width", 0),
    "detection.created": ("confidence", 1.5),
    "plate.read": ("plate_text", "AB1"),
    "anomaly.detected": ("kind", "telepathy"),
    "event.created": ("severity", "apocalyptic"),
    "event.updated": ("score", -1),
    "event.triaged": ("status", "closed"),
    "device.status": ("status", "on"),
    "camera.health": ("status", "fine"),
    "camera.created": ("fps", 0),
    "camera.updated": ("fps", 61),
    "camera.deleted": ("camera", "not-a-uuid"),
    "camera.restart": ("reason", "x" * 257),
    "device.created": ("kind", "toaster"),
    "device.updated": ("version", 0),
    "device.deleted": ("device", 12),
    "pipeline.created": ("state", "flying"),
    "pipeline.updated": ("graph", "not a graph"),
    "pipeline.started": ("version", 0),
    "pipeline.stopped": ("name", None),
    "pipeline.deleted": ("pipeline", ""),
    "pipeline.status": ("state", "exploded"),
    "automation.probe": ("reason", "curiosity"),
    "forecast.requested": ("metric", ""),
    "training.requested": ("run", "not-a-uuid"),
    "model.activated": ("version", 0),
    "forecast.updated": ("step_s", 0),
    "pipeline.hook": ("body", [1, 2]),
    "watchlist.created": ("kind", "maybe"),
    "watchlist.updated": ("version", 0),
    "watchlist.deleted": ("watchlist", "nope"),
    "sensor.batch": ("packets", []),
    "sensor.audio": ("sample_rate", 4000),
    **{f"action.{kind}": bad for kind, bad in zip(ACTION_KINDS, itertools.cycle((
        ("channel", None), ("recipients", ["x" * 321]), ("locale", "fr"), ("payload", [1, 2]),
        ("pipeline", "nope"))), strict=False)},
}


def test_every_registered_type_has_an_example_and_an_invalid_case() -> None:
    # Adding a message type without extending these tables fails here, not in production.
    assert set(EXAMPLES) == set(MESSAGE_TYPES)
    assert set(INVALID) == set(MESSAGE_TYPES)


@pytest.mark.parametrize("type_", sorted(MESSAGE_TYPES))
def test_every_type_round_trips_through_json(type_: str) -> None:
    envelope = make(type_, ORG, "test-source", EXAMPLES[type_])

    raw = envelope.to_json()
    again = Envelope.from_json(raw)

    assert again == envelope
    assert isinstance(again.data, MESSAGE_TYPES[type_])
    assert again.to_json() == raw
    payload = orjson.loads(raw)
    assert set(payload) == {"id", "type", "v", "org", "source", "time", "trace", "data"}
    assert uuid.UUID(payload["id"]).version == 7


@pytest.mark.parametrize("type_", sorted(MESSAGE_TYPES))
def test_data_fields_survive_a_round_trip_exactly(type_: str) -> None:
    envelope = Envelope.from_json(make(type_, ORG, "s", EXAMPLES[type_]).to_json())
    expected = MESSAGE_TYPES[type_].model_validate(EXAMPLES[type_])
    assert envelope.data.model_dump() == expected.model_dump()


@pytest.mark.parametrize("type_", sorted(MESSAGE_TYPES))
def test_invalid_data_is_refused_naming_the_field(type_: str) -> None:
    field, bad = INVALID[type_]
    with pytest.raises(ValidationError) as caught:
        make(type_, ORG, "s", {**EXAMPLES[type_], field: bad})
    assert f"data.{field}" in str(caught.value)


@pytest.mark.parametrize("type_", sorted(MESSAGE_TYPES))
def test_unknown_data_fields_are_refused(type_: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make(type_, ORG, "s", {**EXAMPLES[type_], "surprise": 1})
    assert "data.surprise" in str(caught.value)


@pytest.mark.parametrize("type_", ["camera.created", "camera.updated"])
def test_camera_changes_never_carry_the_rtsp_url_even_when_a_legacy_message_did(type_: str) -> None:
    legacy = orjson.dumps({**orjson.loads(make(type_, ORG, "control", CAMERA).to_json()),
                           "data": {**CAMERA, "rtsp_url": "rtsp://u:s3cret@cam/1"}})

    envelope = Envelope.from_json(legacy)

    assert "rtsp_url" not in envelope.data.model_dump()
    assert b"s3cret" not in envelope.to_json()
    assert b"s3cret" not in make(type_, ORG, "control", {**CAMERA, "rtsp_url": "rtsp://u:s3cret@cam/1"}).to_json()


@pytest.mark.parametrize(("legacy", "status"), [("ok", "online"), ("stale", "offline"), ("down", "offline"),
                                                 ("restarting", "offline")])
def test_camera_health_of_the_earlier_watchdog_is_read_as_a_camera_status(legacy: str, status: str) -> None:
    envelope = make("camera.health", ORG, "watchdog", {"camera": str(CAM), "status": legacy})

    assert envelope.data.status == status


def test_nested_errors_name_the_full_path() -> None:
    data = {**EXAMPLES["detection.created"], "box": {"x1": -1, "y1": 0, "x2": 1, "y2": 1}}
    with pytest.raises(ValidationError, match=r"data\.box\.x1"):
        make("detection.created", ORG, "s", data)
    batch = {"device": str(DEV), "packets": [{"timestamp": T, "seq": -1}]}
    with pytest.raises(ValidationError, match=r"data\.packets\.0\.seq"):
        make("sensor.batch", ORG, "s", batch)


def test_unknown_message_type_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"unknown message type 'detection\.deleted'"):
        make("detection.deleted", ORG, "s", {})
    raw = orjson.loads(make("camera.deleted", ORG, "s", {"camera": str(CAM)}).to_json())
    with pytest.raises(ValidationError, match="unknown message type"):
        Envelope.from_json(orjson.dumps({**raw, "type": "camera.exploded"}))


@pytest.mark.parametrize(("field", "value"), [
    ("org", "not-a-uuid"), ("source", ""), ("v", 0), ("trace", "00-zz-yy-01"), ("time", -1),
    ("time", "yesterday"), ("time", "2026-01-01T00:00:00"), ("id", "x"),
])
def test_invalid_envelope_fields_are_refused_naming_the_field(field: str, value: Any) -> None:
    raw = orjson.loads(make("camera.deleted", ORG, "s", {"camera": str(CAM)}).to_json())
    with pytest.raises(ValidationError) as caught:
        Envelope.from_json(orjson.dumps({**raw, field: value}))
    assert field in str(caught.value)


def test_unknown_envelope_fields_are_refused() -> None:
    raw = orjson.loads(make("camera.deleted", ORG, "s", {"camera": str(CAM)}).to_json())
    with pytest.raises(ValidationError, match="extra"):
        Envelope.from_json(orjson.dumps({**raw, "priority": 9}))


@pytest.mark.parametrize("raw", [b"not json", b"[1,2]", b'"text"', b""])
def test_non_object_payloads_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        Envelope.from_json(raw)


def test_data_given_as_a_model_instance_is_kept() -> None:
    frame = FrameCaptured(camera=CAM, width=640, height=480)
    envelope = make("frame.captured", ORG, "streamer", frame)
    assert envelope.data is frame


def test_messages_are_immutable() -> None:
    envelope = make("camera.deleted", ORG, "s", {"camera": str(CAM)})
    with pytest.raises(ValidationError):
        envelope.source = "other"  # type: ignore[misc]


# -- time ------------------------------------------------------------------------------------


def test_nanosecond_time_is_preserved_through_json() -> None:
    envelope = make("detection.created", ORG, "s", EXAMPLES["detection.created"], time_ns=T)
    payload = orjson.loads(envelope.to_json())

    assert payload["time"] == "2026-01-01T00:00:00.123456789Z"
    assert payload["data"]["captured_at"] == "2026-01-01T00:00:00.123456789Z"
    again = Envelope.from_json(envelope.to_json())
    assert again.time == T
    assert again.data.captured_at == T  # type: ignore[attr-defined]


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-01-01T00:00:00Z", 1_767_225_600_000_000_000),
    ("2026-01-01T00:00:00.5Z", 1_767_225_600_500_000_000),
    ("2026-01-01T00:00:00.000000001Z", 1_767_225_600_000_000_001),
    ("2026-01-01T02:00:00.123456789+02:00", T),
    ("2026-01-01 00:00:00.123456789Z", T),
])
def test_rfc3339_times_are_read_to_the_nanosecond(text: str, expected: int) -> None:
    assert make("camera.deleted", ORG, "s", {"camera": str(CAM)}, time_ns=None).time > 0
    envelope = Envelope.model_validate({"type": "camera.deleted", "org": ORG, "source": "s", "time": text,
                                        "data": {"camera": CAM}})
    assert envelope.time == expected


@pytest.mark.parametrize("micro", [0, 1, 123456, 999999])
def test_datetimes_are_read_exactly(micro: int) -> None:
    moment = datetime(2026, 1, 1, 0, 0, 0, micro, tzinfo=UTC)
    envelope = Envelope.model_validate({"type": "camera.deleted", "org": ORG, "source": "s", "time": moment,
                                        "data": {"camera": CAM}})
    assert envelope.time == 1_767_225_600_000_000_000 + micro * 1000
    assert time_ns_to_datetime(envelope.time) == moment


def test_datetimes_in_other_zones_are_converted_to_utc() -> None:
    moment = datetime(2026, 1, 1, 2, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    envelope = Envelope.model_validate({"type": "camera.deleted", "org": ORG, "source": "s", "time": moment,
                                        "data": {"camera": CAM}})
    assert envelope.time == 1_767_225_600_123_456_000


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), True, 1.5, "2026-13-01T00:00:00Z",
                                   "1969-12-31T23:59:59.5Z", datetime(1969, 12, 31, 23, 59, 59, 500000,
                                                                      tzinfo=UTC)])
def test_naive_malformed_and_pre_epoch_times_are_refused(value: Any) -> None:
    with pytest.raises(ValidationError, match="time"):
        Envelope.model_validate({"type": "camera.deleted", "org": ORG, "source": "s", "time": value,
                                 "data": {"camera": CAM}})


def test_format_time_ns_writes_nine_fractional_digits() -> None:
    assert format_time_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert format_time_ns(T) == "2026-01-01T00:00:00.123456789Z"


# -- frames in AMQP headers ------------------------------------------------------------------


def test_frame_envelope_round_trips_through_amqp_headers() -> None:
    envelope = make("frame.captured", ORG, "streamer-1", EXAMPLES["frame.captured"], time_ns=T)

    headers = envelope_headers(envelope)

    assert all(isinstance(v, str) for v in headers.values())  # AMQP tables carry them unchanged
    assert headers["x-vigia-time"] == "2026-01-01T00:00:00.123456789Z"
    again = envelope_from_headers(headers)
    assert again == envelope
    assert again.time == T


def test_audio_chunk_envelope_round_trips_through_amqp_headers() -> None:
    envelope = make("sensor.audio", ORG, "ingest-sensors", EXAMPLES["sensor.audio"], time_ns=T)
    assert envelope_from_headers(envelope_headers(envelope)) == envelope


def test_frame_headers_read_back_from_bytes_values() -> None:
    envelope = make("frame.captured", ORG, "streamer-1", EXAMPLES["frame.captured"])
    as_bytes = {k: v.encode() for k, v in envelope_headers(envelope).items()}
    assert envelope_from_headers(as_bytes) == envelope


def test_frame_without_trace_round_trips_through_headers() -> None:
    envelope = Envelope(type="frame.captured", org=ORG, source="cam", trace=None,
                        data=EXAMPLES["frame.captured"])
    assert envelope_from_headers(envelope_headers(envelope)) == envelope


@pytest.mark.parametrize(("header", "value", "field"), [
    ("x-vigia-data", "{not json", "data"),
    ("x-vigia-v", "one", "v"),
    ("x-vigia-org", "nope", "org"),
    ("x-vigia-data", '{"camera": "x", "width": 1, "height": 1}', "data.camera"),
])
def test_bad_frame_headers_are_refused_naming_the_field(header: str, value: str, field: str) -> None:
    headers = envelope_headers(make("frame.captured", ORG, "s", EXAMPLES["frame.captured"]))
    headers[header] = value
    with pytest.raises(ValueError) as caught:
        envelope_from_headers(headers)
    assert re.search(rf"(^|\s){re.escape(field)}(\s|:|$)", str(caught.value)), str(caught.value)


def test_missing_frame_headers_are_refused() -> None:
    headers = envelope_headers(make("frame.captured", ORG, "s", EXAMPLES["frame.captured"]))
    del headers["x-vigia-org"]
    with pytest.raises(ValueError, match="org"):
        envelope_from_headers(headers)
