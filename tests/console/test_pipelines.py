"""The console's pipelines area in a real browser (e2e/pipelines.spec.ts): control serving the
build, live, the outbox relay (execute's pipeline.started reaches the runtime) and the automation
runtime, with a throwaway database and a vhost of the test's own. The organization has a camera;
a person detection of it is published every half second, as a vision worker would, so the
pipeline the spec builds and deploys at desktop size fires, and so does the one deployed here through
the API, which the phone-sized run watches."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.console.node import playwright
from tests.console.stack import PASSWORD, console_stack
from tests.support.databases import throwaway_database
from vigia.common.broker.errors import PublishError
from vigia.common.broker.sync import SyncPublisher
from vigia.common.messages import make

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"


def _deployed_graph(camera: str) -> dict[str, object]:
    """A person seen by the camera raises a dashboard event."""
    return {
        "nodes": [
            {"id": "cam", "type": "camera_rtsp", "config": {"camera": camera}, "position": {"x": 0, "y": 0}},
            {"id": "if", "type": "conditional", "config": {"field": "label", "value": "person"},
             "position": {"x": 260, "y": 0}},
            {"id": "board", "type": "dashboard", "config": {"title": "Pessoa"}, "position": {"x": 520, "y": 0}},
        ],
        "edges": [
            {"source": "cam", "source_port": "detections", "target": "if", "target_port": "in"},
            {"source": "if", "source_port": "true", "target": "board", "target_port": "data"},
        ],
    }


def _publish_detections(amqp_url: str, org: str, camera: str, stop: threading.Event) -> None:
    """A person in the camera's frame, twice a second, until told to stop."""
    with SyncPublisher(amqp_url, connection_name="console-pipelines") as publisher:
        while not stop.wait(0.5):
            envelope = make("detection.created", uuid.UUID(org), "console-pipelines", {
                "camera": uuid.UUID(camera), "frame": uuid.uuid4(), "captured_at": time.time_ns(), "label": "person",
                "confidence": 0.9, "track": "t1", "box": {"x1": 600, "y1": 400, "x2": 680, "y2": 700}})
            try:
                publisher.publish(envelope)
            except PublishError:
                time.sleep(0.5)


@pytest.fixture
def stack(tmp_path: Path, amqp_url: str, console_dist: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with throwaway_database("vigia_console_pipelines") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist, extra=("relay", "automation")) as running:
        with httpx.Client(base_url=running.base, timeout=30) as http:
            login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
            assert login.status_code == 200, login.text
            org = login.json()["user"]["org"]["id"]
            auth = {"Authorization": f"Bearer {login.json()['access']}"}
            camera = http.post("/api/v1/cameras/", headers=auth, json={
                "name": "portaria", "rtsp_url": "rtsp://cam.example:554/stream", "fps": 2})
            assert camera.status_code == 201, camera.text
            pipeline = http.post("/api/v1/pipelines/", headers=auth, json={
                "name": "Portaria (API)", "graph": _deployed_graph(camera.json()["id"])})
            assert pipeline.status_code == 201, pipeline.text
            started = http.post(f"/api/v1/pipelines/{pipeline.json()['id']}/execute/", headers=auth)
            assert started.status_code == 200, started.text
        stop = threading.Event()
        publisher = threading.Thread(target=_publish_detections, args=(amqp_url, org, camera.json()["id"], stop),
                                     daemon=True)
        publisher.start()
        try:
            yield running.base, {"VIGIA_CONSOLE_CAMERA": camera.json()["id"],
                                 "VIGIA_CONSOLE_PIPELINE": pipeline.json()["id"]}
        except BaseException:
            print(running.tails())
            raise
        finally:
            stop.set()
            publisher.join(timeout=10)


def test_an_operator_builds_deploys_and_watches_a_pipeline_fire(stack: tuple[str, dict[str, str]],
                                                               tmp_path: Path) -> None:
    base, expected = stack
    playwright("pipelines.spec.ts", base, tmp_path, {"VIGIA_CONSOLE_EMAIL": DEMO_EMAIL,
                                                     "VIGIA_CONSOLE_PASSWORD": PASSWORD, **expected})
