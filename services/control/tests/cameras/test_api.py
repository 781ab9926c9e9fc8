"""Cameras API: the shared matrix plus RTSP secrecy, validation, version, restart and check."""

from __future__ import annotations

import logging
import os
import stat
from typing import Any

import orjson
import pytest

from services.control.tests.api_matrix import APIMatrix, unique_name
from vigia.control.cameras.models import Camera
from vigia.control.core import crypto
from vigia.control.core.choices import Role
from vigia.control.outbox.models import OutboxMessage

SECRET_URL = "rtsp://admin:Sup3rS3cretPw@10.1.2.3:554/Streaming/Channels/101?token=hidden123"


def make_camera(org: Any, **extra: Any) -> Camera:
    camera = Camera(org=org, name=extra.pop("name", unique_name("cam")), **extra)
    camera.rtsp_url = extra.pop("rtsp_url", SECRET_URL)
    camera.save()
    return camera


class TestCameraAPI(APIMatrix):
    url = "/api/v1/cameras/"
    model = Camera
    create_data = {
        "name": "gate",
        "rtsp_url": SECRET_URL,
        "fps": 2,
        "zones": [{"name": "door", "points": [[0, 0], [0.5, 0], [0.5, 0.5]]}],
        "lines": [{"name": "gate", "points": [[0.1, 0.9], [0.9, 0.9]]}],
    }
    update_data = {"name": "gate renamed", "fps": 5.0}
    roles = {"create": Role.OPERATOR, "update": Role.OPERATOR, "destroy": Role.ADMIN}
    secret_fields = ("rtsp_url", "rtsp_url_encrypted")

    def make_object(self, org: Any) -> Camera:
        return make_camera(org)


def test_rtsp_url_is_encrypted_at_rest_and_only_masked_in_responses(
    api: Any, operator: Any, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    client = api(operator)
    created = client.post("/api/v1/cameras/", {"name": "lobby", "rtsp_url": SECRET_URL}, format="json")
    assert created.status_code == 201, created.content
    camera_id = created.json()["id"]
    responses = [
        created,
        client.get("/api/v1/cameras/"),
        client.get(f"/api/v1/cameras/{camera_id}/"),
        client.patch(f"/api/v1/cameras/{camera_id}/", {"fps": 3}, format="json"),
    ]
    for response in responses:
        text = response.content.decode()
        assert "Sup3rS3cretPw" not in text and "hidden123" not in text and "admin:" not in text
    assert created.json()["rtsp_url_masked"] == "rtsp://***:***@10.1.2.3:554/Streaming/Channels/101?***"
    row = Camera.objects.get(pk=camera_id)
    assert "Sup3rS3cretPw" not in row.rtsp_url_encrypted and "10.1.2.3" not in row.rtsp_url_encrypted
    assert crypto.decrypt(row.rtsp_url_encrypted) == SECRET_URL
    assert "Sup3rS3cretPw" not in caplog.text


def test_camera_change_messages_in_the_outbox_never_carry_the_url(
    api: Any, operator: Any, org: Any
) -> None:
    response = api(operator).post(
        "/api/v1/cameras/", {"name": "yard", "rtsp_url": SECRET_URL, "fps": 4}, format="json"
    )
    message = OutboxMessage.objects.get(type="camera.created")
    body = orjson.loads(bytes(message.body))
    assert (message.exchange, message.routing_key) == ("vigia.control", "camera.created")
    assert body["org"] == str(org.pk)
    assert body["data"] == {
        "camera": response.json()["id"],
        "name": "yard",
        "fps": 4.0,
        "enabled": True,
        "site": None,
        "zones": [],
        "lines": [],
        "version": 1,
        "faces": False,
    }
    assert b"Sup3rS3cretPw" not in bytes(message.body)


def test_only_an_admin_switches_face_recognition_and_the_switch_is_announced(
    api: Any, operator: Any, admin: Any, org: Any
) -> None:
    camera = make_camera(org)
    assert api(operator).get(f"/api/v1/cameras/{camera.pk}/").json()["faces"] is False
    refused = api(operator).patch(f"/api/v1/cameras/{camera.pk}/", {"faces": True}, format="json")
    assert refused.status_code == 403 and "admin" in refused.json()["error"]["message"]
    assert api(admin).patch(f"/api/v1/cameras/{camera.pk}/", {"faces": True}, format="json").json()["faces"] is True
    (message,) = OutboxMessage.objects.filter(type="camera.updated")
    assert orjson.loads(bytes(message.body))["data"]["faces"] is True
    # An operator's other changes leave the switch as it is.
    assert api(operator).patch(f"/api/v1/cameras/{camera.pk}/", {"fps": 2, "faces": True},
                               format="json").status_code == 200


def test_every_update_bumps_the_version_and_announces_it(
    api: Any, operator: Any, admin: Any, org: Any
) -> None:
    camera = make_camera(org)
    client = api(operator)
    client.patch(f"/api/v1/cameras/{camera.pk}/", {"enabled": False}, format="json")
    client.patch(f"/api/v1/cameras/{camera.pk}/", {"rtsp_url": "rtsp://new-host/stream"}, format="json")
    camera.refresh_from_db()
    assert camera.version == 3 and camera.rtsp_url == "rtsp://new-host/stream"
    versions = [
        orjson.loads(bytes(m.body))["data"]["version"]
        for m in OutboxMessage.objects.filter(type="camera.updated").order_by("id")
    ]
    assert versions == [2, 3]
    assert api(admin).delete(f"/api/v1/cameras/{camera.pk}/").status_code == 204
    deleted = OutboxMessage.objects.get(type="camera.deleted")
    assert orjson.loads(bytes(deleted.body))["data"] == {"camera": str(camera.pk)}


def test_status_and_last_frame_time_are_shown_and_only_the_watchdog_sets_them(
    api: Any, operator: Any, org: Any
) -> None:
    from datetime import UTC, datetime

    seen = datetime(2026, 3, 1, 12, 0, 5, 123456, tzinfo=UTC)
    camera = make_camera(org)
    Camera.objects.filter(pk=camera.pk).update(status="online", last_frame_at=seen, status_changed_at=seen)
    client = api(operator)
    shown = client.get(f"/api/v1/cameras/{camera.pk}/").json()
    assert (shown["status"], shown["last_frame_at"], shown["status_changed_at"]) == (
        "online", "2026-03-01T12:00:05.123456Z", "2026-03-01T12:00:05.123456Z")
    fresh = client.post("/api/v1/cameras/", {"name": "new", "rtsp_url": SECRET_URL}, format="json").json()
    assert (fresh["status"], fresh["last_frame_at"], fresh["status_changed_at"]) == ("provisioning", None, None)
    # Sent back as read, they are ignored: a client cannot set a camera's health.
    changed = client.patch(f"/api/v1/cameras/{camera.pk}/", {"status": "error", "last_frame_at": None},
                           format="json")
    assert changed.status_code == 200, changed.content
    camera.refresh_from_db()
    assert (camera.status, camera.last_frame_at) == ("online", seen)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rtsp_url": "http://cam/stream"}, "rtsp_url"),
        ({"rtsp_url": "rtsp:///nohost"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://cam/" + "a" * 2100}, "rtsp_url"),
        ({"rtsp_url": "rtsp://cam:99999/x"}, "rtsp_url"),
        ({"rtsp_url": "rtsp://ca m/x"}, "rtsp_url"),
        ({"fps": 0}, "fps"),
        ({"fps": 31}, "fps"),
        ({"fps": "fast"}, "fps"),
        ({"latitude": 91}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"site": "not a slug!"}, "site"),
        ({"zones": [{"name": "a", "points": [[0, 0], [1, 1]]}]}, "zones.0.points"),
        ({"zones": [{"name": "a", "points": [[0, 0], [1, 1], [-1, 2]]}]}, "zones.0.points.2.0"),
        ({"zones": [{"name": "a", "points": [[0, 0], [1, 1], [2]]}]}, "zones.0.points.2"),
        ({"zones": [{"name": "a", "points": [[0, 0], [1, 0], [1, 1]], "colour": "red"}]}, "zones.0.colour"),
        ({"zones": "everywhere"}, "zones"),
    ],
)
def test_invalid_camera_is_refused_naming_the_field(
    api: Any, operator: Any, body: dict[str, Any], field: str
) -> None:
    payload = {"name": unique_name("bad"), "rtsp_url": "rtsp://user:pw1234@cam/1", **body}
    response = api(operator).post("/api/v1/cameras/", payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert any(name == field or name.startswith(field + ".") for name in error["fields"]), error
    assert "pw1234" not in response.content.decode()
    assert Camera.objects.count() == 0 and OutboxMessage.objects.count() == 0


def test_duplicate_name_in_the_same_org_is_a_400_not_a_500(
    api: Any, operator: Any, org: Any, other_org: Any
) -> None:
    make_camera(org, name="front")
    make_camera(other_org, name="taken elsewhere")
    client = api(operator)
    response = client.post("/api/v1/cameras/", {"name": "front", "rtsp_url": "rtsp://c/1"}, format="json")
    assert response.status_code == 400 and "name" in response.json()["error"]["fields"]
    ok = client.post("/api/v1/cameras/", {"name": "taken elsewhere", "rtsp_url": "rtsp://c/1"}, format="json")
    assert ok.status_code == 201


def test_put_without_rtsp_url_keeps_the_stored_url(api: Any, operator: Any, org: Any) -> None:
    camera = make_camera(org, name="keep")
    response = api(operator).put(f"/api/v1/cameras/{camera.pk}/", {"name": "keep", "fps": 2}, format="json")
    assert response.status_code == 200, response.content
    camera.refresh_from_db()
    assert camera.rtsp_url == SECRET_URL and camera.fps == 2


def test_restart_enqueues_camera_restart_for_operators_only(
    api: Any, operator: Any, viewer: Any, outsider: Any, org: Any
) -> None:
    camera = make_camera(org)
    url = f"/api/v1/cameras/{camera.pk}/restart"
    assert api(viewer).post(url, {}, format="json").status_code == 403
    assert api(outsider).post(url, {}, format="json").status_code == 404
    assert not OutboxMessage.objects.filter(type="camera.restart").exists()
    response = api(operator).post(url, {"reason": "frozen"}, format="json")
    assert response.status_code == 202, response.content
    message = OutboxMessage.objects.get(type="camera.restart")
    assert str(message.id) == response.json()["message_id"]
    assert message.routing_key == f"camera.restart.{camera.pk}"
    assert orjson.loads(bytes(message.body))["data"] == {"camera": str(camera.pk), "reason": "frozen"}


def test_check_without_ffprobe_answers_503_json(api: Any, operator: Any, org: Any, settings: Any) -> None:
    settings.VIGIA_FFPROBE_BINARY = "/nonexistent/ffprobe"
    camera = make_camera(org)
    response = api(operator).post(f"/api/v1/cameras/{camera.pk}/check")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "check_unavailable"
    assert "not installed" in response.json()["error"]["message"]


def test_create_with_check_and_no_ffprobe_saves_nothing(api: Any, operator: Any, settings: Any) -> None:
    settings.VIGIA_FFPROBE_BINARY = "/nonexistent/ffprobe"
    response = api(operator).post(
        "/api/v1/cameras/?check=true", {"name": "c", "rtsp_url": SECRET_URL}, format="json"
    )
    assert response.status_code == 503
    assert Camera.objects.count() == 0 and OutboxMessage.objects.count() == 0


@pytest.fixture
def slow_ffprobe(tmp_path: Any, settings: Any) -> str:
    """An executable that never answers within the timeout (stands in for a camera that hangs)."""
    script = tmp_path / "ffprobe"
    script.write_text("#!/bin/sh\nsleep 5\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    settings.VIGIA_FFPROBE_BINARY = str(script)
    settings.VIGIA = settings.VIGIA.model_copy(update={"ffprobe_timeout": 0.3})
    return str(script)


def test_check_of_a_hanging_stream_times_out_with_a_clear_answer(
    api: Any, operator: Any, org: Any, slow_ffprobe: str
) -> None:
    camera = make_camera(org)
    response = api(operator).post(f"/api/v1/cameras/{camera.pk}/check")
    assert response.status_code == 200
    assert response.json()["reachable"] is False
    assert "no answer within 0.3 s" in response.json()["detail"]


def test_create_with_failed_check_is_424_and_saves_nothing(
    api: Any, operator: Any, slow_ffprobe: str
) -> None:
    response = api(operator).post(
        "/api/v1/cameras/?check=true", {"name": "c", "rtsp_url": SECRET_URL}, format="json"
    )
    assert response.status_code == 424
    assert response.json()["error"]["code"] == "camera_unreachable"
    assert "Sup3rS3cretPw" not in response.content.decode()
    assert Camera.objects.count() == 0 and OutboxMessage.objects.count() == 0


@pytest.mark.skipif(
    not any(
        os.access(os.path.join(p, "ffprobe"), os.X_OK) for p in os.environ.get("PATH", "").split(os.pathsep)
    ),
    reason="ffprobe not installed",
)
def test_check_with_real_ffprobe_reports_a_closed_port_unreachable(api: Any, operator: Any, org: Any) -> None:
    camera = make_camera(org, rtsp_url="rtsp://user:pw9876@127.0.0.1:1/none")
    response = api(operator).post(f"/api/v1/cameras/{camera.pk}/check")
    assert response.status_code == 200
    assert response.json()["reachable"] is False
    assert "pw9876" not in response.content.decode()


def test_filters_by_site_and_search(api: Any, viewer: Any, org: Any) -> None:
    make_camera(org, name="north gate", site="north")
    make_camera(org, name="south gate", site="south")
    client = api(viewer)
    assert [c["name"] for c in client.get("/api/v1/cameras/?site=north").json()["results"]] == ["north gate"]
    assert [c["name"] for c in client.get("/api/v1/cameras/?search=SOUTH").json()["results"]] == [
        "south gate"
    ]
    assert client.get("/api/v1/cameras/?status=bogus").status_code == 400
