"""Events read API and the operator actions acknowledge / classify; anomalies, telemetry and the
device status history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigia.control.observations.models import DeviceStatusChange, Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_events_filter_by_severity_status_site_and_time(api, viewer, make_event, other_org):
    high = make_event(severity="high", site="gate-1", time=ago(hours=1))
    critical = make_event(severity="critical", site="gate-2", status="acknowledged", time=ago(hours=2))
    make_event(severity="low", site="gate-1", time=ago(days=3))
    make_event(org=other_org, severity="high", site="gate-1")
    client = api(viewer)
    assert ids(client.get(URL, {"severity": "high"})) == [str(high.id)]
    assert ids(client.get(URL + "?severity=high&severity=critical")) == [str(high.id), str(critical.id)]
    assert ids(client.get(URL, {"status": "acknowledged"})) == [str(critical.id)]
    assert ids(client.get(URL, {"site": "gate-1", "since": ago(days=1).isoformat()})) == [str(high.id)]


def test_events_filter_by_a_camera_or_device_among_their_sources(api, viewer, make_event, other_org):
    camera, device = uuid.uuid4(), uuid.uuid4()
    seen = make_event(time=ago(minutes=1), sources=[
        {"kind": "magnetic", "ref": "a1", "device": str(device), "camera": None, "weight": 0.5},
        {"kind": "person", "ref": "d1", "device": None, "camera": str(camera), "weight": 0.5}])
    heard = make_event(time=ago(minutes=2), sources=[{"kind": "audio", "ref": "a2", "device": str(device)}])
    make_event(time=ago(minutes=3), sources=[{"kind": "person", "ref": "d2", "camera": str(uuid.uuid4())}])
    make_event(org=other_org, sources=[{"kind": "person", "ref": "d3", "camera": str(camera)}])
    client = api(viewer)
    assert ids(client.get(URL, {"camera": str(camera)})) == [str(seen.id)]
    assert ids(client.get(URL, {"device": str(device)})) == [str(seen.id), str(heard.id)]
    assert ids(client.get(URL, {"device": str(device), "camera": str(camera)})) == [str(seen.id)]
    assert ids(client.get(URL, {"camera": str(uuid.uuid4())})) == []


def test_events_show_and_filter_by_their_false_alarm_score(api, viewer, make_event, other_org):
    model = uuid.uuid4()
    held = make_event(time=ago(minutes=1), false_alarm_score=0.93, false_alarm_model_id=model,
                      likely_false_alarm=True)
    kept = make_event(time=ago(minutes=2), false_alarm_score=0.12, false_alarm_model_id=model)
    unscored = make_event(time=ago(minutes=3))
    make_event(org=other_org, likely_false_alarm=True)
    client = api(viewer)
    assert ids(client.get(URL, {"likely_false_alarm": "true"})) == [str(held.id)]
    assert ids(client.get(URL, {"likely_false_alarm": "false"})) == [str(kept.id), str(unscored.id)]
    row = client.get(f"{URL}{held.id}/").json()
    assert (row["false_alarm_score"], row["false_alarm_model"], row["likely_false_alarm"]) == (0.93, str(model), True)
    row = client.get(f"{URL}{unscored.id}/").json()
    assert (row["false_alarm_score"], row["false_alarm_model"], row["likely_false_alarm"]) == (None, None, False)


def test_events_name_who_acknowledged_and_resolved_them_in_the_list_and_the_detail(api, operator, viewer,
                                                                                   make_event):
    acknowledged, resolved, untouched = make_event(), make_event(), make_event()
    act = api(operator)
    assert act.post(f"{URL}{acknowledged.id}/acknowledge/", {"note": "seen"}, format="json").status_code == 200
    assert act.post(f"{URL}{resolved.id}/resolve/", {}, format="json").status_code == 200
    client = api(viewer)
    rows = {row["id"]: row for row in client.get(URL).json()["results"]}
    who = {ident: (row["acknowledged_by_email"], row["resolved_by_email"]) for ident, row in rows.items()}
    assert who == {str(acknowledged.id): (operator.email, None), str(resolved.id): (operator.email, operator.email),
                   str(untouched.id): (None, None)}
    for ident, row in rows.items():
        assert client.get(f"{URL}{ident}/").json() == row


@pytest.mark.parametrize(("param", "value"), [("severity", "apocalyptic"), ("status", "done"),
                                              ("since", "last tuesday"), ("camera", "gate"),
                                              ("device", "12")])
def test_bad_event_filter_is_400_naming_it(api, viewer, param, value):
    response = api(viewer).get(URL, {param: value})
    assert response.status_code == 400
    assert param in response.json()["error"]["fields"]


def test_operator_acknowledges_an_event_and_who_and_when_are_recorded(api, operator, make_event):
    event = make_event()
    before = datetime.now(UTC)
    response = api(operator).post(f"{URL}{event.id}/acknowledge", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == str(operator.id)
    event.refresh_from_db()
    assert event.acknowledged_by_id == operator.id
    assert event.acknowledged_at is not None and event.acknowledged_at >= before


def test_second_acknowledgement_keeps_the_first(api, operator, make_user, make_event):
    event = make_event()
    api(operator).post(f"{URL}{event.id}/acknowledge")
    first_at = Event.objects.get(pk=event.pk).acknowledged_at
    other = make_user(role="operator")
    response = api(other).post(f"{URL}{event.id}/acknowledge")
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.acknowledged_by_id == operator.id
    assert event.acknowledged_at == first_at


def test_acknowledge_refuses_unknown_body_fields(api, operator, make_event):
    event = make_event()
    response = api(operator).post(f"{URL}{event.id}/acknowledge", {"status": "resolved"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["error"]["fields"]
    assert Event.objects.get(pk=event.pk).status == "open"


def test_operator_classifies_an_event_with_notes(api, operator, make_event):
    event = make_event()
    response = api(operator).post(f"{URL}{event.id}/classify",
                                  {"classification": "false_positive", "notes": "a cat"}, format="json")
    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert (event.classification, event.notes) == ("false_positive", "a cat")
    # classifying an open event also acknowledges it
    assert event.status == "acknowledged" and event.acknowledged_by_id == operator.id
    assert response.json()["acknowledged_by_email"] == operator.email


def test_classify_with_unknown_classification_is_400_and_changes_nothing(api, operator, make_event):
    event = make_event()
    response = api(operator).post(f"{URL}{event.id}/classify", {"classification": "maybe"}, format="json")
    assert response.status_code == 400
    assert "classification" in response.json()["error"]["fields"]
    event.refresh_from_db()
    assert event.classification == "unclassified" and event.status == "open"


def test_viewer_cannot_acknowledge_or_classify(api, viewer, make_event):
    event = make_event()
    client = api(viewer)
    assert client.post(f"{URL}{event.id}/acknowledge").status_code == 403
    assert client.post(f"{URL}{event.id}/classify", {"classification": "test"},
                       format="json").status_code == 403
    event.refresh_from_db()
    assert event.status == "open" and event.classification == "unclassified"


def test_another_orgs_event_is_404_for_read_and_actions(api, outsider, make_event):
    event = make_event()
    client = api(outsider)
    assert client.get(f"{URL}{event.id}/").status_code == 404
    assert client.post(f"{URL}{event.id}/acknowledge").status_code == 404
    assert client.post(f"{URL}{event.id}/classify", {"classification": "test"},
                       format="json").status_code == 404
    assert ids(client.get(URL)) == []
    event.refresh_from_db()
    assert event.status == "open"


def test_dashboard_events_alias(api, viewer, make_event):
    event = make_event()
    response = api(viewer).get("/api/v1/dashboard/events")
    assert ids(response) == [str(event.id)]


def test_anomalies_filter_by_device_and_severity(api, viewer, make_anomaly, other_org):
    device = uuid.uuid4()
    mine = make_anomaly(device_id=device, severity="high")
    make_anomaly(device_id=device, severity="low")
    make_anomaly(org=other_org, device_id=device, severity="high")
    response = api(viewer).get("/api/v1/anomalies/", {"device": str(device), "severity": "high"})
    assert ids(response) == [str(mine.id)]


def test_telemetry_requires_a_device(api, viewer):
    response = api(viewer).get("/api/v1/telemetry/")
    assert response.status_code == 400
    assert "device" in response.json()["error"]["fields"]


def test_telemetry_of_one_device_in_a_time_range(api, viewer, make_telemetry, other_org):
    device = uuid.uuid4()
    make_telemetry(device_id=device, time=ago(hours=3))
    recent = make_telemetry(device_id=device, time=ago(minutes=30))
    make_telemetry(time=ago(minutes=30))
    make_telemetry(org=other_org, device_id=device, time=ago(minutes=20))
    response = api(viewer).get("/api/v1/telemetry/",
                               {"device": str(device), "since": ago(hours=1).isoformat()})
    assert [row["id"] for row in response.json()["results"]] == [recent.id]


def test_device_status_history_newest_first_and_org_scoped(api, viewer, org, other_org):
    device = uuid.uuid4()
    older = DeviceStatusChange.objects.create(org=org, device_id=device, time=ago(hours=2), status="ON")
    newer = DeviceStatusChange.objects.create(org=org, device_id=device, time=ago(hours=1), status="OFF",
                                              previous="ON", reason="silent")
    DeviceStatusChange.objects.create(org=other_org, device_id=device, time=ago(minutes=1), status="ON")
    response = api(viewer).get(f"/api/v1/devices/{device}/status-history")
    assert ids(response) == [str(newer.id), str(older.id)]
