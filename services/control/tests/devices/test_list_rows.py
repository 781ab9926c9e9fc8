"""The fleet list renders plain rows by hand: each reads exactly as DRF renders the device (the
detail), nulls and JSON config included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rest_framework.renderers import JSONRenderer

from vigia.control.core.renderers import FastJSONRenderer
from vigia.control.devices.api.serializers import DEVICE_COLUMNS, DeviceSerializer
from vigia.control.devices.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def devices(org):
    bare = Device.objects.create(org=org, name="bare", kind="phone")
    full = Device.objects.create(org=org, name="Dock \u2028 phone \"3\"", kind="phone", status="on",
                                 last_seen=datetime(2026, 12, 5, 13, 0, 0, 123456, tzinfo=UTC),
                                 reporting_interval=2.5, location="Dock 3", site="dock", latitude=-23.5,
                                 longitude=-46.625, config={"rate_hz": 10, "names": ["a", "ç"]})
    return [bare, full]


def test_a_row_renders_as_drf_renders_the_device(devices):
    for device in devices:
        device.refresh_from_db()
        row = Device.objects.filter(pk=device.pk).values(*DEVICE_COLUMNS).get()
        assert FastJSONRenderer().render(DeviceSerializer(row).data) == JSONRenderer().render(
            DeviceSerializer(device).data)


def test_the_list_reads_like_the_detail(api, viewer, devices):
    client = api(viewer)
    listed = client.get("/api/v1/devices/").json()["results"]
    assert {row["name"] for row in listed} == {d.name for d in devices}
    for row in listed:
        assert client.get(f"/api/v1/devices/{row['id']}/").json() == row
