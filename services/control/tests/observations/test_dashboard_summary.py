"""The dashboard summary: exact counts of the caller's organization, passages since its midnight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from vigia.control.cameras.models import Camera
from vigia.control.devices.models import Device
from vigia.control.observations.api.summary import local_midnight
from vigia.control.observations.models import Passage
from vigia.control.tenancy.models import Organization

pytestmark = pytest.mark.django_db

URL = "/api/v1/dashboard/summary"


def passage(org: Organization, first_seen: datetime) -> Passage:
    return Passage.objects.create(
        org=org, camera_id=uuid.uuid4(), visit=uuid.uuid4().hex[:12], first_seen=first_seen,
        last_seen=first_seen + timedelta(seconds=4), label="car", plate_text="ABC1D23", plate_folded="ABC1023",
        confidence=0.9, votes=3, agreeing=2, message_time=first_seen + timedelta(seconds=5), final=True)


def test_summary_counts_every_row_of_the_callers_org(api, viewer, org, other_org, make_event):
    org.time_zone = "America/Manaus"
    org.save(update_fields=["time_zone"])
    for i, status in enumerate(["online", "online", "offline", "error", "provisioning"] + ["online"] * 600):
        Camera.objects.create(org=org, name=f"cam-{i}", rtsp_url_encrypted="opaque", status=status)
    Camera.objects.create(org=other_org, name="theirs", rtsp_url_encrypted="opaque", status="online")
    for status in ("ON", "ON", "WARNING", "OFF", "OFF", "OFF"):
        Device.objects.create(org=org, name=f"d-{uuid.uuid4().hex[:6]}", kind="phone", status=status)
    Device.objects.create(org=other_org, name="theirs", kind="phone", status="ON")
    for status in ("open", "open", "acknowledged", "resolved"):
        make_event(status=status)
    make_event(org=other_org)
    midnight = local_midnight(datetime.now(UTC), "America/Manaus")
    passage(org, midnight + timedelta(seconds=1))
    passage(org, midnight)  # at midnight: today
    passage(org, midnight - timedelta(seconds=1))  # yesterday in Manaus
    passage(other_org, midnight + timedelta(seconds=1))

    response = api(viewer).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cameras"] == {"total": 605, "online": 602}  # beyond a list page of 500
    assert body["devices"] == {"total": 6, "online": 2, "warning": 1, "offline": 3}
    assert body["open_events"] == 2
    assert body["passages_today"] == 2
    assert body["time_zone"] == "America/Manaus"
    assert datetime.fromisoformat(body["day_start"]) == midnight


def test_local_midnight_is_the_zones_day_not_utcs():
    # 02:30 UTC on 3 January is still 2 January in Manaus (UTC-4): its day began at 04:00 UTC on the 2nd.
    start = local_midnight(datetime(2026, 1, 3, 2, 30, tzinfo=UTC), "America/Manaus")
    assert start.astimezone(UTC) == datetime(2026, 1, 2, 4, 0, tzinfo=UTC)


def test_summary_needs_a_signed_in_member(api):
    assert api().get(URL).status_code == 401
