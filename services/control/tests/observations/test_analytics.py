"""Dashboard analytics computed from inserted rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigia.control.devices.models import Device

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard/analytics"


def test_analytics_counts_detections_events_and_devices_of_the_callers_org(
        api, viewer, org, other_org, make_detection, make_event):
    now = datetime.now(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    cam_a, cam_b = uuid.uuid4(), uuid.uuid4()
    for _ in range(3):
        make_detection(camera_id=cam_a, time=this_hour + timedelta(seconds=1))
    make_detection(camera_id=cam_b, time=this_hour - timedelta(minutes=30))  # previous hour
    make_detection(camera_id=cam_b, time=this_hour - timedelta(hours=2, minutes=1))  # 3 hours ago
    make_detection(camera_id=cam_a, time=now - timedelta(hours=30))  # outside a 24 h window
    make_detection(org=other_org, camera_id=cam_a, time=this_hour + timedelta(seconds=1))
    make_event(severity="high")
    make_event(severity="high")
    make_event(severity="critical")
    make_event(severity="low", time=now - timedelta(days=3))  # outside the window
    make_event(org=other_org, severity="medium")
    for status in ("ON", "ON", "WARNING", "OFF"):
        Device.objects.create(org=org, name=f"d-{uuid.uuid4().hex[:6]}", kind="phone", status=status)
    Device.objects.create(org=other_org, name="theirs", kind="phone", status="ON")

    response = api(viewer).get(URL, {"hours": 24})
    assert response.status_code == 200, response.content
    body = response.json()
    hourly = body["detections_per_hour"]
    assert len(hourly) == 24
    assert hourly[-1] == {"hour": this_hour.isoformat().replace("+00:00", "Z"), "count": 3}
    assert hourly[-2]["count"] == 1
    assert hourly[-3]["count"] == 0
    assert hourly[-4]["count"] == 1
    assert body["detections_total"] == 5
    assert {(row["camera"], row["count"]) for row in body["detections_per_camera"]} == {
        (str(cam_a), 3), (str(cam_b), 2)}
    assert body["detections_per_camera"][0]["camera"] == str(cam_a)  # busiest first
    assert body["events_by_severity"] == {"low": 0, "medium": 0, "high": 2, "critical": 1}
    assert body["devices_by_status"] == {"ON": 2, "OFF": 1, "WARNING": 1}
    assert body["devices_total"] == 4


def test_analytics_names_cameras_it_knows(api, viewer, org, make_detection):
    from vigia.control.cameras.models import Camera

    # Saved directly (no outbox): only the name matters here.
    camera = Camera.objects.create(org=org, name="Front gate", rtsp_url_encrypted="opaque")
    make_detection(camera_id=camera.id)
    body = api(viewer).get(URL).json()
    assert body["detections_per_camera"] == [{"camera": str(camera.id), "name": "Front gate", "count": 1}]


@pytest.mark.parametrize("hours", ["0", "abc", "100000"])
def test_bad_hours_is_400_naming_it(api, viewer, hours):
    response = api(viewer).get(URL, {"hours": hours})
    assert response.status_code == 400
    assert "hours" in response.json()["error"]["fields"]


def test_the_documented_answer_is_the_answer(api, viewer, make_detection):
    """The OpenAPI document names exactly the fields the endpoint answers (the console's types come from it)."""
    from vigia.control.observations.api.serializers import AnalyticsSerializer

    make_detection(camera_id=uuid.uuid4())
    body = api(viewer).get(URL, {"hours": 2}).json()
    assert set(body) == set(AnalyticsSerializer().fields)
    assert AnalyticsSerializer(data=body).is_valid(), AnalyticsSerializer(data=body).errors
    assert set(body["detections_per_hour"][0]) == {"hour", "count"}
    assert set(body["detections_per_camera"][0]) == {"camera", "name", "count"}
