"""The console's plates and fleet areas in Debian's Chromium against a real stack: control (serving
the build) and live, the outbox relay, the recorder and fusion, on a throwaway database and a vhost
of the test's own. Passages arrive the way vision sends them (``plate.read`` messages the recorder
stores, crops in the object store control serves); devices and cameras are created through the API,
telemetry comes from ``sensor.batch`` messages fusion writes, an anomaly from an ``anomaly.detected``
message the recorder stores. Then e2e/plates.spec.ts and e2e/fleet.spec.ts run at desktop and phone
sizes (tests/console/node.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from tests.console.node import playwright
from tests.console.stack import PASSWORD, console_stack
from tests.support.databases import throwaway_database
from vigia.common.broker.sync import SyncPublisher
from vigia.common.messages import (
    AnomalyDetected,
    Magnetometer,
    PlateRead,
    SensorBatch,
    SensorPacket,
    Vector3,
    make,
)
from vigia.common.storage import FileStore
from vigia.control.config import ControlSettings

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"
ORG_TIME_ZONE = "America/Manaus"
SECOND = 10**9
PLATE = "QRS1A05"
# What an operator types: the letter O where the plate has the digit 0 (an OCR look-alike).
LOOK_ALIKE = "qrs-1ao5"
OTHER_PLATE = "XYZ9K88"


def _crop_jpeg(text: str) -> bytes:
    """A plate-like crop: dark letters on a light plate."""
    image = np.full((60, 200, 3), 235, np.uint8)
    cv2.rectangle(image, (2, 2), (197, 57), (40, 40, 40), 2)
    cv2.putText(image, text, (12, 42), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (20, 20, 20), 3)
    ok, jpeg = cv2.imencode(".jpg", image)
    assert ok
    return jpeg.tobytes()


def _until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _seed(http: httpx.Client, auth: dict[str, str], org: str, amqp_url: str, objects: Path) -> dict[str, str]:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = http.post(path, json=body, headers=auth)
        assert answer.status_code == 201, f"POST {path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    assert http.patch("/api/v1/organization/settings", json={"time_zone": ORG_TIME_ZONE},
                      headers=auth).status_code == 200
    gate = post("/api/v1/cameras/", {"name": "Portão Norte", "rtsp_url": "rtsp://127.0.0.1:8554/gate",
                                     "site": "norte", "latitude": -3.1019, "longitude": -60.025})
    dock = post("/api/v1/cameras/", {"name": "Doca", "rtsp_url": "rtsp://127.0.0.1:8554/dock", "site": "doca"})
    post("/api/v1/watchlists/", {"name": "Roubados", "kind": "deny"})

    # Devices: two close together (one cluster when zoomed out), one far off, one without coordinates.
    phone = post("/api/v1/devices/", {"name": "Portão 1", "kind": "phone", "site": "norte",
                                      "latitude": -3.1021, "longitude": -60.0252})
    post("/api/v1/devices/", {"name": "Portão 2", "kind": "phone", "site": "norte",
                              "latitude": -3.1023, "longitude": -60.0249})
    sensor = post("/api/v1/devices/", {"name": "Sensor Doca", "kind": "sensor", "site": "doca",
                                       "latitude": -3.135, "longitude": -59.98})
    post("/api/v1/devices/", {"name": "Gateway sem GPS", "kind": "gateway"})
    for device, status in ((phone["id"], "ON"), (sensor["id"], "WARNING")):
        answer = http.put(f"/api/v1/devices/{device}/status/", json={"status": status, "reason": "console test"},
                          headers=auth)
        assert answer.status_code == 200, answer.text

    # Crops where vision would have put them, and the plate reads that point at them.
    store = FileStore(str(objects), ControlSettings().object_url_secret.get_secret_value())
    now = time.time_ns()
    reads = [(gate["id"], PLATE, 50), (gate["id"], PLATE, 30), (dock["id"], PLATE, 20), (gate["id"], OTHER_PLATE, 10)]
    with SyncPublisher(amqp_url, connection_name="console-plates-fleet") as publisher:
        for index, (camera, plate, minutes_ago) in enumerate(reads):
            first = now - minutes_ago * 60 * SECOND
            crop, frame = f"{org}/{camera}/crop-{index}.jpg", f"{org}/{camera}/frame-{index}.jpg"
            store.put("snapshots", crop, _crop_jpeg(plate), "image/jpeg")
            store.put("snapshots", frame, _crop_jpeg(plate), "image/jpeg")
            publisher.publish(make("plate.read", org, "vision-console-test", PlateRead(
                camera=uuid.UUID(camera), visit=f"visit-{index}", plate_text=plate, confidence=0.93, votes=4,
                agreeing=4, first_seen=first, last_seen=first + 3 * SECOND, label="car", crop_key=crop,
                snapshot_key=frame, final=True), time_ns=first + 4 * SECOND))

        # A minute of the phone's magnetometer, once a second, with a spike fusion calls an anomaly.
        start = now - 90 * SECOND
        packets = [SensorPacket(timestamp=start + i * SECOND, seq=i + 1,
                                magnetometer=Magnetometer(x=30.0, y=20.0 + (i % 5), z=-10.0,
                                                          magnitude=48.0 + (i % 5) + (40.0 if i == 60 else 0.0)),
                                accelerometer=Vector3(x=0.0, y=0.1, z=9.8), audio_peak=0.05)
                   for i in range(80)]
        publisher.publish(make("sensor.batch", org, "ingest-console-test",
                               SensorBatch(device=uuid.UUID(phone["id"]), packets=packets), time_ns=now))
        publisher.publish(make("anomaly.detected", org, "fusion-console-test", AnomalyDetected(
            device=uuid.UUID(phone["id"]), kind="magnetic", severity="high", score=7.5,
            observed_at=start + 60 * SECOND, value=88.0), time_ns=now))

    def count(path: str, **query: Any) -> int:
        answer = http.get(path, params=query, headers=auth)
        return len(answer.json()["results"]) if answer.status_code == 200 else -1

    _until("the recorder's passages", lambda: count("/api/v1/passages/") == len(reads))
    _until("fusion's telemetry", lambda: count("/api/v1/telemetry/", device=phone["id"], limit=500) >= 80)
    _until("the recorder's anomaly", lambda: count("/api/v1/anomalies/", device=phone["id"]) >= 1)

    # The phone's forecast, asked for now (the on-demand path: outbox, relay, forecast.control).
    assert http.post(f"/api/v1/devices/{phone['id']}/forecast/refresh/", json={"metric": "mag_magnitude"},
                     headers=auth).status_code == 202

    def forecast_points() -> int:
        answer = http.get(f"/api/v1/devices/{phone['id']}/forecast/", params={"metric": "mag_magnitude"}, headers=auth)
        forecasts = answer.json()["forecasts"] if answer.status_code == 200 else []
        return len(forecasts[0]["points"]) if forecasts else 0

    _until("the forecast service's forecast", lambda: forecast_points() > 0, timeout=90)
    return {"VIGIA_CONSOLE_PLATE": PLATE, "VIGIA_CONSOLE_LOOK_ALIKE": LOOK_ALIKE,
            "VIGIA_CONSOLE_CAMERA": gate["id"], "VIGIA_CONSOLE_DEVICE": phone["id"],
            "VIGIA_CONSOLE_DEVICES": "4", "VIGIA_CONSOLE_ON_MAP": "4"}


def test_plates_and_fleet_in_the_browser(tmp_path: Path, amqp_url: str, console_dist: Path) -> None:
    services = ("relay", "recorder", "fusion", "forecast")
    with throwaway_database("vigia_console_pf") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist, extra=services) as stack:
        try:
            with httpx.Client(base_url=stack.base, timeout=30) as http:
                login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
                assert login.status_code == 200, login.text
                org = login.json()["user"]["org"]["id"]
                auth = {"Authorization": f"Bearer {login.json()['access']}"}
                expected = _seed(http, auth, org, amqp_url, tmp_path / "objects")
            env = {"VIGIA_CONSOLE_EMAIL": DEMO_EMAIL, "VIGIA_CONSOLE_PASSWORD": PASSWORD, **expected}
            playwright("plates.spec.ts", stack.base, tmp_path, env)
            playwright("fleet.spec.ts", stack.base, tmp_path, env)
        except BaseException:
            print(stack.tails())
            raise
