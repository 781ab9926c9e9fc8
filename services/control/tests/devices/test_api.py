"""Fleet API: the shared matrix plus search, filters, summary, status override and credentials."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pytest

from services.control.tests.api_matrix import APIMatrix, unique_name
from vigia.control.core.choices import Role
from vigia.control.devices.models import Device, DeviceCredential
from vigia.control.outbox.models import OutboxMessage

TOKEN = re.compile(r"^vdt_[A-Za-z0-9_-]{43}$")


def make_device(org: Any, **extra: Any) -> Device:
    return Device.objects.create(
        org=org, name=extra.pop("name", unique_name("dev")), kind=extra.pop("kind", "phone"), **extra
    )


class TestDeviceAPI(APIMatrix):
    url = "/api/v1/devices/"
    model = Device
    create_data = {
        "name": "phone",
        "kind": "phone",
        "location": "Dock 3",
        "site": "dock",
        "latitude": -23.5,
        "longitude": -46.6,
        "config": {"rate_hz": 10},
    }
    update_data = {"location": "Dock 4", "reporting_interval": 5.0}
    roles = {"create": Role.OPERATOR, "update": Role.OPERATOR, "destroy": Role.ADMIN}
    secret_fields = ("token_hash",)

    def make_object(self, org: Any) -> Device:
        return make_device(org)


def test_create_returns_a_token_once_and_stores_only_its_hash(api: Any, operator: Any) -> None:
    client = api(operator)
    response = client.post("/api/v1/devices/", {"name": "p1", "kind": "sensor"}, format="json")
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    assert TOKEN.match(token)
    credential = DeviceCredential.objects.get(device_id=response.json()["id"])
    assert credential.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert credential.prefix == token[:12]
    again = client.get(f"/api/v1/devices/{response.json()['id']}/")
    assert "token" not in again.json() and token not in again.content.decode()
    listed = client.get(f"/api/v1/devices/{response.json()['id']}/credentials")
    assert token not in listed.content.decode() and listed.json()[0]["prefix"] == token[:12]


def test_credentials_are_issued_listed_and_revoked(
    api: Any, operator: Any, viewer: Any, outsider: Any, org: Any
) -> None:
    device = make_device(org)
    base = f"/api/v1/devices/{device.pk}/credentials"
    assert api(viewer).post(base).status_code == 403
    assert api(outsider).post(base).status_code == 404
    issued = api(operator).post(base)
    assert issued.status_code == 201
    body = issued.json()
    assert set(body) == {"id", "token", "prefix"} and TOKEN.match(body["token"])
    assert [c["id"] for c in api(viewer).get(base).json()] == [body["id"]]
    assert api(viewer).delete(f"{base}/{body['id']}").status_code == 403
    assert api(outsider).delete(f"{base}/{body['id']}").status_code == 404
    assert DeviceCredential.objects.get(pk=body["id"]).revoked_at is None
    revoked = api(operator).delete(f"{base}/{body['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert DeviceCredential.objects.get(pk=body["id"]).revoked_at is not None
    other = make_device(org)
    assert api(operator).delete(f"/api/v1/devices/{other.pk}/credentials/{body['id']}").status_code == 404


def test_search_by_name_or_id_and_filters(api: Any, viewer: Any, org: Any, other_org: Any) -> None:
    dock = make_device(org, name="Dock phone", status="ON", location="Dock", site="north", kind="phone")
    gate = make_device(org, name="Gate PLC", status="WARNING", location="Gate", site="south", kind="plc")
    make_device(other_org, name="Dock phone elsewhere", status="ON")
    client = api(viewer)

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/devices/?{query}")
        assert response.status_code == 200, response.content
        return sorted(d["name"] for d in response.json()["results"])

    assert names("search=dock") == ["Dock phone"]
    assert names(f"search={gate.pk}") == ["Gate PLC"]
    # UUIDv7 ids made in the same millisecond share their first 13 characters: take a prefix
    # that reaches the random bits.
    assert names(f"search={str(dock.pk)[:28]}") == ["Dock phone"]
    assert names("status=WARNING") == ["Gate PLC"]
    assert names("status=ON&status=WARNING") == ["Dock phone", "Gate PLC"]
    assert names("location=dock") == ["Dock phone"]
    assert names("site=south") == ["Gate PLC"]
    assert names("kind=plc") == ["Gate PLC"]
    assert client.get("/api/v1/devices/?status=BROKEN").status_code == 400


def test_summary_counts_only_the_callers_devices(api: Any, viewer: Any, org: Any, other_org: Any) -> None:
    for status in ("ON", "ON", "OFF", "WARNING"):
        make_device(org, status=status)
    make_device(other_org, status="ON")
    response = api(viewer).get("/api/v1/devices/summary")
    assert response.status_code == 200
    assert response.json() == {"total": 4, "online": 2, "offline": 1, "warning": 1}


def test_status_is_read_only_except_through_the_status_endpoint(
    api: Any, operator: Any, viewer: Any, org: Any
) -> None:
    device = make_device(org)
    patched = api(operator).patch(f"/api/v1/devices/{device.pk}/", {"status": "ON"}, format="json")
    assert patched.status_code == 200
    device.refresh_from_db()
    assert device.status == "OFF"  # read-only field: ignored
    assert (
        api(viewer).put(f"/api/v1/devices/{device.pk}/status", {"status": "ON"}, format="json").status_code
        == 403
    )
    bad = api(operator).put(f"/api/v1/devices/{device.pk}/status", {"status": "MAYBE"}, format="json")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]
    ok = api(operator).put(f"/api/v1/devices/{device.pk}/status", {"status": "WARNING"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "WARNING"
    message = OutboxMessage.objects.get(type="device.status")
    assert message.exchange == "vigia.events"
    assert orjson.loads(bytes(message.body))["data"]["previous"] == "OFF"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "toaster"}, "kind"),
        ({"reporting_interval": 0}, "reporting_interval"),
        ({"latitude": -91}, "latitude"),
        ({"config": [1, 2]}, "config"),
        ({"config": {"blob": "x" * 20_000}}, "config"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_device_is_refused_naming_the_field(
    api: Any, operator: Any, body: dict[str, Any], field: str
) -> None:
    response = api(operator).post("/api/v1/devices/", {"name": "d", "kind": "phone", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert Device.objects.count() == 0 and DeviceCredential.objects.count() == 0


def test_device_changes_are_announced(api: Any, operator: Any, admin: Any) -> None:
    created = (
        api(operator)
        .post("/api/v1/devices/", {"name": "d", "kind": "gateway", "site": "s1"}, format="json")
        .json()
    )
    api(operator).patch(f"/api/v1/devices/{created['id']}/", {"config": {"a": 1}}, format="json")
    api(admin).delete(f"/api/v1/devices/{created['id']}/")
    messages = [(m.type, orjson.loads(bytes(m.body))["data"]) for m in OutboxMessage.objects.order_by("id")]
    assert [t for t, _ in messages] == ["device.created", "device.updated", "device.deleted"]
    assert messages[1][1]["config"] == {"a": 1} and messages[1][1]["version"] == 2
