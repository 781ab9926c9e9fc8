"""Reads of the observation APIs run without a request transaction; the operator actions still run
in one. Outside pytest-django's per-test transaction (``transaction=True``), as in production."""

from __future__ import annotations

import pytest

from vigia.control.observations.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_acknowledge_still_locks_its_event_inside_one_transaction(api, operator, make_event):
    # select_for_update outside a transaction raises: a 200 proves the write kept its transaction.
    event = make_event()
    response = api(operator).post(f"/api/v1/events/{event.id}/acknowledge")
    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert (event.status, event.acknowledged_by_id) == ("acknowledged", operator.id)


def test_a_refused_read_leaves_the_next_requests_unharmed(api, viewer, make_detection):
    detection = make_detection()
    client = api(viewer)
    assert client.get("/api/v1/detections/", {"since": "yesterday"}).status_code == 400
    assert client.get("/api/v1/events/00000000-0000-7000-8000-000000000000/").status_code == 404
    assert [row["id"] for row in client.get("/api/v1/detections/").json()["results"]] == [str(detection.id)]
    assert client.get("/api/v1/detections/search", {"plate": "--"}).status_code == 400
    assert Event.objects.count() == 0


def test_device_reads_run_without_a_transaction_and_its_writes_and_metadata_in_one(api, admin, operator):
    from vigia.control.devices.models import Device

    device = Device.objects.create(org=admin.org, name="dock phone", kind="phone")
    client = api(admin)
    assert client.get("/api/v1/devices/").json()["results"][0]["name"] == "dock phone"
    # OPTIONS replays PUT's object read, row lock included (select_for_update): it needs a transaction.
    for url in (f"/api/v1/devices/{device.id}/", f"/api/v1/devices/{device.id}/status/",
                "/api/v1/devices/00000000-0000-0000-0000-000000000000/"):
        assert client.options(url).status_code == 200, url
    response = api(operator).patch(f"/api/v1/devices/{device.id}/", {"location": "Dock 4"}, format="json")
    assert response.status_code == 200, response.content
