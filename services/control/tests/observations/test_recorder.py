"""The recorder handler against the real database (no broker): each type stored, idempotent by
message id, outdated event updates ignored, device status only moved forward."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigia.common.messages import (
    AnomalyDetected,
    CameraHealth,
    DetectionCreated,
    DeviceStatusChanged,
    Envelope,
    EventChanged,
    make,
    time_ns_to_datetime,
)
from vigia.common.messages import CameraStatus as CameraStatusMessage
from vigia.control.cameras.models import Camera, CameraStatus
from vigia.control.devices.models import Device
from vigia.control.observations.models import Anomaly, Detection, DeviceStatusChange, Event
from vigia.control.observations.recorder import Recorder, UnknownOrganization, UnsupportedMessage

SECOND = 1_000_000_000


@pytest.fixture
def recorder(engine):
    return Recorder(engine)


def detection(org, **fields) -> Envelope:
    data = {"camera": uuid.uuid4(), "frame": uuid.uuid4(), "captured_at": time.time_ns(), "label": "car",
            "confidence": 0.87, "box": {"x1": 1, "y1": 2, "x2": 3, "y2": 4}, "plate_text": "abc-1d23",
            "plate_confidence": 0.7, **fields}
    return make("detection.created", org.id, "vision-test", DetectionCreated(**data))


def event_message(org, event_id, at_ns, type_="event.created", **fields) -> Envelope:
    data = {"event": event_id, "event_type": "intrusion", "severity": "high", "score": 0.7,
            "started_at": at_ns - 5 * SECOND, "site": "gate", **fields}
    return make(type_, org.id, "correlator-test", EventChanged(**data), time_ns=at_ns)


def test_detection_is_stored_with_the_envelope_id_and_a_normalised_plate(recorder, org):
    envelope = detection(org)
    assert recorder.handle(envelope) is True
    row = Detection.objects.get(pk=envelope.id)
    assert row.org_id == org.id
    assert row.camera_id == envelope.data.camera
    assert row.plate_text == "ABC1D23"
    assert row.box == {"x1": 1, "y1": 2, "x2": 3, "y2": 4}
    assert row.time == time_ns_to_datetime(envelope.data.captured_at)


def test_redelivered_detection_is_stored_once(recorder, org):
    envelope = detection(org)
    assert recorder.handle(envelope) is True
    redelivered = Envelope.from_json(envelope.to_json())
    assert recorder.handle(redelivered) is False
    assert Detection.objects.filter(pk=envelope.id).count() == 1


def test_a_face_is_a_detection_and_a_sighting_of_whom_it_matched_stored_once(recorder, org):
    from vigia.control.faces.models import FaceSighting

    person = uuid.uuid4()
    known = detection(org, label="face", plate_text=None, plate_confidence=None, track="7:face", identity=person,
                      identity_distance=0.31, crop_key="acme/face.jpg")
    unknown = detection(org, label="face", plate_text=None, plate_confidence=None, identity_distance=0.8)
    assert recorder.handle(known) is True and recorder.handle(unknown) is True
    assert recorder.handle(Envelope.from_json(known.to_json())) is False
    assert Detection.objects.filter(label="face").count() == 2
    row = FaceSighting.objects.get(pk=known.id)
    assert (row.org_id, row.person_id, row.camera_id, row.distance, row.track, row.crop_key) == (
        org.id, person, known.data.camera, 0.31, "7:face", "acme/face.jpg")
    assert row.time == time_ns_to_datetime(known.data.captured_at)
    assert FaceSighting.objects.get(pk=unknown.id).person_id is None
    assert not FaceSighting.objects.exclude(pk__in=[known.id, unknown.id]).exists()  # a car is no sighting
    assert FaceSighting.objects.count() == 2


def test_anomaly_is_stored_once(recorder, org):
    device = uuid.uuid4()
    envelope = make("anomaly.detected", org.id, "fusion-test", AnomalyDetected(
        device=device, kind="magnetic", severity="critical", score=6.5, observed_at=time.time_ns(),
        value=812.0, details={"baseline": 48.1}))
    assert recorder.handle(envelope) is True
    assert recorder.handle(envelope) is False
    row = Anomaly.objects.get(pk=envelope.id)
    assert (row.device_id, row.kind, row.severity, row.details) == (device, "magnetic", "critical",
                                                                   {"baseline": 48.1})


def test_event_is_created_then_updated_by_newer_messages(recorder, org):
    event_id = uuid.uuid4()
    t0 = time.time_ns()
    assert recorder.handle(event_message(org, event_id, t0, score=0.5)) is True
    assert recorder.handle(event_message(org, event_id, t0 + SECOND, "event.updated", score=0.9,
                                         severity="critical", ended_at=t0 + SECOND)) is True
    event = Event.objects.get(pk=event_id)
    assert (event.score, event.severity) == (0.9, "critical")
    assert event.ended_at == time_ns_to_datetime(t0 + SECOND)
    assert event.last_message_time == time_ns_to_datetime(t0 + SECOND)
    assert Event.objects.count() == 1


def test_event_update_older_than_the_stored_one_is_ignored(recorder, org):
    event_id = uuid.uuid4()
    t0 = time.time_ns()
    recorder.handle(event_message(org, event_id, t0 + 2 * SECOND, "event.updated", score=0.9))
    assert recorder.handle(event_message(org, event_id, t0 + SECOND, "event.updated", score=0.1)) is False
    assert recorder.handle(event_message(org, event_id, t0, "event.created", score=0.2)) is False
    assert Event.objects.get(pk=event_id).score == 0.9


def test_event_update_keeps_what_operators_did(recorder, org, operator):
    event_id = uuid.uuid4()
    t0 = time.time_ns()
    recorder.handle(event_message(org, event_id, t0))
    acked_at = datetime.now(UTC)
    Event.objects.filter(pk=event_id).update(status="acknowledged", classification="true_positive",
                                             notes="seen", acknowledged_by=operator, acknowledged_at=acked_at)
    recorder.handle(event_message(org, event_id, t0 + SECOND, "event.updated", score=0.99))
    event = Event.objects.get(pk=event_id)
    assert event.score == 0.99
    assert (event.status, event.classification, event.notes) == ("acknowledged", "true_positive", "seen")
    assert event.acknowledged_by_id == operator.id


def test_event_false_alarm_score_is_stored_and_kept_by_unscored_updates(recorder, org):
    event_id, model = uuid.uuid4(), uuid.uuid4()
    t0 = time.time_ns()
    recorder.handle(event_message(org, event_id, t0))
    assert Event.objects.get(pk=event_id).false_alarm_score is None
    recorder.handle(event_message(org, event_id, t0 + SECOND, "event.updated", false_alarm_score=0.87,
                                  false_alarm_model=model, likely_false_alarm=True))
    recorder.handle(event_message(org, event_id, t0 + 2 * SECOND, "event.updated", score=0.95))
    event = Event.objects.get(pk=event_id)
    assert (event.score, event.false_alarm_score, event.false_alarm_model_id, event.likely_false_alarm) == (
        0.95, 0.87, model, True)


def test_event_update_from_another_org_is_refused(recorder, org, other_org):
    event_id = uuid.uuid4()
    t0 = time.time_ns()
    recorder.handle(event_message(org, event_id, t0))
    with pytest.raises(UnknownOrganization):
        recorder.handle(event_message(other_org, event_id, t0 + SECOND, "event.updated", score=0.01))
    assert Event.objects.get(pk=event_id).org_id == org.id


def test_device_status_is_recorded_and_moves_the_device_forward_only(recorder, org):
    device = Device.objects.create(org=org, name="phone-1", kind="phone", status="ON")
    t0 = time.time_ns()

    def status(at_ns, value, last_seen_ns=None):
        return make("device.status", org.id, "watchdog-test", DeviceStatusChanged(
            device=device.id, status=value, previous="ON", last_seen=last_seen_ns,
            reason="silence"), time_ns=at_ns)

    off = status(t0, "OFF", last_seen_ns=t0 - 10 * SECOND)
    assert recorder.handle(off) is True
    device.refresh_from_db()
    assert device.status == "OFF"
    assert device.last_seen == time_ns_to_datetime(t0 - 10 * SECOND)
    # a late message decided earlier must not overwrite the newer status, nor move last_seen back
    late = status(t0 - 5 * SECOND, "WARNING", last_seen_ns=t0 - 60 * SECOND)
    assert recorder.handle(late) is True
    device.refresh_from_db()
    assert device.status == "OFF"
    assert device.last_seen == time_ns_to_datetime(t0 - 10 * SECOND)
    # both transitions are history
    assert list(DeviceStatusChange.objects.filter(device_id=device.id).values_list("status", flat=True)) == [
        "OFF", "WARNING"]
    # redelivery: one history row
    assert recorder.handle(off) is False
    assert DeviceStatusChange.objects.filter(device_id=device.id).count() == 2


def test_message_for_an_unknown_org_raises_and_stores_nothing(recorder, org):
    envelope = detection(org)
    stray = Envelope.model_validate({**envelope.model_dump(), "org": uuid.uuid4()})
    with pytest.raises(UnknownOrganization):
        recorder.handle(stray)
    assert not Detection.objects.filter(pk=stray.id).exists()


def test_unsupported_message_type_raises(recorder, org):
    envelope = make("camera.restart", org.id, "watchdog-test", {"camera": uuid.uuid4(), "reason": "frozen"})
    with pytest.raises(UnsupportedMessage):
        recorder.handle(envelope)


def test_camera_health_stores_status_and_last_frame_once_and_nothing_else(recorder, org, other_org):
    camera = Camera.objects.create(org=org, name="gate", rtsp_url_encrypted="x", version=3)
    before = Camera.objects.get(pk=camera.pk)
    t0 = time.time_ns()

    def health(at_ns, status, last_frame_ns=None, owner=org):
        return make("camera.health", owner.id, "watchdog-test", CameraHealth(
            camera=camera.id, status=status, previous="provisioning", last_frame_at=last_frame_ns),
            time_ns=at_ns)

    online = health(t0, "online", last_frame_ns=t0 - SECOND)
    assert recorder.handle(online) is True
    camera.refresh_from_db()
    assert (camera.status, camera.version, camera.updated_at) == ("online", 3, before.updated_at)
    assert camera.last_frame_at == time_ns_to_datetime(t0 - SECOND)
    assert camera.status_changed_at == time_ns_to_datetime(t0)
    assert recorder.handle(online) is False  # redelivery changes nothing
    # a late report decided earlier must not overwrite the newer status, nor move last_frame_at back
    assert recorder.handle(health(t0 - 5 * SECOND, "error", last_frame_ns=t0 - 60 * SECOND)) is False
    camera.refresh_from_db()
    assert (camera.status, camera.last_frame_at) == ("online", time_ns_to_datetime(t0 - SECOND))
    assert recorder.handle(health(t0 + 20 * SECOND, "offline", last_frame_ns=t0 - SECOND)) is True
    camera.refresh_from_db()
    assert camera.status == "offline"
    assert recorder.handle(health(t0 + 30 * SECOND, "online", owner=other_org)) is False  # another org's
    camera.refresh_from_db()
    assert (camera.status, camera.version, camera.updated_at) == ("offline", 3, before.updated_at)


def test_camera_status_choices_are_the_statuses_camera_health_announces():
    assert set(CameraStatus.values) == {status.value for status in CameraStatusMessage}


def test_async_handler_stores_like_handle(recorder, org):
    import asyncio

    envelope = detection(org, captured_at=time.time_ns() - int(timedelta(hours=1).total_seconds() * SECOND))
    asyncio.run(recorder(envelope, None))
    assert Detection.objects.filter(pk=envelope.id).exists()
